// What the backward pass looks like on the network diagram, as a picture for DiagramView.paint
// (see diagram_view.js for a picture's fields): each unit shaded by its δ = ∂L/∂z, each line by
// its weight's gradient ∂L/∂w = a_prev · δ, and under the input image the input gradient.
// Colours say which way one gradient-descent step would move things (−η times the gradient):
// blue, a step raises this z or weight; red, a step lowers it; paler is smaller.
//
// API:
//   backwardPicture(model, gradients, selected) → picture
//     model: GET /models/{name} (with weights); gradients: a /gradients answer;
//     selected: the unit being explained {layer, unit}, or null
//     the saturated units are `marked` in it, so the view rings them (and again after a resize)
//   isSaturated(activation, a) → true for a sigmoid unit whose slope a(1 − a) is below
//     SATURATION_SLOPE (δ through it nearly vanishes); the explainer asks the same question
//   connectionName(model, into, source, target) → "h1·3 → h2·7"
//   SATURATION_SLOPE

import { divergingRgb, rgbString, toRows } from './colors.js';
import { visibleConnections } from './diagram_connections.js';
import { formatSigned, unitTag } from './format.js';
import { outputUnitLabel } from './output_units.js';

export const SATURATION_SLOPE = 0.01;
// Lines at least this share of the largest are drawn bright, the rest faded.
const STRONG_CONNECTION_SHARE = 0.25;

export function backwardPicture(model, gradients, selected) {
  const count = model.layers.length;
  const layers = gradients.layers;
  return {
    units: layers.map((layer, layerIndex) => deltaShades(layer, layerIndex < count - 1)),
    path: layers.map(() => new Set()),
    predicted: -1,
    outputLabels: Array.from(
      { length: model.layers[count - 1].units },
      (_, index) => outputUnitLabel(model, index, layers[count - 1].values[index]),
    ),
    connectionLayers: gradientConnections(gradients, selected),
    input: gradients.input,
    under: inputGradientImage(gradients.input_gradient),
    selected,
  };
}

export function isSaturated(activation, a) {
  return String(activation).toLowerCase() === 'sigmoid' && a * (1 - a) < SATURATION_SLOPE;
}

/** Units shaded by δ; in a hidden layer the saturated ones are marked. */
function deltaShades(layer, hidden) {
  const largest = Math.max(...layer.delta.map(Math.abs), 1e-12);
  return layer.delta.map((value, unit) => {
    const marked = hidden && isSaturated(layer.activation, layer.values[unit]);
    return {
      // −δ: the way one step pushes this unit's z.
      fill: rgbString(divergingRgb(-value / largest)),
      text: `delta ${formatSigned(value, 4)}${marked ? ', saturated: its slope is almost 0' : ''}`,
      marked,
    };
  });
}

/** −∂L/∂x scaled to [−1, 1]: blue where more ink would lower the loss. */
function inputGradientImage(inputGradient) {
  const flat = inputGradient.flat();
  const largest = Math.max(...flat.map(Math.abs), 1e-12);
  return {
    rows: toRows(flat.map((g) => -g / largest), inputGradient[0].length),
    caption: ['−∂L/∂x: blue, ink', 'here helps'],
  };
}

/**
 * Lines into each dense layer, valued −∂L/∂w (the way a step moves the weight). Into the first
 * layer, 784 × N lines would be noise: each unit gets one line for all its weights from the
 * image, valued −δ_j · Σx (every inked pixel's weight moves the same way, by η·x_i·δ_j).
 */
function gradientConnections(gradients, selected) {
  const layers = gradients.layers;
  const inkTotal = gradients.input.flat().reduce((sum, x) => sum + x, 0);
  const firstLayerLefts = layers[0].delta.map((d, target) => ({ source: -1, target, value: -d * inkTotal }));
  const connectionLayers = [{ into: 0, connections: markStrong(visibleConnections(firstLayerLefts, selected, 0, Infinity)) }];
  for (let into = 1; into < layers.length; into += 1) {
    const delta = layers[into].delta;
    const terms = layers[into - 1].values.flatMap((a, source) => delta.map((d, target) => ({
      source, target, value: -a * d,
    })));
    connectionLayers.push({ into, connections: markStrong(visibleConnections(terms, selected, into)) });
  }
  return connectionLayers;
}

function markStrong(connections) {
  const largest = Math.max(...connections.map((connection) => Math.abs(connection.value)), 1e-12);
  return connections.map((connection) => ({
    ...connection, onPath: Math.abs(connection.value) >= largest * STRONG_CONNECTION_SHARE,
  }));
}

/** "h1·3 → h2·7" or "image → h1·3" for the line `connection` into layer `into`. */
export function connectionName(model, into, source, target) {
  const count = model.layers.length;
  const from = into === 0 ? 'the image' : unitTag(into - 1, source, count);
  return `${from} → ${unitTag(into, target, count)}`;
}
