// The network as an SVG node-link diagram: the 28×28 input image, every dense layer's units shaded
// by activation, and lines for weight × activation (blue pushes z up, red pushes it down, thicker
// is stronger). The layout follows the model's layer sizes and the width of its container.
//
// Input → hidden 1 would be 784 × N lines, so it is drawn as one line per hidden-1 unit for the
// image's total push on it (z − b), and the selected hidden-1 unit's 784 weights as an image.

import {
  NEGATIVE_COLOR,
  POSITIVE_COLOR,
  activationRgb,
  divergingRgb,
  inkRgb,
  paintGrid,
  rgbString,
  toRows,
} from './colors.js';
import { formatNumber, formatPercent, layerTitle, unitTag } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MAX_ROWS_PER_COLUMN = 32;
const MAX_EDGES_PER_LAYER = 140;
// How many units per hidden layer are marked as carrying the answer.
const PATH_UNITS_PER_LAYER = 4;
const SELECTED_UNIT_EDGES = 40;
// Lines weaker than this share of the layer's strongest one are noise at this size.
const MIN_EDGE_SHARE = 0.04;
const TITLE_SPACE = 46;
const BOTTOM_SPACE = 14;
const OUTPUT_LABEL_SPACE = 96;
const OUTPUT_LABEL_SPACE_NARROW = 64;

export class NetworkDiagram extends EventTarget {
  #svg;
  #wrap;
  #model = null;
  #result = null;
  #highlight = null;
  #layout = null;
  #units = [];
  #edgeGroup = null;
  #inputImage = null;
  #weightImage = null;
  #weightSlot = null;
  #weightCaption = null;
  #outputLabels = [];
  #focusRef = { layer: 0, unit: 0 };
  // Set while a rebuild gives focus back to a unit: that focus is not the person picking it.
  #restoringFocus = false;
  #scratch = document.createElement('canvas');

  constructor(svg, wrap) {
    super();
    this.#svg = svg;
    this.#wrap = wrap;
    svg.addEventListener('keydown', (event) => this.#onKeyDown(event));
    let lastWidth = 0;
    new ResizeObserver(() => {
      const width = Math.round(this.#wrap.clientWidth);
      if (this.#model && Math.abs(width - lastWidth) > 2) {
        lastWidth = width;
        this.#build();
      }
    }).observe(wrap);
  }

  /** @param {{classes: string[], layers: {units: number, activation: string}[]}} model */
  setModel(model) {
    this.#model = model;
    this.#result = null;
    this.#highlight = null;
    this.#focusRef = { layer: 0, unit: 0 };
    this.#build();
  }

  /** Shade the units and draw the connections for one /predict answer (null: nothing drawn). */
  update(result) {
    this.#result = result;
    this.#paint();
  }

  /** Mark the unit being explained (null for none). */
  setHighlight(ref) {
    const changed = ref?.layer !== this.#highlight?.layer || ref?.unit !== this.#highlight?.unit;
    this.#highlight = ref;
    if (changed && this.#layout) this.#paintEdges();
    this.#paintHighlight();
    this.#paintWeightImage();
  }

  #build() {
    if (!this.#model) return;
    const focused = this.#focusedRef();
    const width = Math.max(300, Math.round(this.#wrap.clientWidth || 640));
    const sizes = this.#model.layers.map((layer) => layer.units);
    const layout = computeLayout(width, sizes);
    this.#layout = layout;
    const svg = this.#svg;
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    svg.setAttribute('width', layout.width);
    svg.setAttribute('height', layout.height);

    this.#buildTitles(layout);
    this.#edgeGroup = svgElement('g', { class: 'edges' }, svg);
    this.#buildInputColumn(layout);
    this.#buildUnits(layout);
    this.#paint();
    if (focused) {
      this.#restoringFocus = true;
      this.#unitElement(focused)?.group.focus({ preventScroll: true });
      this.#restoringFocus = false;
    }
  }

  #buildTitles(layout) {
    const titles = svgElement('g', { class: 'column-titles' }, this.#svg);
    const layers = this.#model.layers;
    const columns = [
      {
        x: layout.input.x + layout.input.size / 2,
        name: 'Input',
        details: layout.narrow ? ['28×28'] : ['28×28 = 784'],
      },
      ...layers.map((layer, index) => ({
        x: layout.layers[index].x,
        name: index === layers.length - 1 ? 'Output' : `Hidden ${index + 1}`,
        // Narrow screens stack the numbers so that neighbouring columns never overlap.
        details: layout.narrow ? [`${layer.units}`, layer.activation]
          : [`${layer.units} · ${layer.activation}`],
      })),
    ];
    for (const column of columns) {
      const title = svgElement('text', { x: column.x, y: 16, class: 'column-title' }, titles);
      title.textContent = column.name;
      column.details.forEach((text, line) => {
        const detail = svgElement('text', {
          x: column.x, y: 32 + line * 14, class: 'column-detail',
        }, titles);
        detail.textContent = text;
      });
    }
  }

  #buildInputColumn(layout) {
    const { x, size, imageY, weightY } = layout.input;
    const group = svgElement('g', { class: 'input-column' }, this.#svg);
    svgElement('rect', {
      x: x - 0.5, y: imageY - 0.5, width: size + 1, height: size + 1, class: 'image-frame',
    }, group);
    this.#inputImage = svgElement('image', {
      x, y: imageY, width: size, height: size, class: 'pixel-image', 'data-role': 'input-image',
      preserveAspectRatio: 'none',
    }, group);
    this.#weightSlot = svgElement('rect', {
      x: x - 0.5, y: weightY - 0.5, width: size + 1, height: size + 1, class: 'weight-slot',
    }, group);
    this.#weightImage = svgElement('image', {
      x, y: weightY, width: size, height: size, class: 'pixel-image', 'data-role': 'weight-image',
      preserveAspectRatio: 'none',
    }, group);
    this.#weightCaption = svgElement('text', {
      x: x + size / 2, y: weightY + size + 15, class: 'image-caption',
    }, group);
    const inputCaption = svgElement('text', {
      x: x + size / 2, y: imageY + size + 16, class: 'image-caption',
    }, group);
    inputCaption.textContent = 'your digit';
  }

  #buildUnits(layout) {
    const group = svgElement('g', { class: 'units' }, this.#svg);
    const count = this.#model.layers.length;
    this.#outputLabels = [];
    this.#units = layout.layers.map((column, layerIndex) =>
      column.units.map((position, unitIndex) => {
        const unit = svgElement('g', {
          class: 'unit',
          role: 'button',
          tabindex: '-1',
          'data-layer': layerIndex,
          'data-unit': unitIndex,
          'data-tag': unitTag(layerIndex, unitIndex, count),
        }, group);
        const halo = svgElement('circle', {
          cx: position.x, cy: position.y, r: column.radius + 4, class: 'unit-halo',
        }, unit);
        const circle = svgElement('circle', {
          cx: position.x, cy: position.y, r: column.radius, class: 'unit-circle',
        }, unit);
        // A larger invisible target makes small units easy to hit with a finger.
        svgElement('circle', {
          cx: position.x, cy: position.y, r: Math.max(column.radius + 3, 9), class: 'unit-hit',
        }, unit);
        const ref = { layer: layerIndex, unit: unitIndex };
        unit.addEventListener('click', () => this.#pick(ref));
        unit.addEventListener('focus', () => {
          this.#focusRef = ref;
          if (!this.#restoringFocus) this.#pick(ref);
        });
        unit.addEventListener('pointerenter', (event) => {
          if (event.pointerType === 'mouse') this.#emit('unithover', ref);
        });
        unit.addEventListener('pointerleave', (event) => {
          if (event.pointerType === 'mouse') this.#emit('unithover', null);
        });
        return { group: unit, halo, circle, position };
      }),
    );
    const outputColumn = layout.layers[layout.layers.length - 1];
    for (const position of outputColumn.units) {
      const label = svgElement('text', {
        x: position.x + outputColumn.radius + 8,
        y: position.y,
        class: 'output-label',
        'dominant-baseline': 'middle',
      }, group);
      this.#outputLabels.push(label);
    }
    this.#setTabStop(this.#focusRef);
  }

  #paint() {
    if (!this.#model || !this.#layout) return;
    this.#paintUnits();
    this.#paintEdges();
    this.#paintInputImage();
    this.#paintWeightImage();
    this.#paintHighlight();
  }

  #paintUnits() {
    const result = this.#result;
    const layers = this.#model.layers;
    const count = layers.length;
    const predictedIndex = result ? predictedOutputIndex(this.#model, result) : -1;
    this.#units.forEach((units, layerIndex) => {
      const values = result?.layers?.[layerIndex]?.values;
      const levels = values ? activationLevels(values, layers[layerIndex].activation) : null;
      units.forEach((unit, unitIndex) => {
        const level = levels ? levels[unitIndex] : 0;
        unit.circle.setAttribute('fill', rgbString(activationRgb(level)));
        unit.circle.dataset.level = level.toFixed(4);
        const activation = values ? `activation ${formatNumber(values[unitIndex], 3)}` : 'no input yet';
        unit.group.setAttribute(
          'aria-label',
          `${layerTitle(layerIndex, count)}, unit ${unitIndex + 1} of ${units.length}: ${activation}`,
        );
        unit.group.classList.toggle(
          'is-predicted', layerIndex === count - 1 && unitIndex === predictedIndex,
        );
      });
    });
    this.#paintOutputLabels(predictedIndex);
  }

  #paintOutputLabels(predictedIndex) {
    const { classes } = this.#model;
    const output = this.#model.layers[this.#model.layers.length - 1];
    const values = this.#result?.layers?.[this.#model.layers.length - 1]?.values;
    const lone = output.units === 1;
    this.#outputLabels.forEach((label, index) => {
      label.replaceChildren();
      const name = svgElement('tspan', { class: 'output-name' }, label);
      name.textContent = lone ? outputUnitName(classes, output, index) : (classes[index] ?? index);
      if (values) {
        const value = lone
          ? svgElement('tspan', { x: label.getAttribute('x'), dy: '1.3em' }, label)
          : svgElement('tspan', { dx: '0.5em' }, label);
        value.textContent = lone ? `= ${formatNumber(values[index], 3)}` : formatPercent(values[index]);
      }
      label.setAttribute('dy', values && lone ? '-0.65em' : '0');
      label.classList.toggle('is-predicted', index === predictedIndex);
    });
  }

  #paintEdges() {
    const group = this.#edgeGroup;
    group.replaceChildren();
    const result = this.#result;
    if (!result || !Array.isArray(result.layers)) return;
    const layers = this.#model.layers;
    const layout = this.#layout;
    const path = answerPath(this.#model, result);
    this.#units.forEach((units, layerIndex) => units.forEach((unit, unitIndex) => {
      unit.group.classList.toggle('on-path', path[layerIndex].has(unitIndex));
    }));

    // Input → hidden 1: the whole image's push on each unit, z − b = Σ x·W.
    const first = layers[0];
    const firstResult = result.layers[0];
    if (first?.biases && firstResult?.preactivations) {
      const pushes = firstResult.preactivations.map((z, j) => z - first.biases[j]);
      const strongest = Math.max(...pushes.map(Math.abs), 1e-9);
      const { x, size, imageY } = layout.input;
      const fromX = x + size;
      const targets = this.#units[0];
      const edges = pushes
        .map((value, target) => ({ source: -1, target, value }))
        .filter((edge) => Math.abs(edge.value) >= strongest * MIN_EDGE_SHARE
          || (this.#highlight?.layer === 0 && this.#highlight.unit === edge.target));
      this.#drawEdges(group, 0, edges, strongest, path, (edge) => {
        const target = targets[edge.target].position;
        const fromY = imageY + size * ((edge.target + 0.5) / targets.length);
        const toX = target.x - layout.layers[0].radius;
        const bend = (toX - fromX) / 2;
        return ['path', {
          d: `M${fromX},${fromY} C${fromX + bend},${fromY} ${toX - bend},${target.y} ${toX},${target.y}`,
          fill: 'none',
        }];
      });
    }

    // Between dense layers: one line per a_prev_i · W[i, j], the strongest ones and the path.
    for (let layerIndex = 1; layerIndex < layers.length; layerIndex += 1) {
      const weights = layers[layerIndex].weights;
      const previous = result.layers[layerIndex - 1]?.values;
      if (!weights || !previous) continue;
      const edges = strongestContributions(previous, weights);
      if (!edges.length) continue;
      const strongest = Math.abs(edges[0].value) || 1e-9;
      const shown = new Set(edges.map((edge) => `${edge.source}:${edge.target}`));
      const add = (edge) => {
        const key = `${edge.source}:${edge.target}`;
        if (!shown.has(key)) {
          shown.add(key);
          edges.push(edge);
        }
      };
      for (const target of path[layerIndex]) {
        for (const source of path[layerIndex - 1]) {
          add({ source, target, value: previous[source] * weights[source][target] });
        }
      }
      // The unit being explained keeps its own strongest lines, even when they are weak overall.
      for (const edge of selectedUnitEdges(this.#highlight, layerIndex, previous, weights)) add(edge);
      const sources = this.#units[layerIndex - 1];
      const targets = this.#units[layerIndex];
      this.#drawEdges(group, layerIndex, edges, strongest, path, (edge) => {
        const from = sources[edge.source].position;
        const to = targets[edge.target].position;
        return ['line', { x1: from.x, y1: from.y, x2: to.x, y2: to.y }];
      });
    }
  }

  /**
   * Draw one layer's edges: colour by sign, width by size. Edges that carry the answer (between
   * units on the path, pushing the way the answer needs) stay bright and are drawn on top;
   * the others are faded so the path stands out.
   */
  #drawEdges(group, into, edges, strongest, path, shapeOf) {
    const sub = svgElement('g', { class: 'edge-layer', 'data-into': into }, group);
    const decorated = edges.map((edge) => ({
      ...edge,
      share: Math.min(1, Math.abs(edge.value) / strongest),
      onPath: path[into].has(edge.target)
        && (into === 0 || path[into - 1].has(edge.source))
        && Math.sign(edge.value) === (path.signs[into].get(edge.target) ?? 0),
    }));
    decorated.sort((a, b) => (a.onPath - b.onPath) || (a.share - b.share));
    for (const edge of decorated) {
      const [tag, geometry] = shapeOf(edge);
      svgElement(tag, {
        ...geometry,
        class: edge.onPath ? 'edge on-path' : 'edge',
        stroke: edge.value >= 0 ? POSITIVE_COLOR : NEGATIVE_COLOR,
        'stroke-width': ((edge.onPath ? 1 : 0.4) + 3.2 * edge.share).toFixed(2),
        'stroke-opacity': (edge.onPath ? 0.45 + 0.5 * edge.share : 0.05 + 0.3 * edge.share)
          .toFixed(3),
        'data-source': edge.source,
        'data-target': edge.target,
      }, sub);
    }
  }

  #paintInputImage() {
    const rows = this.#result?.input;
    if (Array.isArray(rows) && rows.length) {
      paintGrid(this.#scratch, rows, inkRgb);
      this.#inputImage.setAttribute('href', this.#scratch.toDataURL('image/png'));
      this.#inputImage.classList.remove('is-empty');
    } else {
      this.#inputImage.removeAttribute('href');
      this.#inputImage.classList.add('is-empty');
    }
  }

  #paintWeightImage() {
    if (!this.#weightImage) return;
    const ref = this.#highlight;
    const weights = this.#model?.layers?.[0]?.weights;
    if (ref && ref.layer === 0 && weights) {
      const column = weights.map((row) => row[ref.unit]);
      const strongest = Math.max(...column.map(Math.abs), 1e-9);
      const side = Math.round(Math.sqrt(column.length));
      paintGrid(this.#scratch, toRows(column, side), (w) => divergingRgb(w / strongest));
      this.#weightImage.setAttribute('href', this.#scratch.toDataURL('image/png'));
      this.#weightImage.classList.remove('is-empty');
      this.#weightSlot.classList.add('is-filled');
      this.#setWeightCaption('weights into', unitTag(0, ref.unit, this.#model.layers.length));
    } else {
      this.#weightImage.removeAttribute('href');
      this.#weightImage.classList.add('is-empty');
      this.#weightSlot.classList.remove('is-filled');
      this.#setWeightCaption('weights of a', 'Hidden 1 unit');
    }
  }

  #setWeightCaption(first, second) {
    const caption = this.#weightCaption;
    caption.replaceChildren();
    svgElement('tspan', { x: caption.getAttribute('x') }, caption).textContent = first;
    svgElement('tspan', { x: caption.getAttribute('x'), dy: '1.2em' }, caption).textContent = second;
  }

  #paintHighlight() {
    const ref = this.#highlight;
    this.#units.forEach((units, layerIndex) => {
      units.forEach((unit, unitIndex) => {
        const selected = Boolean(ref) && ref.layer === layerIndex && ref.unit === unitIndex;
        unit.group.classList.toggle('is-selected', selected);
        unit.group.setAttribute('aria-pressed', String(selected));
      });
    });
    this.#svg.classList.toggle('has-selection', Boolean(ref));
    for (const edge of this.#edgeGroup?.querySelectorAll('.edge') ?? []) {
      const into = Number(edge.parentNode.dataset.into);
      const related = Boolean(ref) && (
        (into === ref.layer && Number(edge.dataset.target) === ref.unit) ||
        (into === ref.layer + 1 && Number(edge.dataset.source) === ref.unit)
      );
      edge.classList.toggle('is-related', related);
    }
  }

  #pick(ref) {
    this.#setTabStop(ref);
    this.#emit('unitpick', ref);
  }

  #emit(type, ref) {
    this.dispatchEvent(new CustomEvent(type, { detail: { ref } }));
  }

  #unitElement(ref) {
    return this.#units[ref.layer]?.[ref.unit] ?? null;
  }

  #focusedRef() {
    const active = document.activeElement;
    if (!active?.classList?.contains('unit') || !this.#svg.contains(active)) return null;
    return { layer: Number(active.dataset.layer), unit: Number(active.dataset.unit) };
  }

  // Roving tabindex: the diagram is one Tab stop; arrow keys move between units.
  #setTabStop(ref) {
    const target = this.#unitElement(ref) ? ref : { layer: 0, unit: 0 };
    this.#focusRef = target;
    this.#units.forEach((units, layerIndex) => units.forEach((unit, unitIndex) => {
      const isStop = layerIndex === target.layer && unitIndex === target.unit;
      unit.group.setAttribute('tabindex', isStop ? '0' : '-1');
    }));
  }

  #onKeyDown(event) {
    const current = this.#focusedRef();
    if (!current) return;
    let next = null;
    const units = this.#units;
    if (event.key === 'ArrowDown') {
      next = { layer: current.layer, unit: Math.min(current.unit + 1, units[current.layer].length - 1) };
    } else if (event.key === 'ArrowUp') {
      next = { layer: current.layer, unit: Math.max(current.unit - 1, 0) };
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const layer = current.layer + (event.key === 'ArrowRight' ? 1 : -1);
      if (layer >= 0 && layer < units.length) {
        const share = current.unit / Math.max(1, units[current.layer].length - 1);
        next = { layer, unit: Math.round(share * (units[layer].length - 1)) };
      }
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.#pick(current);
      return;
    }
    if (next) {
      event.preventDefault();
      this.#setTabStop(next);
      this.#unitElement(next)?.group.focus();
    }
  }
}

/** Positions for the input images and every unit, in CSS pixels of a `width`-wide diagram. */
export function computeLayout(width, sizes) {
  const rowsOf = (units) => Math.ceil(units / Math.ceil(units / MAX_ROWS_PER_COLUMN));
  const maxRows = Math.max(...sizes.map(rowsOf), 1);
  const narrow = width < 520;
  // Wide screens get taller columns (bigger, easier units); phones keep the diagram short.
  const plotHeight = Math.max(260, Math.min(narrow ? 440 : 520, maxRows * (narrow ? 17 : 21)));
  const top = TITLE_SPACE + (narrow ? 12 : 0);
  const imageSize = Math.round(narrow ? 60 : Math.max(72, Math.min(132, width * 0.16, (plotHeight - 56) / 2)));
  const left = 6;
  const firstX = left + imageSize + (narrow ? 34 : Math.max(44, width * 0.1));
  const lastX = width - (narrow ? OUTPUT_LABEL_SPACE_NARROW : OUTPUT_LABEL_SPACE) - 12;
  const middle = top + plotHeight / 2;
  const layers = sizes.map((units, index) => {
    const x = sizes.length === 1 ? lastX : firstX + ((lastX - firstX) * index) / (sizes.length - 1);
    const columns = Math.ceil(units / MAX_ROWS_PER_COLUMN);
    const rows = Math.ceil(units / columns);
    const spacing = Math.min(34, plotHeight / rows);
    const isOutput = index === sizes.length - 1;
    const radius = Math.max(3, Math.min(isOutput ? 13 : 9, spacing * 0.38));
    const positions = [];
    for (let i = 0; i < units; i += 1) {
      const row = Math.floor(i / columns);
      const column = i % columns;
      positions.push({
        x: x + (column - (columns - 1) / 2) * radius * 2.6,
        y: middle + (row - (rows - 1) / 2) * spacing,
      });
    }
    return { x, radius, units: positions };
  });
  return {
    width,
    narrow,
    height: top + plotHeight + BOTTOM_SPACE,
    input: {
      x: left,
      size: imageSize,
      imageY: middle - imageSize - 14,
      weightY: middle + 14,
    },
    layers,
  };
}

/** Activations mapped to [0, 1] for shading: probabilities as they are, others by the layer max. */
export function activationLevels(values, activation) {
  const name = String(activation || '').toLowerCase();
  if (name === 'sigmoid' || name === 'softmax' || name === 'hard_sigmoid') {
    return values.map((value) => Math.min(1, Math.max(0, value)));
  }
  if (name === 'tanh') return values.map((value) => (Math.max(-1, Math.min(1, value)) + 1) / 2);
  const largest = Math.max(...values.map(Math.abs), 1e-9);
  return values.map((value) => Math.max(0, value) / largest);
}

/** The strongest a_prev_i · W[i][j] terms, strongest first. */
export function strongestContributions(previous, weights, limit = MAX_EDGES_PER_LAYER) {
  const terms = [];
  for (let i = 0; i < weights.length; i += 1) {
    for (let j = 0; j < weights[i].length; j += 1) {
      terms.push({ source: i, target: j, value: previous[i] * weights[i][j] });
    }
  }
  terms.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const strongest = Math.abs(terms[0]?.value ?? 0);
  if (strongest === 0) return [];
  return terms
    .slice(0, limit)
    .filter((term) => Math.abs(term.value) >= strongest * MIN_EDGE_SHARE);
}

/** The strongest a·W lines into or out of the selected unit `ref` for dense layer `into`. */
export function selectedUnitEdges(ref, into, previous, weights, limit = SELECTED_UNIT_EDGES) {
  if (!ref || (ref.layer !== into && ref.layer !== into - 1)) return [];
  const edges = ref.layer === into
    ? previous.map((a, i) => ({ source: i, target: ref.unit, value: a * weights[i][ref.unit] }))
    : weights[ref.unit].map((w, j) => ({ source: ref.unit, target: j, value: previous[ref.unit] * w }));
  return edges
    .filter((edge) => edge.value !== 0)
    .sort((left, right) => Math.abs(right.value) - Math.abs(left.value))
    .slice(0, limit);
}

/** Which output unit stands for the predicted class (-1 if none does). */
export function predictedOutputIndex(model, result) {
  const output = model.layers[model.layers.length - 1];
  const index = model.classes.indexOf(String(result.label));
  if (output.units === model.classes.length) return index;
  // One sigmoid unit for two classes: it is p(classes[1]); light it up when that class wins.
  return output.units === 1 && index === 1 ? 0 : -1;
}

/**
 * The units that carry the answer, layer by layer from the output back: the predicted output
 * unit, then in each earlier layer the few units whose a·W pushes hardest the way the answer
 * needs. Returns one Set of unit indices per layer, and `signs`: per layer, unit → the sign an
 * incoming push must have to help (−1 for a lone sigmoid unit when the answer is classes[0]).
 */
export function answerPath(model, result, perLayer = PATH_UNITS_PER_LAYER) {
  const layers = model.layers;
  const count = layers.length;
  const units = layers.map(() => new Set());
  const signs = layers.map(() => new Map());
  const output = layers[count - 1];
  const label = String(result.label);
  if (output.units === 1 && model.classes.length === 2) {
    signs[count - 1].set(0, label === model.classes[1] ? 1 : -1);
  } else {
    const predicted = predictedOutputIndex(model, result);
    if (predicted < 0) return Object.assign(units, { signs });
    signs[count - 1].set(predicted, 1);
  }
  units[count - 1] = new Set(signs[count - 1].keys());
  for (let layerIndex = count - 1; layerIndex >= 1; layerIndex -= 1) {
    const weights = layers[layerIndex].weights;
    const previous = result.layers?.[layerIndex - 1]?.values;
    if (!weights || !previous) break;
    const support = previous.map((a, i) => {
      let total = 0;
      for (const [j, sign] of signs[layerIndex]) total += Math.max(0, a * weights[i][j] * sign);
      return total;
    });
    const helpers = support
      .map((value, index) => ({ value, index }))
      .filter((entry) => entry.value > 0)
      .sort((left, right) => right.value - left.value)
      .slice(0, perLayer)
      .map((entry) => entry.index);
    units[layerIndex - 1] = new Set(helpers);
    // A hidden unit helps by being active, so pushes that raise its z are the helpful ones.
    signs[layerIndex - 1] = new Map(helpers.map((index) => [index, 1]));
  }
  return Object.assign(units, { signs });
}

/** Name shown beside output unit `index`: the class, or p("1") for a lone sigmoid unit. */
export function outputUnitName(classes, outputLayer, index) {
  if (outputLayer.units === 1 && classes.length === 2) return `p(“${classes[1]}”)`;
  return `“${classes[index] ?? index}”`;
}

function svgElement(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  parent?.append(element);
  return element;
}
