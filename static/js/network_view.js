// The network as the page shows it: the diagram (diagram_view.js) with its legend, and beside
// it the explainer of the unit being looked at (unit_explainer.js) with its backward maths
// (backward_explainer.js). There is one for the whole page: every section that shows the
// network borrows it (placeIn), so a unit picked in one section is still picked in the next.
// It paints the forward pass, or the backward pass once a section hands it gradients.
// A convolutional network gets its feature maps (feature_maps_view.js) above the dense layers,
// and its cells explained by conv_explainer.js; the dense diagram then shows the dense layers
// only, fed by the flattened maps (conv_layers.js cuts the details and answers for it). Under
// both, the line of tensor shapes from the input to the output.
//
// API:
//   const network = new NetworkView()
//   network.placeIn(slot)        // move the view into this element (a section's place for it)
//   network.show({ details, result, gradients })
//     details:   GET /models/{name} (layers with weights), or null while it loads (the previous
//                model's diagram stays, without an answer)
//     result:    the /predict answer for the drawing, or null
//     gradients: a /gradients answer to paint the backward pass for, or null (forward pass)
//   network.addEventListener('unitpick', (e) => e.detail)  // {ref: {layer, unit} clicked in the
//                                // diagram, or null; name: that layer's name in the model}
//     A map cell picked in a convolutional network's feature maps is a unit too: its ref is
//     {map: true, layer (its index in the model), channel, row, column, unit (its index in
//     the layer's output, flattened row by row as /predict lists `values`)}

import { BackwardExplainer } from './backward_explainer.js';
import { backwardPicture } from './backward_picture.js';
import { toRows } from './colors.js';
import { ConvBackwardExplainer } from './conv_backward_explainer.js';
import { ConvExplainer } from './conv_explainer.js';
import {
  denseAnswer, denseView, isConvolutional, strongestCell, tensorShapes,
} from './conv_layers.js';
import { DiagramView } from './diagram_view.js';
import { h } from './dom.js';
import { FeatureMapsView } from './feature_maps_view.js';
import { forwardPicture } from './forward_picture.js';
import { backwardMapPicture, forwardMapPicture, kernelImages } from './map_picture.js';
import { UnitExplainer } from './unit_explainer.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class NetworkView extends EventTarget {
  #element;
  #svg;
  #legends;
  #diagram;
  #explainer;
  #convExplainer;
  #backwardMaths;
  #convBackwardMaths;
  #maps;
  #mapsRoot;
  #shapes;
  // The details as the dense diagram draws them: all of them for a dense network, the dense
  // layers only (fed by the flattened maps) for a convolutional one.
  #dense = null;
  #convolutional = false;
  #details = null;
  #result = null;
  #gradients = null;
  #pinned = null;
  #hovered = null;
  // The connection whose weight gradient is explained ({into, source, target}), or null.
  #connection = null;

  constructor() {
    super();
    this.#svg = document.createElementNS(SVG_NS, 'svg');
    this.#svg.id = 'network-diagram';
    this.#svg.setAttribute('class', 'network-diagram');
    this.#svg.setAttribute('role', 'group');
    this.#svg.setAttribute('aria-label', 'Network diagram: input image, hidden layers and output units');
    const wrap = h('div', { class: 'diagram-wrap', id: 'diagram-wrap' }, this.#svg);
    const explainerRoot = h('aside', {
      class: 'explainer', id: 'unit-explainer', 'aria-live': 'polite',
      'aria-labelledby': 'explainer-heading',
    },
    h('h3', { id: 'explainer-heading' }, 'Explain a unit'),
    h('p', { class: 'explainer-empty', id: 'explainer-empty' }, 'Click, tap or hover a unit in the ',
      'diagram (or focus it with Tab and press Enter) to see its numbers.'),
    h('div', { id: 'explainer-body', hidden: '' }),
    h('div', { id: 'backward-explainer', class: 'backward-explainer', hidden: '' }));
    this.#legends = {
      forward: legend('forward-legend', [
        ['swatch', 'swatch-low', 'inactive'], ['swatch', 'swatch-high', 'active'],
        ['line', 'line-pos', 'raises z'], ['line', 'line-neg', 'lowers z']]),
      backward: legend('backward-legend', [
        ['line', 'line-pos', 'a step raises it'], ['line', 'line-neg', 'a step lowers it'],
        ['swatch', 'swatch-saturated', 'saturated']]),
    };
    this.#legends.backward.hidden = true;
    this.#mapsRoot = h('div', {
      class: 'feature-maps', id: 'feature-maps', role: 'group', hidden: '',
      'aria-label': 'Feature maps: the input, then each convolution’s and pooling’s maps',
    });
    this.#shapes = h('div', { class: 'tensor-shapes', id: 'tensor-shapes' });
    this.#element = h('div', { class: 'network-view' },
      h('div', { class: 'network-head' },
        h('h3', { id: 'network-heading' }, 'Inside the network'),
        this.#legends.backward, this.#legends.forward),
      h('div', { class: 'network-body' },
        h('div', { class: 'diagram-column' }, this.#mapsRoot, wrap, this.#shapes),
        explainerRoot));

    this.#diagram = new DiagramView(this.#svg, wrap);
    this.#explainer = new UnitExplainer(explainerRoot);
    this.#convExplainer = new ConvExplainer(explainerRoot.querySelector('#explainer-body'),
      explainerRoot.querySelector('#explainer-empty'));
    this.#maps = new FeatureMapsView(this.#mapsRoot);
    this.#maps.addEventListener('mappick', (event) => {
      this.#pinned = this.#withCell(event.detail.ref);
      this.#render();
      // A map cell is a unit too (one number of its layer's output): sections that show a
      // unit (its favourite digits, its dream) take it as they take a dense unit.
      const ref = this.#pinned ? cellUnit(this.#pinned, this.#details) : null;
      const name = ref ? this.#details.layers[ref.layer].name : null;
      this.dispatchEvent(new CustomEvent('unitpick', { detail: { ref, name } }));
    });
    this.#maps.addEventListener('maphover', (event) => {
      this.#hovered = event.detail.ref;
      this.#render();
    });
    this.#convExplainer.addEventListener('close', () => {
      this.#pinned = null;
      this.#hovered = null;
      this.#render();
    });
    this.#backwardMaths = new BackwardExplainer(explainerRoot.querySelector('#backward-explainer'));
    this.#convBackwardMaths = new ConvBackwardExplainer(explainerRoot.querySelector('#backward-explainer'));
    this.#diagram.addEventListener('unitpick', (event) => {
      this.#pinned = event.detail.ref;
      this.#render();
      const { ref } = event.detail;
      const name = ref ? this.#dense?.layers?.[ref.layer]?.name ?? null : null;
      this.dispatchEvent(new CustomEvent('unitpick', { detail: { ref, name } }));
    });
    this.#diagram.addEventListener('unithover', (event) => {
      this.#hovered = event.detail.ref;
      this.#render();
    });
    this.#explainer.addEventListener('close', () => {
      this.#pinned = null;
      this.#hovered = null;
      this.#render();
    });
    this.#backwardMaths.addEventListener('connectionpick', (event) => {
      this.#connection = event.detail.connection;
      this.#render();
    });
    // A line of the backward diagram explains its own weight gradient when clicked.
    this.#diagram.addEventListener('connectionpick', (event) => {
      if (!this.#gradients) return;
      this.#connection = event.detail.connection;
      this.#render();
    });
  }

  placeIn(slot) {
    if (this.#element.parentNode !== slot) slot.append(this.#element);
  }

  show({ details, result, gradients = null }) {
    if (details && details !== this.#details) {
      this.#pinned = null;
      this.#hovered = null;
      this.#convolutional = isConvolutional(details);
      this.#dense = this.#convolutional ? denseView(details) : details;
      this.#mapsRoot.hidden = !this.#convolutional;
      if (this.#convolutional) {
        this.#maps.setModel(details, kernelImages(details));
        this.#convExplainer.setModel(details);
        this.#convBackwardMaths.setModel(details);
      }
      this.#diagram.setModel(this.#dense);
      this.#explainer.setModel(this.#dense);
      this.#backwardMaths.setModel(this.#dense);
      this.#shapes.replaceChildren(...shapesLine(details, this.#convolutional));
    }
    if (gradients !== this.#gradients) this.#connection = null;
    this.#details = details;
    this.#result = result;
    this.#gradients = gradients;
    this.#render();
  }

  /** Paint the diagram and the explanation for the answer and the unit being shown. */
  #render() {
    const details = this.#details;
    const shown = this.#hovered ?? this.#pinned;
    const gradients = details ? this.#gradients : null;
    const cell = shown?.map ? shown : null;
    const unit = shown?.map ? null : shown;
    const conv = this.#convolutional && details;
    const result = conv ? denseAnswer(this.#result, details) : this.#result;
    const denseGradients = conv ? denseAnswer(gradients, details) : gradients;
    if (details) {
      const picture = denseGradients ? backwardPicture(this.#dense, denseGradients, unit)
        : forwardPicture(this.#dense, result, unit);
      this.#diagram.paint(conv ? flatInputPicture(picture, this.#dense, unit, Boolean(gradients)) : picture);
    }
    if (conv) {
      this.#maps.paint(gradients ? backwardMapPicture(details, gradients, cell)
        : forwardMapPicture(details, this.#result, cell));
    }
    this.#svg.classList.toggle('is-backward', Boolean(gradients));
    this.#legends.forward.hidden = Boolean(gradients);
    this.#legends.backward.hidden = !gradients;
    if (cell && conv) {
      this.#convExplainer.show(cell, this.#result);
    } else if (unit && details) {
      this.#explainer.show(unit, result);
    } else {
      this.#explainer.hide();
    }
    this.#backwardMaths.show({ unit, connection: this.#connection }, denseGradients);
    // A map cell's backward maths take the same place (the dense one above has left it empty).
    if (cell && conv && gradients && !this.#connection) this.#convBackwardMaths.show(cell, gradients);
  }

  /** A map picked as a whole (focused) is explained at its strongest cell. */
  #withCell(ref) {
    if (!ref || ref.row !== undefined) return ref;
    const layer = this.#details.layers[ref.layer];
    const values = this.#result?.layers?.[ref.layer]?.values;
    return { ...ref, ...(values ? strongestCell(values, layer.shape, ref.channel) : { row: 0, column: 0 }) };
  }
}

/** A picked map cell with its `unit`: its index in its layer's flattened (h, w, c) output. */
function cellUnit(cell, details) {
  const [, width, channels] = details.layers[cell.layer].shape;
  return { ...cell, unit: (cell.row * width + cell.column) * channels + cell.channel };
}

/** The dense diagram's input column for a convolutional network: the flattened maps (one row
 * per position, one column per channel) instead of the digit, and under it the explained first
 * dense unit's weights on them, laid out the same way. */
function flatInputPicture(picture, dense, unit, backward) {
  const width = dense.flatInput.shape.at(-1);
  const rows = picture.input;
  const largest = rows ? Math.max(...rows.flat().map(Math.abs), 1e-9) : 1;
  const input = rows ? rows.map((row) => row.map((value) => Math.max(0, value) / largest)) : null;
  let under = picture.under;
  const weights = dense.layers[0]?.weights;
  if (!backward) {
    under = { rows: null, caption: ['weights of a', 'Hidden 1 unit'] };
    if (unit?.layer === 0 && weights) {
      const column = weights.map((row) => row[unit.unit]);
      const strongest = Math.max(...column.map(Math.abs), 1e-9);
      under = { rows: toRows(column.map((w) => w / strongest), width), caption: ['its weights', 'on the maps'] };
    }
  }
  return { ...picture, input, under };
}

/** The line of tensor shapes, input to output, and what their axes are. */
function shapesLine(details, convolutional) {
  const shapes = tensorShapes(details);
  const list = h('ol', { class: 'tensor-list', 'aria-label': 'Tensor shapes from the input to the output' },
    ...shapes.map(({ name, shape }) => h('li', { class: 'tensor' }, h('span', { class: 'tensor-text' },
      h('code', { class: 'tensor-shape' }, `(${shape.join(', ')})`),
      h('span', { class: 'tensor-name' }, name)))));
  const first = shapes[1]?.shape ?? [];
  const training = details.batch_size
    ? `in training the same layers took ${details.batch_size} digits at once`
    : 'in training the same layers take a batch of digits at once';
  const sentence = convolutional
    ? h('p', { class: 'caption tensor-note' }, 'Each is a tensor: an array with one axis per ',
      'number in its shape. The first axis is the batch: 1, because the page sends one drawing; ',
      `${training}. The last axis of a map is its `,
      `channels: 1 grey channel in the input, one per filter after a convolution (${
        first.at(-1)} in ${shapes[1]?.name}), each channel a 2-D map over height and width. That `,
      'flow of 4-axis arrays from layer to layer is the tensor TensorFlow is named for; ',
      'Flatten reads them row by row into one long vector for the dense layers.')
    : h('p', { class: 'caption tensor-note' }, 'Each is a tensor: an array with one axis per ',
      'number in its shape. The first axis is the batch: 1, because the page sends one drawing; ',
      `${training}, as rows of one matrix.`);
  return [list, sentence];
}

/** A legend of [kind ('swatch' | 'line'), class, text] items, for sighted readers only: the
 * diagram's units and lines say the same in words. */
function legend(id, items) {
  return h('p', { class: 'legend', id, 'aria-hidden': 'true' }, ...items.map(([kind, style, text]) =>
    h('span', { class: 'legend-item' }, h('span', { class: `legend-${kind} ${style}` }), text)));
}
