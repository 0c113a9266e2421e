// "Explain a unit" for a cell of a feature map, with this drawing's real numbers:
//   conv2d    the window of the layer below it was computed from, the kernel's numbers, their
//             element-wise products channel by channel, Σ products + b = z, a = g(z); the
//             kernel as a small image
//   max_pool  its window on the conv map below, the numbers in it, and which one won
// The diagram highlights the same window (map_picture.js's receptiveField).
//
// API:
//   const explainer = new ConvExplainer(bodyElement, emptyElement)
//   explainer.setModel(details)          // GET /models/{name}, with kernels
//   explainer.show(ref, result)          // ref {map: true, layer, channel, row, column}
//   explainer.addEventListener('close', …)

import { divergingRgb, paintGrid } from './colors.js';
import {
  layerInputShape, layerName, valueAt, windowOf,
} from './conv_layers.js';
import { closeButton, h, valueTerm } from './dom.js';
import { formatNumber } from './format.js';
import { kernelImages } from './map_picture.js';

export const RELU = 'g(z) = max(0, z)';

export class ConvExplainer extends EventTarget {
  #body;
  #empty;
  #details = null;
  #kernels = {};

  constructor(body, empty) {
    super();
    this.#body = body;
    this.#empty = empty;
  }

  setModel(details) {
    this.#details = details;
    this.#kernels = kernelImages(details);
  }

  show(ref, result) {
    const details = this.#details;
    const layer = details?.layers?.[ref.layer];
    if (!layer) return;
    const name = layerName(details, ref.layer);
    const [, , channels] = layer.shape;
    const cellText = `row ${ref.row + 1}, column ${ref.column + 1}`;
    const what = layer.kind === 'conv2d' ? `filter ${ref.channel + 1} of ${channels}`
      : `map ${ref.channel + 1} of ${channels}`;
    const title = h('div', { class: 'explainer-title' },
      h('span', { class: 'unit-chip' }, mapTag(details, ref)),
      h('span', { class: 'explainer-name' }, `${name} · ${what} · ${cellText}`),
      closeButton(() => this.dispatchEvent(new CustomEvent('close'))));
    const values = result?.layers?.[ref.layer] ?? null;
    const below = ref.layer === 0 ? result?.input?.flat() : result?.layers?.[ref.layer - 1]?.values;
    const parts = [title];
    if (layer.kind === 'conv2d') {
      parts.push(...this.#convParts(ref, layer, values, below));
    } else {
      parts.push(...poolParts(details, ref, layer, values, below));
    }
    if (!values) parts.push(h('p', { class: 'hint' }, 'Draw a digit to see this cell’s numbers.'));
    parts.push(h('p', { class: 'note' }, 'Keyboard: arrow keys move between maps; Enter, then ',
      'the arrow keys, move the cell inside a map.'));
    this.#body.replaceChildren(...parts);
    this.#body.hidden = false;
    this.#empty.hidden = true;
    this.#body.dataset.layer = String(ref.layer);
    this.#body.dataset.channel = String(ref.channel);
    this.#body.dataset.cell = `${ref.row},${ref.column}`;
  }

  #convParts(ref, layer, values, below) {
    const details = this.#details;
    const shape = layer.shape;
    const inputShape = layerInputShape(details, ref.layer);
    const window = windowOf(layer, inputShape, ref.row, ref.column);
    const [kh, kw] = [window.height, window.width];
    const channelsIn = inputShape[2];
    const a = values ? valueAt(values.values, shape, ref.row, ref.column, ref.channel) : NaN;
    const z = values ? valueAt(values.preactivations ?? values.values, shape, ref.row, ref.column, ref.channel) : NaN;
    const bias = layer.biases[ref.channel];
    const activation = String(layer.activation ?? 'linear').toLowerCase();
    const belowName = ref.layer === 0 ? 'the input image' : `${layerName(details, ref.layer - 1)}’s maps`;
    const parts = [h('dl', { class: 'unit-values' },
      valueTerm('a', 'activation', formatNumber(a), 'a'),
      valueTerm('z', 'pre-activation', formatNumber(z), 'z'),
      valueTerm('g', 'activation function', `${activation}: ${activation === 'relu' ? RELU : activation}`, 'g'))];
    parts.push(h('div', { class: 'equation' },
      h('p', { class: 'math math-main' }, 'z = Σ (window ⊙ K) + b'),
      h('p', { class: 'math math-shapes', 'data-field': 'conv-shapes' },
        `(${kh}×${kw}×${channelsIn}) ⊙ (${kh}×${kw}×${channelsIn}) → ${kh * kw * channelsIn} products, `
        + 'summed, + b → 1 number'),
      h('p', {}, `The window is the ${kh}×${kw} patch of ${belowName} around this cell, over all `,
        `${channelsIn} channel${channelsIn > 1 ? 's' : ''} (outlined in the diagram). K is filter `,
        `${ref.channel + 1}’s kernel, K[:, :, :, ${ref.channel + 1}] of the layer’s `
        + `${kh}×${kw}×${channelsIn}×${shape[2]}, and the same kernel slides over every position `,
        'of the map: that sharing is what makes it a convolution.')));
    let total = 0;
    const rows = [];
    for (let c = 0; c < channelsIn; c += 1) {
      const patch = [];
      const kernel = [];
      const products = [];
      let sum = 0;
      for (let i = 0; i < kh; i += 1) {
        const patchRow = [];
        const kernelRow = [];
        const productRow = [];
        for (let j = 0; j < kw; j += 1) {
          const row = window.top + i;
          const column = window.left + j;
          const outside = row < 0 || column < 0 || row >= inputShape[0] || column >= inputShape[1];
          const x = !below ? NaN : outside ? 0 : valueAt(below, inputShape, row, column, c);
          const w = layer.weights[i][j][c][ref.channel];
          patchRow.push({ value: x, padding: outside });
          kernelRow.push({ value: w, signed: true });
          productRow.push({ value: x * w, signed: true });
          sum += x * w;
        }
        patch.push(patchRow);
        kernel.push(kernelRow);
        products.push(productRow);
      }
      total += sum;
      rows.push(h('div', { class: 'conv-channel', 'data-channel': c },
        channelsIn > 1 ? h('p', { class: 'conv-channel-name' }, `channel ${c + 1}`) : null,
        h('div', { class: 'conv-grids' },
          numberGrid(patch, 'window', 'window'), h('span', { class: 'conv-op' }, '⊙'),
          numberGrid(kernel, 'kernel', 'K'), h('span', { class: 'conv-op' }, '='),
          numberGrid(products, 'products', 'products')),
        h('p', { class: 'conv-sum' }, `Σ = ${formatNumber(sum)}`)));
    }
    parts.push(h('div', { class: 'conv-channels' }, ...rows));
    const padded = window.top < 0 || window.left < 0 || window.top + kh > inputShape[0]
      || window.left + kw > inputShape[1];
    if (padded) {
      parts.push(h('p', { class: 'note' }, '“Same” padding: where the window reaches past the ',
        'edge, the missing cells count as 0 (shown faded), so the map keeps the size of its input.'));
    }
    parts.push(h('div', { class: 'equation conv-total' },
      h('p', { class: 'math', 'data-field': 'conv-sum' },
        `Σ products = ${formatNumber(total)}, + b (${formatNumber(bias)}) = z = ${formatNumber(total + bias)}`),
      formatNumber(total + bias) !== formatNumber(z) && Number.isFinite(z)
        ? h('p', { class: 'note' }, `(The server’s z, from the kernel before it was rounded to 5 `
          + `decimals for this page, is ${formatNumber(z)}.)`) : null,
      h('p', { class: 'math', 'data-field': 'conv-activation' },
        activation === 'relu'
          ? `a = ReLU(z) = max(0, ${formatNumber(z)}) = ${formatNumber(a)}`
          : `a = ${activation}(z) = ${formatNumber(a)}`)));
    parts.push(kernelFigure(this.#kernels[ref.layer]?.[ref.channel], ref, kh, kw, channelsIn));
    return parts;
  }
}

function poolParts(details, ref, layer, values, below) {
  const inputShape = layerInputShape(details, ref.layer);
  const window = windowOf(layer, inputShape, ref.row, ref.column);
  const a = values ? valueAt(values.values, layer.shape, ref.row, ref.column, ref.channel) : NaN;
  const grid = [];
  let winner = null;
  let largest = -Infinity;
  for (let i = 0; i < window.height; i += 1) {
    const row = [];
    for (let j = 0; j < window.width; j += 1) {
      const r = window.top + i;
      const c = window.left + j;
      const inside = r >= 0 && c >= 0 && r < inputShape[0] && c < inputShape[1];
      const value = below && inside ? valueAt(below, inputShape, r, c, ref.channel) : NaN;
      if (inside && value > largest) {
        largest = value;
        winner = { i, j, r, c };
      }
      row.push({ value, padding: !inside });
    }
    grid.push(row);
  }
  if (winner) grid[winner.i][winner.j].winner = true;
  const belowName = ref.layer === 0 ? 'the input' : layerName(details, ref.layer - 1);
  const [inH, inW] = inputShape;
  const [outH, outW] = layer.shape;
  return [
    h('dl', { class: 'unit-values' },
      valueTerm('a', 'activation', formatNumber(a), 'a'),
      valueTerm('max', `of a ${window.height}×${window.width} window`,
        winner ? `${formatNumber(largest)} at row ${winner.r + 1}, column ${winner.c + 1}` : '—', 'winner')),
    h('div', { class: 'equation' },
      h('p', { class: 'math math-main' }, `a = max of the window of ${belowName}’s map ${ref.channel + 1}`),
      h('div', { class: 'conv-grids' }, numberGrid(grid, 'pool-window', 'window', 4)),
      h('p', {}, winner ? `The largest, ${formatNumber(largest)} (ringed, here and in the diagram), `
        + 'wins; the others are dropped. ' : '',
      `Pooling has no weights and works on each map alone: it keeps the strongest response in each `,
      `window and shrinks every map from ${inH}×${inW} to ${outH}×${outW}, so the next layer sees `,
      'a wider part of the digit through windows of the same size.')),
  ];
}

/** A "c1·3 (5, 12)" tag for a map cell. */
export function mapTag(details, ref) {
  const short = layerName(details, ref.layer).replace('Conv ', 'c').replace('Pool ', 'p');
  return `${short}·${ref.channel + 1} (${ref.row + 1}, ${ref.column + 1})`;
}

/** A small table of numbers: blue and red for signed ones, faded padding, a ringed winner. */
export function numberGrid(rows, role, caption, digits = 2) {
  return h('table', { class: 'number-grid', 'data-grid': role },
    h('caption', {}, caption),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => {
      const classes = [
        cell.signed ? (cell.value >= 0 ? 'pos' : 'neg') : '',
        cell.padding ? 'is-padding' : '',
        cell.winner ? 'is-winner' : '',
      ].filter(Boolean).join(' ');
      return h('td', classes ? { class: classes } : {}, formatNumber(cell.value, digits));
    })))));
}

function kernelFigure(rows, ref, kh, kw, channelsIn) {
  if (!rows) return null;
  const canvas = h('canvas', {
    class: 'pixel-canvas kernel-image', 'data-role': 'kernel-image', role: 'img',
    'aria-label': `Filter ${ref.channel + 1}’s kernel as an image: ${channelsIn} tile${
      channelsIn > 1 ? 's' : ''} of ${kh}×${kw} weights`,
  });
  paintGrid(canvas, rows, (v) => (v === null ? [255, 255, 255] : divergingRgb(v)));
  return h('figure', { class: 'weight-figure' }, canvas,
    h('figcaption', {}, `Filter ${ref.channel + 1}’s kernel${channelsIn > 1
      ? `, one ${kh}×${kw} tile per input channel` : ''}: `,
    h('span', { class: 'pos' }, 'blue'), ' weights raise z where the window is active, ',
    h('span', { class: 'neg' }, 'red'), ' ones lower it. The map above it is where this pattern ',
    'was found.'));
}
