// What the page needs to know about a network with convolutions, as pure functions of its
// GET /models/{name} details and its /predict (or /gradients) answer: which layers are drawn as
// feature maps and which as dense units, the tensor shapes from the input to the output, one
// map of a flat (height, width, channels) layer, and the window a cell of a map was computed
// from. No DOM: feature_maps_view.js draws, conv_explainer.js explains.
//
// A layer of the details has `kind` ("conv2d", "max_pool", "flatten", "dense"; none: dense, as
// the MLPs' details were before kinds) and `shape` (its output without the batch axis:
// [28, 28, 8]); its values in an answer are flat, in row-major (height, width, channels) order,
// NumPy's reshape(-1) of Keras's output for one image. So the value of row i, column j,
// channel c of an (h, w, c) layer sits at (i·w + j)·c_count + c.
//
// API:
//   INPUT_SHAPE                        [28, 28, 1]
//   isConvolutional(details)           → true when any layer is a conv2d or max_pool
//   layerKind(layer)                   → its kind, "dense" when it names none
//   mapLayers(details)                 → indices of the layers drawn as maps (conv2d, max_pool)
//   denseLayers(details)               → indices of the dense layers
//   denseView(details)                 → the details with only the dense layers (for the
//                                        dense diagram), and `flatInput`: the layer before them
//   denseAnswer(answer, details)       → a /predict or /gradients answer cut the same way: its
//                                        `input` is the flattened maps as rows of channels
//   tensorShapes(details)              → [{name, shape: [1, …]}, …] from the input to the output
//   layerName(details, index)          → "Conv 1", "Pool 2", "Flatten", "Hidden 1", "Output"
//   cellName(details, {layer, channel, row, column}) → "Conv 1 · filter 3 · row 5, column 7"
//   layerInputShape(details, index)    → the shape a layer takes ([28, 28, 1] for the first)
//   mapOf(values, shape, channel)      → channel `channel` of a flat (h, w, c) layer, as rows
//   valueAt(values, shape, row, column, channel) → one value of a flat (h, w, c) layer
//   windowOf(layer, inputShape, row, column) → {top, left, height, width}: the window of the
//                                        layer below that cell (row, column) of `layer` was
//                                        computed from, in the input's rows and columns (top or
//                                        left may be −1 where "same" padding added zeros)
//   strongestCell(values, shape, channel) → {row, column} of the channel's largest value

export const INPUT_SHAPE = [28, 28, 1];

export function layerKind(layer) {
  return layer?.kind ?? 'dense';
}

export function isConvolutional(details) {
  return Boolean(details?.layers?.some((layer) => ['conv2d', 'max_pool'].includes(layerKind(layer))));
}

export function mapLayers(details) {
  return indicesOf(details, (layer) => ['conv2d', 'max_pool'].includes(layerKind(layer)));
}

export function denseLayers(details) {
  return indicesOf(details, (layer) => layerKind(layer) === 'dense');
}

function indicesOf(details, keep) {
  return (details?.layers ?? []).flatMap((layer, index) => (keep(layer) ? [index] : []));
}

/** The details with only the dense layers, as the dense diagram and explainer take them;
 * `flatInput` says what feeds the first of them: the flattened maps. */
export function denseView(details) {
  const dense = denseLayers(details);
  // Named for the maps it flattens: the layer before the flatten.
  let before = dense[0] - 1;
  if (layerKind(details.layers[before]) === 'flatten') before -= 1;
  return {
    ...details,
    layers: dense.map((index) => details.layers[index]),
    flatInput: {
      index: before,
      name: layerName(details, before),
      shape: layerInputShape(details, dense[0]),
    },
  };
}

/** A /predict or /gradients answer cut like `denseView`: its layers are the dense ones, its
 * `input` the flattened maps as rows of channels (one row per position), and for /gradients its
 * `input_gradient` is ∂L/∂ of those same numbers. */
export function denseAnswer(answer, details) {
  if (!answer || !Array.isArray(answer.layers)) return answer;
  const dense = denseLayers(details);
  const before = answer.layers[dense[0] - 1];
  const shape = layerInputShape(details, dense[0]);
  const width = shape.length === 3 ? shape[2] : shape.at(-1);
  const rows = (values) => (Array.isArray(values) ? chunk(values, width) : null);
  const cut = {
    ...answer,
    layers: dense.map((index) => answer.layers[index]),
    input: rows(before?.values),
  };
  if ('input_gradient' in answer) cut.input_gradient = rows(before?.delta) ?? answer.input_gradient;
  return cut;
}

function chunk(values, width) {
  const rows = [];
  for (let start = 0; start < values.length; start += width) rows.push(values.slice(start, start + width));
  return rows;
}

/** The shape layer `index` takes: the input's for the first, else the layer before's output. */
export function layerInputShape(details, index) {
  if (index <= 0) return INPUT_SHAPE;
  return layerShape(details.layers[index - 1]);
}

function layerShape(layer) {
  if (Array.isArray(layer.shape)) return layer.shape;
  return [layer.units];
}

/** Every tensor from the input to the output, with its batch axis: (1, 28, 28, 1) → … → (1, 10). */
export function tensorShapes(details) {
  // A dense network takes the 784 pixels as one flat row; a convolution takes the 28×28 image.
  return [
    { name: 'Input', shape: [1, ...(isConvolutional(details) ? INPUT_SHAPE : [784])] },
    ...details.layers.map((layer, index) => ({
      name: layerName(details, index), shape: [1, ...layerShape(layer)],
    })),
  ];
}

/** "Conv 1", "Pool 1", "Flatten", "Hidden 1", "Output": counted per kind, from 1. */
export function layerName(details, index) {
  const layers = details.layers;
  if (index < 0) return 'Input';
  if (index === layers.length - 1) return 'Output';
  const kind = layerKind(layers[index]);
  const names = { conv2d: 'Conv', max_pool: 'Pool', flatten: 'Flatten', dense: 'Hidden' };
  if (kind === 'flatten') return 'Flatten';
  const count = layers.slice(0, index + 1).filter((layer) => layerKind(layer) === kind).length;
  return `${names[kind] ?? kind} ${count}`;
}

/** A map cell in words, counted from 1 as the feature maps and their explainer count. */
export function cellName(details, { layer, channel, row, column }) {
  const kind = layerKind(details.layers[layer]) === 'conv2d' ? 'filter' : 'map';
  return `${layerName(details, layer)} · ${kind} ${channel + 1} · row ${row + 1}, column ${column + 1}`;
}

export function valueAt(values, shape, row, column, channel) {
  const [, width, channels] = shape;
  return values[(row * width + column) * channels + channel];
}

export function mapOf(values, shape, channel) {
  const [height, width, channels] = shape;
  const rows = [];
  for (let i = 0; i < height; i += 1) {
    const row = new Array(width);
    for (let j = 0; j < width; j += 1) row[j] = values[(i * width + j) * channels + channel];
    rows.push(row);
  }
  return rows;
}

export function strongestCell(values, shape, channel) {
  const [height, width] = shape;
  let best = { row: 0, column: 0 };
  let largest = -Infinity;
  for (let i = 0; i < height; i += 1) {
    for (let j = 0; j < width; j += 1) {
      const value = valueAt(values, shape, i, j, channel);
      if (value > largest) {
        largest = value;
        best = { row: i, column: j };
      }
    }
  }
  return best;
}

/** The window size, strides and "same" padding (top, left) of a conv2d or max_pool layer. */
export function windowGeometry(layer, inputShape) {
  const size = layerKind(layer) === 'conv2d'
    ? [layer.weights.length, layer.weights[0].length]
    : (layer.pool_size ?? [2, 2]);
  const strides = layer.strides ?? (layerKind(layer) === 'conv2d' ? [1, 1] : size);
  const pads = [0, 1].map((axis) => {
    if (layer.padding !== 'same') return 0;
    // Keras's "same": ceil(n / s) windows and just enough zeros, the odd one after.
    const n = inputShape[axis];
    const total = Math.max((Math.ceil(n / strides[axis]) - 1) * strides[axis] + size[axis] - n, 0);
    return Math.floor(total / 2);
  });
  return { size, strides, pads };
}

export function windowOf(layer, inputShape, row, column) {
  const { size, strides, pads } = windowGeometry(layer, inputShape);
  return {
    top: row * strides[0] - pads[0],
    left: column * strides[1] - pads[1],
    height: size[0],
    width: size[1],
  };
}
