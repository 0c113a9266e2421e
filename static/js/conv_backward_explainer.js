// The backward maths for a cell of a feature map, with the numbers of one /gradients answer,
// written under its forward explanation (conv_explainer.js):
//   conv2d    δ = ∂L/∂a ⊙ g′(z) for this cell (and what the pooling above passed back to it),
//             then ∂L/∂K for the clicked map's kernel: every window of the map times its δ,
//             summed over the whole map, because one kernel is used at every position; ∂L/∂b
//   max_pool  δ = ∂L/∂a of the pooled cell, all of it handed to the window's winner
//
// API:
//   const maths = new ConvBackwardExplainer(rootElement)
//   maths.setModel(details)
//   maths.show(ref, gradients)   // ref {map: true, layer, channel, row, column}; renders into
//                                // the root (the backward explainer's element), shown

import { divergingRgb, paintGrid } from './colors.js';
import { mapTag, numberGrid } from './conv_explainer.js';
import {
  layerInputShape, layerName, valueAt, windowGeometry, windowOf,
} from './conv_layers.js';
import { h, valueTerm } from './dom.js';
import { formatNumber } from './format.js';
import { kernelTiles, receptiveField } from './map_picture.js';

export class ConvBackwardExplainer {
  #root;
  #details = null;

  constructor(root) {
    this.#root = root;
  }

  setModel(details) {
    this.#details = details;
  }

  show(ref, gradients) {
    const details = this.#details;
    const layer = details?.layers?.[ref.layer];
    const delta = gradients?.layers?.[ref.layer]?.delta;
    if (!layer || !delta) return;
    const d = valueAt(delta, layer.shape, ref.row, ref.column, ref.channel);
    const parts = [
      h('h4', { class: 'backward-title' },
        `Backward pass: how “${gradients.target}” would change ${mapTag(details, ref)}`),
      h('dl', { class: 'unit-values' },
        valueTerm('δ', '= ∂L/∂z of this cell', formatGradient(d), 'delta'),
        valueTerm('L', `loss for “${gradients.target}”`, formatNumber(gradients.loss), 'loss')),
    ];
    if (layer.kind === 'conv2d') {
      parts.push(this.#convDelta(ref, layer, gradients, d), this.#kernelGradient(ref, layer, gradients));
    } else {
      parts.push(this.#poolDelta(ref, gradients, d));
    }
    this.#root.replaceChildren(...parts);
    this.#root.hidden = false;
  }

  #convDelta(ref, layer, gradients, d) {
    const values = gradients.layers[ref.layer];
    const z = valueAt(values.preactivations ?? values.values, layer.shape, ref.row, ref.column, ref.channel);
    const above = this.#details.layers[ref.layer + 1];
    const lines = [h('p', { class: 'math math-main' }, 'δ = ∂L/∂a ⊙ [z > 0]')];
    if (z <= 0) {
      lines.push(h('p', {}, `ReLU was off here (z = ${formatNumber(z)} ≤ 0): its slope is 0, so `,
        'δ = 0 whatever comes back. This cell does not learn from this drawing.'));
    } else if (above?.kind === 'max_pool') {
      const geometry = windowGeometry(above, layer.shape);
      const pooled = {
        map: true, layer: ref.layer + 1, channel: ref.channel,
        row: Math.floor((ref.row + geometry.pads[0]) / geometry.strides[0]),
        column: Math.floor((ref.column + geometry.pads[1]) / geometry.strides[1]),
      };
      const field = receptiveField(this.#details, gradients, pooled);
      const won = field?.winner?.row === ref.row && field?.winner?.column === ref.column;
      lines.push(h('p', {}, won
        ? `It won its ${geometry.size.join('×')} window in ${layerName(this.#details, ref.layer + 1)}, so `
          + `the pooled cell’s δ comes back to it whole: ∂L/∂a = ${formatGradient(d)}; ReLU’s `
          + `slope is 1 (z = ${formatNumber(z)} > 0), so δ = ${formatGradient(d)}.`
        : `It lost its ${geometry.size.join('×')} window in ${layerName(this.#details, ref.layer + 1)} `
          + '(another cell was larger), so nothing comes back to it: ∂L/∂a = 0 and δ = 0.'));
    } else {
      lines.push(h('p', {}, `ReLU’s slope is 1 here (z = ${formatNumber(z)} > 0), so δ = ∂L/∂a = `,
        `${formatGradient(d)}: everything the layer above sends back.`));
    }
    return h('div', { class: 'equation' }, ...lines);
  }

  #poolDelta(ref, gradients, d) {
    const field = receptiveField(this.#details, gradients, ref);
    const below = layerName(this.#details, ref.layer - 1);
    return h('div', { class: 'equation' },
      h('p', { class: 'math math-main' }, 'δ = ∂L/∂a (pooling has no g)'),
      h('p', {}, 'Only the window’s winner moved this cell, so only it gets its δ back: ',
        field?.winner ? `${below}’s map ${ref.channel + 1} at row ${field.winner.row + 1}, column `
          + `${field.winner.column + 1} gets ${formatGradient(d)}; ` : '',
        'the other cells of the window get 0.'));
  }

  /** ∂L/∂K[:, :, :, f] = Σ over the map's positions of (that position's window) × δ there. */
  #kernelGradient(ref, layer, gradients) {
    const details = this.#details;
    const inputShape = layerInputShape(details, ref.layer);
    const below = ref.layer === 0 ? gradients.input.flat() : gradients.layers[ref.layer - 1].values;
    const delta = gradients.layers[ref.layer].delta;
    const [height, width] = layer.shape;
    const kh = layer.weights.length;
    const kw = layer.weights[0].length;
    const channelsIn = inputShape[2];
    const gradient = Array.from({ length: channelsIn }, () => Array.from({ length: kh }, () => new Array(kw).fill(0)));
    let biasGradient = 0;
    for (let i = 0; i < height; i += 1) {
      for (let j = 0; j < width; j += 1) {
        const d = valueAt(delta, layer.shape, i, j, ref.channel);
        if (d === 0) continue;
        biasGradient += d;
        const window = windowOf(layer, inputShape, i, j);
        for (let di = 0; di < kh; di += 1) {
          const row = window.top + di;
          if (row < 0 || row >= inputShape[0]) continue;
          for (let dj = 0; dj < kw; dj += 1) {
            const column = window.left + dj;
            if (column < 0 || column >= inputShape[1]) continue;
            for (let c = 0; c < channelsIn; c += 1) {
              gradient[c][di][dj] += valueAt(below, inputShape, row, column, c) * d;
            }
          }
        }
      }
    }
    const eta = gradients.after_step.learning_rate;
    const largest = Math.max(...gradient.flat(2).map(Math.abs), 1e-12);
    const grids = gradient.map((rows, c) => h('div', { class: 'conv-channel', 'data-channel': c },
      channelsIn > 1 ? h('p', { class: 'conv-channel-name' }, `channel ${c + 1}`) : null,
      numberGrid(rows.map((row) => row.map((value) => ({ value, signed: true }))), 'kernel-gradient',
        '∂L/∂K', 4)));
    const canvas = h('canvas', {
      class: 'pixel-canvas kernel-image', 'data-role': 'kernel-gradient-image', role: 'img',
      'aria-label': `The gradient of filter ${ref.channel + 1}’s kernel as an image`,
    });
    const tiles = kernelTiles(kh, kw, channelsIn, (c, i, j) => -gradient[c][i][j] / largest);
    paintGrid(canvas, tiles, (v) => (v === null ? [255, 255, 255] : divergingRgb(v)));
    return h('div', { class: 'equation', 'data-field': 'kernel-gradient' },
      h('h4', {}, `∂L/∂K for filter ${ref.channel + 1}’s kernel`),
      h('p', { class: 'math math-main' }, '∂L/∂K = Σ over positions (window ⊗ δ)'),
      h('p', { class: 'math math-shapes' },
        `${height}×${width} positions, each (${kh}×${kw}×${channelsIn}) × δ → (${kh}×${kw}×${channelsIn})`),
      h('p', {}, 'One kernel made the whole map, so it learns from every position at once: each ',
        'window of the layer below, times that position’s δ, summed. Positions with δ = 0 (ReLU off, ',
        'or not the winner of their pooling window) add nothing.'),
      h('div', { class: 'conv-channels' }, ...grids),
      h('figure', { class: 'weight-figure' }, canvas, h('figcaption', {}, 'The same as an image: ',
        h('span', { class: 'pos' }, 'blue'), ' where a step raises the weight, ',
        h('span', { class: 'neg' }, 'red'), ' where it lowers it.')),
      h('p', { 'data-field': 'bias-gradient' }, `∂L/∂b = Σ δ over the map = ${formatGradient(biasGradient)}. `,
        `One step with η = ${formatNumber(eta, 2)} moves each weight by −η·∂L/∂K (at most `,
        `${formatNumber(eta * largest, 4)} in size here) and b by ${formatGradient(-eta * biasGradient)}.`));
  }
}

function formatGradient(value) {
  if (!Number.isFinite(value)) return '—';
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2).replace('-', '\u2212');
  return formatNumber(value, 4);
}
