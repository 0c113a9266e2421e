// The network diagram as SVG: the input image, every dense layer's units, the lines between them,
// and the keyboard and pointer handling that lets a person pick a unit. It draws what the caller
// gives it and computes nothing about the network; forward_picture.js makes the forward pass's
// picture, and another picture (units shaded by δ, lines by gradient) paints the same way.
//
// API:
//   const view = new DiagramView(svgElement, wrapElement);
//   view.setModel(model)   // {classes, layers: [{units, activation}, …], flatInput?}: builds the
//                          // columns; flatInput {name, shape}: what feeds the first layer when
//                          // it is not the image (a convolutional network's flattened maps)
//   view.paint(picture)    // draws a picture; repainted by itself when the width changes
//   view.addEventListener('unitpick' | 'unithover', (e) => e.detail.ref)  // {layer, unit} or null
//   view.addEventListener('connectionpick', (e) => e.detail.connection)  // a clicked line {into, source, target}
// A picture has:
//   units:        per layer, per unit {fill: CSS colour, text: what a screen reader hears,
//                 marked: true to ring it (e.g. a saturated unit in the backward pass)}
//   path:         per layer, a Set of the unit indices marked as carrying the answer
//   predicted:    the output unit marked as the answer, or −1
//   outputLabels: per output unit {name, value, stacked} (value under the name when stacked)
//   connectionLayers:   [{into, connections: [{source, target, value, onPath}], scale?}]: lines into dense
//                 layer `into` (into 0: from the input image, one per unit); blue for value ≥ 0,
//                 red below, width by |value| / scale (scale: the layer's largest |value|)
//   input:        28×28 rows in [0, 1] (ink high), or null
//   under:        {rows: 28×28 in [−1, 1] or null, caption: [line, line]}: the image under it
//   selected:     the unit being explained {layer, unit}, or null

import { NEGATIVE_COLOR, POSITIVE_COLOR, divergingRgb, inkRgb, paintGrid } from './colors.js';
import { UnitFocus } from './diagram_focus.js';
import { computeLayout } from './diagram_layout.js';
import { layerTitle } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class DiagramView extends EventTarget {
  #svg;
  #wrap;
  #model = null;
  #picture = null;
  #layout = null;
  #units = [];
  #connectionGroup = null;
  #inputImage = null;
  #underImage = null;
  #underSlot = null;
  #underCaption = null;
  #outputLabels = [];
  #focus;
  #scratch = document.createElement('canvas');

  constructor(svg, wrap) {
    super();
    this.#svg = svg;
    this.#wrap = wrap;
    this.#focus = new UnitFocus(svg, (ref) => this.#emit('unitpick', ref));
    svg.addEventListener('click', (event) => {
      const line = event.target.closest?.('.connection');
      if (!line) return;
      const connection = {
        into: Number(line.parentNode.dataset.into),
        source: Number(line.dataset.source),
        target: Number(line.dataset.target),
      };
      this.dispatchEvent(new CustomEvent('connectionpick', { detail: { connection } }));
    });
    let lastWidth = 0;
    new ResizeObserver(() => {
      const width = Math.round(this.#wrap.clientWidth);
      if (this.#model && Math.abs(width - lastWidth) > 2) {
        lastWidth = width;
        this.#build();
      }
    }).observe(wrap);
  }

  setModel(model) {
    this.#model = model;
    this.#picture = null;
    this.#focus.reset();
    this.#build();
  }

  paint(picture) {
    this.#picture = picture;
    if (!this.#model || !this.#layout) return;
    this.#paintUnits(picture);
    this.#paintOutputLabels(picture);
    this.#paintConnections(picture.connectionLayers);
    this.#paintImage(this.#inputImage, picture.input, inkRgb);
    this.#paintImage(this.#underImage, picture.under?.rows, divergingRgb);
    this.#underSlot.classList.toggle('is-filled', Boolean(picture.under?.rows));
    this.#setUnderCaption(picture.under?.caption ?? ['', '']);
    this.#paintSelection(picture.selected);
  }

  #build() {
    if (!this.#model) return;
    const width = Math.max(300, Math.round(this.#wrap.clientWidth || 640));
    const layout = computeLayout(width, this.#model.layers.map((layer) => layer.units));
    this.#layout = layout;
    const svg = this.#svg;
    const restoreFocus = this.#focus.saveFocus();
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    svg.setAttribute('width', layout.width);
    svg.setAttribute('height', layout.height);
    this.#buildTitles(layout);
    this.#connectionGroup = svgElement('g', { class: 'connections' }, svg);
    this.#buildInputColumn(layout);
    this.#buildUnits(layout);
    if (this.#picture) this.paint(this.#picture);
    restoreFocus();
  }

  #buildTitles(layout) {
    const titles = svgElement('g', { class: 'column-titles' }, this.#svg);
    const layers = this.#model.layers;
    // A convolutional network's dense layers are fed by its flattened maps, not the image.
    const flat = this.#model.flatInput;
    const flatSize = flat ? flat.shape.reduce((product, size) => product * size, 1) : 0;
    const columns = [
      flat ? {
        x: layout.input.x + layout.input.size / 2,
        name: 'Flatten',
        details: layout.narrow ? [`${flatSize}`] : [`${flat.shape.join('·')} = ${flatSize}`],
      } : {
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
    // Each image sits in a frame half a pixel outside it, so the frame's line never covers it.
    const framedImage = (y, frameClass, role) => [
      svgElement('rect', {
        x: x - 0.5, y: y - 0.5, width: size + 1, height: size + 1, class: frameClass,
      }, group),
      svgElement('image', {
        x, y, width: size, height: size, class: 'pixel-image', 'data-role': role,
        preserveAspectRatio: 'none',
      }, group),
    ];
    [, this.#inputImage] = framedImage(imageY, 'image-frame', 'input-image');
    [this.#underSlot, this.#underImage] = framedImage(weightY, 'weight-slot', 'weight-image');
    this.#underCaption = svgElement('text', {
      x: x + size / 2, y: weightY + size + 15, class: 'image-caption',
    }, group);
    const inputCaption = svgElement('text', {
      x: x + size / 2, y: imageY + size + 16, class: 'image-caption',
    }, group);
    inputCaption.textContent = this.#model.flatInput ? `${this.#model.flatInput.name}, flat` : 'your digit';
  }

  #buildUnits(layout) {
    const group = svgElement('g', { class: 'units' }, this.#svg);
    this.#units = layout.layers.map((column, layerIndex) =>
      column.units.map((position, unitIndex) => {
        const unit = svgElement('g', {
          class: 'unit', role: 'button', tabindex: '-1',
          'data-layer': layerIndex, 'data-unit': unitIndex,
        }, group);
        svgElement('circle', {
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
        this.#focus.watch(unit, ref);
        unit.addEventListener('pointerenter', (event) => {
          if (event.pointerType === 'mouse') this.#emit('unithover', ref);
        });
        unit.addEventListener('pointerleave', (event) => {
          if (event.pointerType === 'mouse') this.#emit('unithover', null);
        });
        return { group: unit, circle, position };
      }),
    );
    this.#focus.setUnits(this.#units.map((units) => units.map((unit) => unit.group)));
    const outputColumn = layout.layers[layout.layers.length - 1];
    this.#outputLabels = outputColumn.units.map((position) => svgElement('text', {
      x: position.x + outputColumn.radius + 8,
      y: position.y,
      class: 'output-label',
      'dominant-baseline': 'middle',
    }, group));
  }

  #paintUnits(picture) {
    const count = this.#units.length;
    this.#units.forEach((units, layerIndex) => units.forEach((unit, unitIndex) => {
      const shade = picture.units[layerIndex]?.[unitIndex];
      unit.circle.setAttribute('fill', shade?.fill ?? 'none');
      unit.group.setAttribute('aria-label', `${layerTitle(layerIndex, count)}, unit ${
        unitIndex + 1} of ${units.length}: ${shade?.text ?? ''}`);
      unit.group.classList.toggle('on-path', Boolean(picture.path?.[layerIndex]?.has(unitIndex)));
      unit.group.classList.toggle('is-marked', Boolean(shade?.marked));
      unit.group.classList.toggle(
        'is-predicted', layerIndex === count - 1 && unitIndex === picture.predicted,
      );
    }));
  }

  #paintOutputLabels(picture) {
    this.#outputLabels.forEach((label, index) => {
      const { name, value, stacked } = picture.outputLabels?.[index] ?? { name: '', value: '' };
      label.replaceChildren();
      svgElement('tspan', { class: 'output-name' }, label).textContent = name;
      if (value) {
        const place = stacked ? { x: label.getAttribute('x'), dy: '1.3em' } : { dx: '0.5em' };
        svgElement('tspan', place, label).textContent = value;
      }
      label.setAttribute('dy', stacked ? '-0.65em' : '0');
      label.classList.toggle('is-predicted', index === picture.predicted);
    });
  }

  /**
   * Colour by sign, width by size. Connections on the answer's path stay bright and are drawn on top;
   * the others are faded so the path stands out.
   */
  #paintConnections(connectionLayers = []) {
    this.#connectionGroup.replaceChildren();
    for (const { into, connections, scale } of connectionLayers) {
      const full = scale || Math.max(...connections.map((connection) => Math.abs(connection.value)), 1e-9);
      const group = svgElement('g', { class: 'connection-layer', 'data-into': into }, this.#connectionGroup);
      const drawn = connections
        .map((connection) => ({ ...connection, share: Math.min(1, Math.abs(connection.value) / full) }))
        .sort((a, b) => (a.onPath - b.onPath) || (a.share - b.share));
      for (const connection of drawn) {
        const [tag, geometry] = this.#connectionShape(into, connection);
        svgElement(tag, {
          ...geometry,
          class: connection.onPath ? 'connection on-path' : 'connection',
          stroke: connection.value >= 0 ? POSITIVE_COLOR : NEGATIVE_COLOR,
          'stroke-width': ((connection.onPath ? 1 : 0.4) + 3.2 * connection.share).toFixed(2),
          'stroke-opacity': (connection.onPath ? 0.45 + 0.5 * connection.share : 0.05 + 0.3 * connection.share)
            .toFixed(3),
          'data-source': connection.source,
          'data-target': connection.target,
        }, group);
      }
    }
  }

  /** Into layer 0: a curve from the image's right side; between layers: a straight line. */
  #connectionShape(into, connection) {
    const layout = this.#layout;
    const targets = this.#units[into];
    const to = targets[connection.target].position;
    if (into > 0) {
      const from = this.#units[into - 1][connection.source].position;
      return ['line', { x1: from.x, y1: from.y, x2: to.x, y2: to.y }];
    }
    const { x, size, imageY } = layout.input;
    const fromX = x + size;
    const fromY = imageY + size * ((connection.target + 0.5) / targets.length);
    const toX = to.x - layout.layers[0].radius;
    const bend = (toX - fromX) / 2;
    return ['path', {
      d: `M${fromX},${fromY} C${fromX + bend},${fromY} ${toX - bend},${to.y} ${toX},${to.y}`,
      fill: 'none',
    }];
  }

  #paintImage(image, rows, colourOf) {
    if (Array.isArray(rows) && rows.length) {
      paintGrid(this.#scratch, rows, colourOf);
      image.setAttribute('href', this.#scratch.toDataURL('image/png'));
      image.classList.remove('is-empty');
    } else {
      image.removeAttribute('href');
      image.classList.add('is-empty');
    }
  }

  #setUnderCaption([first, second]) {
    const caption = this.#underCaption;
    caption.replaceChildren();
    svgElement('tspan', { x: caption.getAttribute('x') }, caption).textContent = first;
    svgElement('tspan', { x: caption.getAttribute('x'), dy: '1.2em' }, caption).textContent = second;
  }

  /** Ring the explained unit, and mark the lines into and out of it. */
  #paintSelection(ref) {
    this.#units.forEach((units, layerIndex) => units.forEach((unit, unitIndex) => {
      const selected = Boolean(ref) && ref.layer === layerIndex && ref.unit === unitIndex;
      unit.group.classList.toggle('is-selected', selected);
      unit.group.setAttribute('aria-pressed', String(selected));
    }));
    this.#svg.classList.toggle('has-selection', Boolean(ref));
    for (const connection of this.#connectionGroup.querySelectorAll('.connection')) {
      const into = Number(connection.parentNode.dataset.into);
      const related = Boolean(ref) && (
        (into === ref.layer && Number(connection.dataset.target) === ref.unit)
        || (into === ref.layer + 1 && Number(connection.dataset.source) === ref.unit)
      );
      connection.classList.toggle('is-related', related);
    }
  }

  #emit(type, ref) {
    this.dispatchEvent(new CustomEvent(type, { detail: { ref } }));
  }
}

function svgElement(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  parent?.append(element);
  return element;
}
