// Which connections the diagram draws, and which units carry the answer. Pure
// functions of the model (with weights), one /predict answer and the unit being explained; the
// view (diagram_view.js) draws whatever connection layers it is given.
//
// API:
//   answerPath(model, result)                → one Set of unit indices per layer, with `signs`
//   forwardConnections(model, result, path, ref)   → [{into, connections: [{source, target, value, onPath}]}]
//   visibleConnections(terms, ref, into, most)     → which of a layer's candidate lines to draw (the
//                                              backward picture chooses its lines the same way)
// An connection layer `into` = k holds lines into dense layer k; into 0 comes from the input image
// (source −1): 784 × N lines would be noise, so each hidden-1 unit gets one line for the image's
// whole push on it, z − b = Σ x·W. Between dense layers, one line per a_prev_i · W[i, j].

import { classSignal } from './output_units.js';

const MAX_CONNECTIONS_PER_LAYER = 140;
// How many units per hidden layer are marked as carrying the answer.
const PATH_UNITS_PER_LAYER = 4;
const SELECTED_UNIT_CONNECTIONS = 40;
// Lines weaker than this share of the layer's strongest one are noise at this size.
const MIN_CONNECTION_SHARE = 0.04;

/**
 * The units that carry the answer, layer by layer from the output back: the output unit for the
 * predicted class, then in each earlier layer the few units whose a·W pushes hardest the way the
 * answer needs. Returns one Set of unit indices per layer, and `signs`: per layer, unit → the
 * sign an incoming push must have to help (−1 where a low activation means the answer).
 */
export function answerPath(model, result) {
  const layers = model.layers;
  const count = layers.length;
  const units = layers.map(() => new Set());
  const signs = layers.map(() => new Map());
  const signal = classSignal(model, result.label);
  if (!signal) return Object.assign(units, { signs });
  signs[count - 1].set(signal.unit, signal.sign);
  units[count - 1] = new Set([signal.unit]);
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
      .slice(0, PATH_UNITS_PER_LAYER)
      .map((entry) => entry.index);
    units[layerIndex - 1] = new Set(helpers);
    // A hidden unit helps by being active, so pushes that raise its z are the helpful ones.
    signs[layerIndex - 1] = new Map(helpers.map((index) => [index, 1]));
  }
  return Object.assign(units, { signs });
}

/**
 * The lines to draw for one answer: per layer the strongest pushes, every push between units on
 * the answer's path, and the explained unit `ref`'s own strongest lines even when they are weak
 * overall. An connection is `onPath` when it joins path units and pushes the way the answer needs.
 */
export function forwardConnections(model, result, path, ref) {
  if (!result || !Array.isArray(result.layers)) return [];
  const layers = model.layers;
  const connectionLayers = [];
  const first = layers[0];
  const firstResult = result.layers[0];
  if (first?.biases && firstResult?.preactivations) {
    const pushes = firstResult.preactivations.map((z, j) => ({
      source: -1, target: j, value: z - first.biases[j],
    }));
    // One line per unit: every unit's line may be drawn, not only the strongest few.
    const connections = visibleConnections(pushes, ref, 0, Infinity);
    connectionLayers.push({ into: 0, connections: markPath(connections, 0, path) });
  }
  for (let layerIndex = 1; layerIndex < layers.length; layerIndex += 1) {
    const weights = layers[layerIndex].weights;
    const previous = result.layers[layerIndex - 1]?.values;
    if (!weights || !previous) continue;
    const pathConnections = [];
    for (const target of path[layerIndex]) {
      for (const source of path[layerIndex - 1]) {
        pathConnections.push({ source, target, value: previous[source] * weights[source][target] });
      }
    }
    const strongest = visibleConnections(contributions(previous, weights), ref, layerIndex);
    if (!strongest.length) continue;
    const connections = withoutRepeats([...strongest, ...pathConnections]);
    connectionLayers.push({ into: layerIndex, connections: markPath(connections, layerIndex, path) });
  }
  return connectionLayers;
}

/**
 * The lines worth drawing among a layer's candidate `terms` ({source, target, value}) into dense
 * layer `into`: the `most` strongest, leaving out those below MIN_CONNECTION_SHARE of the strongest,
 * and the explained unit `ref`'s own strongest SELECTED_UNIT_CONNECTIONS lines even when they are weak
 * overall. None when every value is 0.
 */
export function visibleConnections(terms, ref, into, most = MAX_CONNECTIONS_PER_LAYER) {
  const sorted = [...terms].sort((left, right) => Math.abs(right.value) - Math.abs(left.value));
  const strongest = Math.abs(sorted[0]?.value ?? 0);
  if (strongest === 0) return [];
  const touchesRef = (connection) => Boolean(ref) && (
    (ref.layer === into && connection.target === ref.unit)
    || (ref.layer === into - 1 && connection.source === ref.unit));
  return withoutRepeats([
    ...sorted.slice(0, most).filter((connection) => Math.abs(connection.value) >= strongest * MIN_CONNECTION_SHARE),
    ...sorted.filter((connection) => connection.value !== 0 && touchesRef(connection)).slice(0, SELECTED_UNIT_CONNECTIONS),
  ]);
}

/** The connections with each source → target pair once (the first one kept). */
function withoutRepeats(connections) {
  const seen = new Set();
  return connections.filter((connection) => {
    const key = `${connection.source}:${connection.target}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function markPath(connections, into, path) {
  return connections.map((connection) => ({
    ...connection,
    onPath: path[into].has(connection.target)
      && (into === 0 || path[into - 1].has(connection.source))
      && Math.sign(connection.value) === (path.signs[into].get(connection.target) ?? 0),
  }));
}

/** Every a_prev_i · W[i][j] term: one candidate line per weight. */
function contributions(previous, weights) {
  const terms = [];
  for (let i = 0; i < weights.length; i += 1) {
    for (let j = 0; j < weights[i].length; j += 1) {
      terms.push({ source: i, target: j, value: previous[i] * weights[i][j] });
    }
  }
  return terms;
}
