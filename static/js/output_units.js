// How a model's output units stand for its classes. A two-class model may have one sigmoid unit
// whose activation is p(classes[1]), with p(classes[0]) = 1 − it; every other model has one
// output unit per class. This module is the only place that knows about that special case:
// the diagram, the explainer and the answer panel ask it.
//
// API (model = {classes: string[], layers: [{units, activation}, …]}, as GET /models/{name}):
//   classSignal(model, label)          → {unit, sign}: the unit that carries `label`, and +1 if a
//                                         high activation means it, −1 if a low one does
//   predictedOutputUnit(model, label)  → the output unit to mark as the answer, or −1
//   outputUnitName(model, index)       → 'p(“1”)' or '“7”'
//   outputUnitLabel(model, index, a)   → {name, value, stacked}: the diagram's label beside it
//   describeOutputLayer(model)         → one sentence on how the output becomes the bars
//   outputUnitNote(model, a)           → what the explainer adds for an output unit
//   outputTarget(model, label, index)  → y: what output unit `index` should read (0 or 1) when
//                                         the answer should be `label`
//   outputLossName(model)              → 'binary cross-entropy' or 'categorical cross-entropy'

import { formatNumber, formatPercent } from './format.js';

function outputLayer(model) {
  return model.layers[model.layers.length - 1];
}

/** True when two classes share one sigmoid unit: a = p(classes[1]). */
function sharesOneUnit(model) {
  return outputLayer(model)?.units === 1 && model.classes.length === 2;
}

/** The output unit that stands for class `label` and the sign of its "yes" (null if none). */
export function classSignal(model, label) {
  const index = model.classes.indexOf(String(label));
  if (index < 0) return null;
  if (sharesOneUnit(model)) return { unit: 0, sign: index === 1 ? 1 : -1 };
  return outputLayer(model)?.units === model.classes.length ? { unit: index, sign: 1 } : null;
}

/** The output unit that lights up for the answer `label` (−1: none, e.g. p("1") low for a 0). */
export function predictedOutputUnit(model, label) {
  const signal = classSignal(model, label);
  return signal && signal.sign > 0 ? signal.unit : -1;
}

/** Name of output unit `index` in text: p(“1”) for a shared unit, else the quoted class. */
export function outputUnitName(model, index) {
  if (sharesOneUnit(model)) return `p(“${model.classes[1]}”)`;
  return `“${model.classes[index] ?? index}”`;
}

/**
 * The label the diagram writes beside output unit `index` whose activation is `value` (undefined
 * before any drawing): a shared unit reads "p(“1”)" over "= 0.998" (stacked), a unit per class
 * reads "7 12.3%" on one line.
 */
export function outputUnitLabel(model, index, value) {
  const known = Number.isFinite(value);
  if (sharesOneUnit(model)) {
    return {
      name: outputUnitName(model, index),
      value: known ? `= ${formatNumber(value, 3)}` : '',
      stacked: known,
    };
  }
  return {
    name: String(model.classes[index] ?? index),
    value: known ? formatPercent(value) : '',
    stacked: false,
  };
}

/** One sentence on how the output layer turns into the bars, for this model. */
export function describeOutputLayer(model) {
  const output = outputLayer(model);
  if (!output) return '';
  const [first, second] = model.classes;
  if (sharesOneUnit(model)) {
    return `The output layer is one ${output.activation} unit: it gives p(“${second}”), and `
      + `p(“${first}”) = 1 − p(“${second}”).`;
  }
  return `The output layer has ${output.units} ${output.activation} units, one per class; `
    + 'the bars add up to 100%.';
}

/** What an output unit's activation `a` means, for the explainer. */
export function outputUnitNote(model, a) {
  const output = outputLayer(model);
  const activation = String(output.activation || 'linear').toLowerCase();
  if (sharesOneUnit(model)) {
    const [first, second] = model.classes;
    const rest = Number.isFinite(a) ? ` = ${formatNumber(1 - a)}` : '';
    return `With two classes one ${activation} unit is enough: a is p(“${second}”) and `
      + `p(“${first}”) = 1 − a${rest}.`;
  }
  return `Each output unit stands for one class. ${activation === 'softmax' ? 'Softmax' : 'g'} `
    + `turns the ${output.units} z values into probabilities that sum to 1, so a unit’s a `
    + 'depends on all of them.';
}

/** y for output unit `index` when the answer should be `label`: 1 if it should be high, else 0. */
export function outputTarget(model, label, index) {
  const signal = classSignal(model, label);
  return signal?.unit === index && signal.sign > 0 ? 1 : 0;
}

/** The loss Keras trains this output with: binary for a shared sigmoid unit, else categorical. */
export function outputLossName(model) {
  return sharesOneUnit(model) ? 'binary cross-entropy' : 'categorical cross-entropy';
}
