// What the forward pass looks like on the network diagram, as a picture for DiagramView.paint:
// units shaded by their activation a, lines for a_prev · W (blue raises z, red lowers it), the
// path that carried the answer, the 28×28 input, and under it the explained first-layer unit's
// 784 weights. A pure function: the view draws whatever picture it is given, so another one
// (e.g. the backward pass: units by δ, lines by gradient) can be painted the same way.
//
// API: forwardPicture(model, result, selected) → picture (see diagram_view.js for its fields)
//   model: GET /models/{name}; result: a /predict answer or null; selected: {layer, unit} or null.

import { activationRgb, rgbString, toRows } from './colors.js';
import { answerPath, forwardConnections } from './diagram_connections.js';
import { formatNumber, unitTag } from './format.js';
import { outputUnitLabel, predictedOutputUnit } from './output_units.js';

/** The picture of `model` answering `result` (null: no drawing yet), with `selected` explained. */
export function forwardPicture(model, result, selected) {
  const count = model.layers.length;
  const outputValues = result?.layers?.[count - 1]?.values;
  const path = result ? answerPath(model, result) : model.layers.map(() => new Set());
  return {
    units: model.layers.map((layer, index) => unitShades(layer, result?.layers?.[index]?.values)),
    path,
    predicted: result ? predictedOutputUnit(model, result.label) : -1,
    outputLabels: Array.from(
      { length: model.layers[count - 1].units },
      (_, index) => outputUnitLabel(model, index, outputValues?.[index]),
    ),
    connectionLayers: forwardConnections(model, result, path, selected),
    input: Array.isArray(result?.input) && result.input.length ? result.input : null,
    under: firstLayerWeights(model, selected),
    selected,
  };
}

function unitShades(layer, values) {
  const levels = values ? activationLevels(values, layer.activation) : null;
  return Array.from({ length: layer.units }, (_, index) => ({
    fill: rgbString(activationRgb(levels ? levels[index] : 0)),
    text: values ? `activation ${formatNumber(values[index], 3)}` : 'no input yet',
  }));
}

/** Activations mapped to [0, 1] for shading: probabilities as they are, others by the layer max. */
function activationLevels(values, activation) {
  const name = String(activation || '').toLowerCase();
  if (name === 'sigmoid' || name === 'softmax') {
    return values.map((value) => Math.min(1, Math.max(0, value)));
  }
  if (name === 'tanh') return values.map((value) => (Math.max(-1, Math.min(1, value)) + 1) / 2);
  const largest = Math.max(...values.map(Math.abs), 1e-9);
  return values.map((value) => Math.max(0, value) / largest);
}

/** The explained first-layer unit's weights as a signed image in [−1, 1], with its caption. */
function firstLayerWeights(model, selected) {
  const weights = model.layers[0]?.weights;
  if (selected?.layer !== 0 || !weights) {
    return { rows: null, caption: ['weights of a', 'Hidden 1 unit'] };
  }
  const column = weights.map((row) => row[selected.unit]);
  const strongest = Math.max(...column.map(Math.abs), 1e-9);
  const side = Math.round(Math.sqrt(column.length));
  return {
    rows: toRows(column.map((w) => w / strongest), side),
    caption: ['weights into', unitTag(0, selected.unit, model.layers.length)],
  };
}
