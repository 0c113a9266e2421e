// A convolutional network's feature maps, layer by layer: the input image, then each conv2d
// layer as a stack of small images (one per filter, its kernel drawn under it) and each pooling
// layer's smaller maps. A person picks a cell of a map: with a pointer (click, tap, or a mouse
// hovering), or with the keyboard. It draws what the caller gives it and computes nothing about
// the network (map_picture.js makes the pictures), as diagram_view.js does for dense units.
//
// Keyboard: the maps are one Tab stop. Arrow keys move between maps (left and right within a
// layer, up and down between layers) and focusing a map picks it; Enter or Space starts moving
// the cell inside the map with the arrow keys, and Enter, Space or Escape stops.
//
// API:
//   const view = new FeatureMapsView(rootElement)
//   view.setModel(details, kernels)  // details: GET /models/{name}; kernels: per layer index,
//                                    // per filter, rows in [−1, 1] (or null): drawn under maps
//   view.paint(picture)
//   view.addEventListener('mappick' | 'maphover', (e) => e.detail.ref)
//     ref: {map: true, layer, channel, row, column} (row and column are missing when a map was
//     focused as a whole: the caller chooses its cell), or null when the hover left
// A picture has:
//   input:    28×28 rows in [0, 1] (ink high), or null
//   layers:   per map layer index: {channels: [{rows, text}], colourOf: value → [r, g, b]}
//   selected: {layer, channel, row, column} being explained, or null
//   field:    the window it was computed from on the layer below, or null:
//             {layer (−1: the input), channels (null: all), top, left, height, width,
//              winner: {row, column} or null (a pooled cell's largest input)}

import { inkRgb, paintGrid } from './colors.js';
import { h } from './dom.js';
import { INPUT_SHAPE, layerName, mapLayers } from './conv_layers.js';

export class FeatureMapsView extends EventTarget {
  #root;
  #details = null;
  #layers = []; // [{index, shape, maps: [{element, canvas, box, field, cell, winner}]}]
  #input = null; // {canvas, box, field, winner}
  #tabStop = { layer: null, channel: 0 };
  #movingCell = false;
  #selected = null;
  #hoverKey = '';

  constructor(root) {
    super();
    this.#root = root;
    root.addEventListener('keydown', (event) => this.#onKeyDown(event));
  }

  setModel(details, kernels = {}) {
    this.#details = details;
    this.#movingCell = false;
    this.#selected = null;
    const input = mapBox('map-input', INPUT_SHAPE);
    this.#input = input;
    const inputRow = layerRow('Input', `(1, ${INPUT_SHAPE.join(', ')})`, '28×28 pixels, 1 channel',
      h('div', { class: 'feature-map is-input' }, input.box,
        h('span', { class: 'map-label' }, 'your digit')));
    this.#layers = mapLayers(details).map((index) => this.#buildLayer(index, kernels[index]));
    this.#root.replaceChildren(inputRow, ...this.#layers.map((layer) => layer.row));
    this.#tabStop = { layer: this.#layers[0]?.index ?? null, channel: 0 };
    this.#setTabStop();
  }

  #buildLayer(index, kernels) {
    const layer = this.#details.layers[index];
    const shape = layer.shape;
    const name = layerName(this.#details, index);
    const [height, width, channels] = shape;
    const isConv = layer.kind === 'conv2d';
    const detail = isConv
      ? `${channels} filters ${layer.weights.length}×${layer.weights[0].length} · ${layer.activation}`
      : `max of each ${(layer.pool_size ?? [2, 2]).join('×')} window`;
    const maps = Array.from({ length: channels }, (_, channel) => {
      const map = mapBox('map-canvas', shape);
      const element = h('div', {
        class: 'feature-map', role: 'button', tabindex: '-1', 'aria-pressed': 'false',
        'data-layer': index, 'data-channel': channel,
      }, map.box, h('span', { class: 'map-label', 'aria-hidden': 'true' }, String(channel + 1)));
      if (isConv && kernels?.[channel]) {
        const kernel = h('canvas', { class: 'kernel-canvas', 'data-role': 'kernel', 'aria-hidden': 'true' });
        paintGrid(kernel, kernels[channel], kernelColour);
        element.append(kernel);
      }
      const ref = { map: true, layer: index, channel };
      element.addEventListener('focus', () => {
        this.#tabStop = { layer: index, channel };
        this.#setTabStop();
        const same = this.#selected?.layer === index && this.#selected?.channel === channel;
        if (!same) this.#emit('mappick', ref);
      });
      map.box.addEventListener('click', (event) => {
        this.#emit('mappick', { ...ref, ...cellAt(event, map.box, height, width) });
      });
      map.box.addEventListener('pointermove', (event) => {
        if (event.pointerType !== 'mouse') return;
        const cell = cellAt(event, map.box, height, width);
        const key = `${index}:${channel}:${cell.row}:${cell.column}`;
        if (key === this.#hoverKey) return;
        this.#hoverKey = key;
        this.#emit('maphover', { ...ref, ...cell });
      });
      map.box.addEventListener('pointerleave', (event) => {
        if (event.pointerType !== 'mouse') return;
        this.#hoverKey = '';
        this.#emit('maphover', null);
      });
      return { ...map, element };
    });
    const row = layerRow(name, `(1, ${shape.join(', ')})`, detail,
      ...maps.map((map) => map.element));
    row.dataset.layer = String(index);
    return { index, shape, name, maps, row };
  }

  paint(picture) {
    if (!this.#details) return;
    this.#selected = picture.selected;
    this.#paintInput(picture.input);
    for (const layer of this.#layers) {
      const painted = picture.layers?.[layer.index];
      layer.maps.forEach((map, channel) => {
        const shown = painted?.channels?.[channel];
        if (shown) paintGrid(map.canvas, shown.rows, painted.colourOf);
        map.element.setAttribute('aria-label', `${layer.name}, map ${channel + 1} of ${
          layer.maps.length}: ${shown?.text ?? 'no input yet'}`);
        const selected = picture.selected?.layer === layer.index
          && picture.selected?.channel === channel;
        map.element.classList.toggle('is-selected', selected);
        map.element.setAttribute('aria-pressed', String(selected));
        placeBox(map.cell, selected && picture.selected.row !== undefined ? {
          top: picture.selected.row, left: picture.selected.column, height: 1, width: 1,
        } : null, layer.shape);
        const field = picture.field;
        const inField = field?.layer === layer.index
          && (field.channels === null || field.channels.includes(channel));
        placeBox(map.field, inField ? field : null, layer.shape);
        placeBox(map.winner, inField && field.winner
          ? { top: field.winner.row, left: field.winner.column, height: 1, width: 1 } : null, layer.shape);
      });
    }
    const field = picture.field;
    placeBox(this.#input.field, field?.layer === -1 ? field : null, INPUT_SHAPE);
    placeBox(this.#input.winner, null, INPUT_SHAPE);
    this.#root.classList.toggle('has-selection', Boolean(picture.selected));
  }

  #paintInput(rows) {
    if (Array.isArray(rows) && rows.length) {
      paintGrid(this.#input.canvas, rows, inkRgb);
      this.#input.canvas.classList.remove('is-empty');
    } else {
      paintGrid(this.#input.canvas, emptyRows(INPUT_SHAPE), inkRgb);
      this.#input.canvas.classList.add('is-empty');
    }
  }

  #mapElement(layerIndex, channel) {
    const layer = this.#layers.find((entry) => entry.index === layerIndex);
    return layer?.maps[channel]?.element ?? null;
  }

  #setTabStop() {
    for (const layer of this.#layers) {
      layer.maps.forEach((map, channel) => map.element.setAttribute('tabindex',
        layer.index === this.#tabStop.layer && channel === this.#tabStop.channel ? '0' : '-1'));
    }
  }

  #focused() {
    const active = document.activeElement;
    if (!active?.classList?.contains('feature-map') || !this.#root.contains(active)) return null;
    return { layer: Number(active.dataset.layer), channel: Number(active.dataset.channel), element: active };
  }

  #onKeyDown(event) {
    const current = this.#focused();
    if (!current) return;
    const arrows = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (event.key === 'Enter' || event.key === ' ' || (event.key === 'Escape' && this.#movingCell)) {
      event.preventDefault();
      this.#setMovingCell(event.key === 'Escape' ? false : !this.#movingCell, current.element);
      return;
    }
    const step = arrows[event.key];
    if (!step) return;
    event.preventDefault();
    if (this.#movingCell) {
      this.#moveCell(current, step);
      return;
    }
    const position = this.#layers.findIndex((layer) => layer.index === current.layer);
    let next = null;
    if (step[1] !== 0) {
      const channels = this.#layers[position].maps.length;
      next = { layer: current.layer, channel: Math.max(0, Math.min(channels - 1, current.channel + step[1])) };
    } else {
      const target = this.#layers[position + step[0]];
      if (target) {
        const share = current.channel / Math.max(1, this.#layers[position].maps.length - 1);
        next = { layer: target.index, channel: Math.round(share * (target.maps.length - 1)) };
      }
    }
    if (next) this.#mapElement(next.layer, next.channel)?.focus();
  }

  #setMovingCell(moving, element) {
    this.#movingCell = moving;
    this.#root.querySelectorAll('.feature-map.is-moving-cell')
      .forEach((map) => map.classList.remove('is-moving-cell'));
    element.classList.toggle('is-moving-cell', moving);
    element.setAttribute('aria-description', moving
      ? 'Moving the cell: arrow keys move it, Enter or Escape stops'
      : 'Arrow keys move between maps; Enter moves the cell inside this one');
  }

  #moveCell(current, [down, right]) {
    const selected = this.#selected;
    const layer = this.#layers.find((entry) => entry.index === current.layer);
    if (!layer) return;
    const [height, width] = layer.shape;
    const here = selected?.layer === current.layer && selected?.channel === current.channel
      && selected.row !== undefined ? selected : { row: 0, column: 0 };
    this.#emit('mappick', {
      map: true, layer: current.layer, channel: current.channel,
      row: Math.max(0, Math.min(height - 1, here.row + down)),
      column: Math.max(0, Math.min(width - 1, here.column + right)),
    });
  }

  #emit(type, ref) {
    this.dispatchEvent(new CustomEvent(type, { detail: { ref } }));
  }
}

/** Red (negative) through white to blue (positive), paper between a kernel's channel tiles. */
function kernelColour(value) {
  if (value === null || !Number.isFinite(value)) return [255, 255, 255];
  const v = Math.max(-1, Math.min(1, value));
  const to = v >= 0 ? [37, 99, 235] : [220, 38, 38];
  return to.map((channel) => Math.round(255 + (channel - 255) * Math.abs(v)));
}

function emptyRows([height, width]) {
  return Array.from({ length: height }, () => new Array(width).fill(0));
}

/** A map's canvas in a box, with the overlays that mark a cell, a window and a window's winner. */
function mapBox(className, shape) {
  const canvas = h('canvas', {
    class: `${className} pixel-canvas`, width: shape[1], height: shape[0], 'aria-hidden': 'true',
  });
  const field = h('span', { class: 'map-field', hidden: '' });
  const winner = h('span', { class: 'map-winner', hidden: '' });
  const cell = h('span', { class: 'map-cell', hidden: '' });
  const box = h('span', { class: 'map-box' }, canvas, field, winner, cell);
  return { canvas, field, winner, cell, box };
}

function layerRow(name, shapeText, detail, ...maps) {
  return h('div', { class: 'map-layer' },
    h('p', { class: 'map-layer-title' }, h('strong', {}, name), ` ${detail} `,
      h('span', { class: 'map-shape' }, shapeText)),
    h('div', { class: 'map-stack' }, ...maps));
}

/** Place an overlay over rows top…top+height−1 and columns left…left+width−1 of a map of
 * `shape`, in percentages of the map's box; hidden for null. */
function placeBox(overlay, area, shape) {
  if (!area) {
    overlay.hidden = true;
    return;
  }
  const [height, width] = shape;
  overlay.hidden = false;
  overlay.style.top = `${(area.top / height) * 100}%`;
  overlay.style.left = `${(area.left / width) * 100}%`;
  overlay.style.height = `${(area.height / height) * 100}%`;
  overlay.style.width = `${(area.width / width) * 100}%`;
}

function cellAt(event, box, height, width) {
  const rect = box.getBoundingClientRect();
  const clamp = (value, size) => Math.max(0, Math.min(size - 1, Math.floor(value * size)));
  return {
    row: clamp((event.clientY - rect.top) / rect.height, height),
    column: clamp((event.clientX - rect.left) / rect.width, width),
  };
}
