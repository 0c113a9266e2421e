// What a convolutional network's feature maps look like, as pictures for FeatureMapsView.paint:
// forward, every map shaded by its activations (one scale per layer, so that its maps compare);
// backward, every map by its δ (blue: a step raises that z, red: lowers it). Both mark the
// explained cell and the window of the layer below that it was computed from. Pure functions.
//
// API:
//   forwardMapPicture(details, result, selected)    → picture (see feature_maps_view.js)
//   backwardMapPicture(details, gradients, selected) → picture
//   kernelImages(details)  → per conv2d layer index, per filter: its kernel as rows in [−1, 1],
//                            one k×k tile per input channel, tiles in a grid with blank gaps
//   kernelTiles(kh, kw, channelsIn, valueOf) → such an image of any kernel-shaped numbers
//   kernelShape(weights)   → [kh, kw, channels_in, filters]
//   receptiveField(details, values, selected) → the picture's `field` for a selected cell

import { activationRgb, divergingRgb } from './colors.js';
import {
  layerInputShape, mapLayers, mapOf, valueAt, windowOf,
} from './conv_layers.js';
import { formatNumber, formatSigned } from './format.js';

export function forwardMapPicture(details, result, selected) {
  const layers = {};
  for (const index of mapLayers(details)) {
    const values = result?.layers?.[index]?.values;
    const shape = details.layers[index].shape;
    if (!values) continue;
    const largest = Math.max(...values.map(Math.abs), 1e-9);
    layers[index] = {
      colourOf: (v) => activationRgb(Math.max(0, v) / largest),
      channels: Array.from({ length: shape[2] }, (_, channel) => {
        const rows = mapOf(values, shape, channel);
        const peak = Math.max(...rows.flat());
        return { rows, text: `strongest activation ${formatNumber(peak, 3)}` };
      }),
    };
  }
  return {
    input: Array.isArray(result?.input) && result.input.length ? result.input : null,
    layers,
    selected,
    field: result ? receptiveField(details, result, selected) : null,
  };
}

export function backwardMapPicture(details, gradients, selected) {
  const layers = {};
  for (const index of mapLayers(details)) {
    const delta = gradients.layers[index]?.delta;
    const shape = details.layers[index].shape;
    if (!delta) continue;
    const largest = Math.max(...delta.map(Math.abs), 1e-12);
    layers[index] = {
      colourOf: (d) => divergingRgb(-d / largest),
      channels: Array.from({ length: shape[2] }, (_, channel) => {
        const rows = mapOf(delta, shape, channel);
        const flat = rows.flat();
        const strongest = flat.reduce((best, d) => (Math.abs(d) > Math.abs(best) ? d : best), 0);
        return { rows, text: `largest delta ${formatSigned(strongest, 4)}` };
      }),
    };
  }
  return {
    input: gradients.input,
    layers,
    selected,
    field: receptiveField(details, gradients, selected),
  };
}

/** The window of the layer below that the selected cell was computed from; for a pooled cell
 * also which of its inputs won (the first largest, row by row, as TensorFlow breaks ties). */
export function receptiveField(details, answer, selected) {
  if (!selected?.map || selected.row === undefined) return null;
  const layer = details.layers[selected.layer];
  const inputShape = layerInputShape(details, selected.layer);
  const window = windowOf(layer, inputShape, selected.row, selected.column);
  const below = selected.layer - 1;
  if (layer.kind !== 'max_pool') return { ...window, layer: below, channels: null, winner: null };
  const values = below < 0 ? answer.input?.flat() : answer.layers?.[below]?.values;
  let winner = null;
  let largest = -Infinity;
  for (let i = 0; i < window.height; i += 1) {
    for (let j = 0; j < window.width; j += 1) {
      const row = window.top + i;
      const column = window.left + j;
      if (!values || row < 0 || column < 0 || row >= inputShape[0] || column >= inputShape[1]) continue;
      const value = valueAt(values, inputShape, row, column, selected.channel);
      if (value > largest) {
        largest = value;
        winner = { row, column };
      }
    }
  }
  return { ...window, layer: below, channels: [selected.channel], winner };
}

export function kernelImages(details) {
  const images = {};
  details.layers.forEach((layer, index) => {
    if (layer.kind !== 'conv2d' || !Array.isArray(layer.weights)) return;
    const [kh, kw, channelsIn, filters] = kernelShape(layer.weights);
    images[index] = Array.from({ length: filters }, (_, filter) => {
      let largest = 1e-9;
      for (const row of layer.weights) {
        for (const cell of row) for (const weights of cell) largest = Math.max(largest, Math.abs(weights[filter]));
      }
      return kernelTiles(kh, kw, channelsIn, (c, i, j) => layer.weights[i][j][c][filter] / largest);
    });
  });
  return images;
}

/** [kh, kw, channels_in, filters] of a kernel in Keras's layout (nested lists). */
export function kernelShape(weights) {
  return [weights.length, weights[0].length, weights[0][0].length, weights[0][0][0].length];
}

/** One filter's kernel as one image: a kh×kw tile per input channel, `valueOf(c, i, j)` each
 * cell, the tiles in a grid about twice as wide as tall, with a blank (null) line between. */
export function kernelTiles(kh, kw, channelsIn, valueOf) {
  const columns = channelsIn === 1 ? 1 : Math.ceil(Math.sqrt(channelsIn * 2));
  const gridRows = Math.ceil(channelsIn / columns);
  const rows = Array.from({ length: gridRows * (kh + 1) - 1 }, () => new Array(columns * (kw + 1) - 1).fill(null));
  for (let c = 0; c < channelsIn; c += 1) {
    const top = Math.floor(c / columns) * (kh + 1);
    const left = (c % columns) * (kw + 1);
    for (let i = 0; i < kh; i += 1) {
      for (let j = 0; j < kw; j += 1) rows[top + i][left + j] = valueOf(c, i, j);
    }
  }
  return rows;
}
