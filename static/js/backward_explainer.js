// The backward maths for the unit or the connection being explained, with this network's real
// shapes and the numbers of one /gradients answer, written under the forward explanation:
//   output:  δ₃ = a₃ − y                                  (1×1)
//   hidden:  δ₂ = (δ₃ · W₃ᵀ) ⊙ a₂(1 − a₂)   (1×1)·(1×15) ⊙ (1×15) → (1×15)
//   weights: ∂L/∂W₂ = a₁ᵀ · δ₂               (25×1)·(1×15) → (25×15)
// A saturated sigmoid unit (slope a(1 − a) < 0.01) says why its δ is tiny however wrong the
// answer: the vanishing gradient. A connection shows ∂L/∂w = a_prev · δ and where one step
// would move that weight.
//
// API:
//   const maths = new BackwardExplainer(rootElement);
//   maths.setModel(model)                          // GET /models/{name}, with weights
//   maths.show({unit, connection}, gradients)       // unit {layer, unit} and/or connection
//                                                   // {into, source, target} (source −1: the
//                                                   // whole image; into 0: pixel source)
//   maths.hide()
//   maths.addEventListener('connectionpick', (e) => e.detail.connection)  // from its buttons

import { h, valueTerm } from './dom.js';
import { formatNumber, shape, unitTag } from './format.js';
import { outputLossName, outputTarget } from './output_units.js';
import { SATURATION_SLOPE, connectionName, isSaturated } from './backward_picture.js';

const STRONGEST_SHOWN = 5;
const SUBSCRIPTS = '₀₁₂₃₄₅₆₇₈₉';
const SUPERSCRIPTS = '⁰¹²³⁴⁵⁶⁷⁸⁹';

export class BackwardExplainer extends EventTarget {
  #root;
  #model = null;

  constructor(root) {
    super();
    this.#root = root;
    this.hide();
  }

  setModel(model) {
    this.#model = model;
    this.hide();
  }

  hide() {
    this.#root.replaceChildren();
    this.#root.hidden = true;
  }

  show({ unit = null, connection = null }, gradients) {
    const model = this.#model;
    if (!model || !gradients || (!unit && !connection)) {
      this.hide();
      return;
    }
    const parts = [];
    if (unit && gradients.layers[unit.layer]?.delta?.[unit.unit] !== undefined) {
      parts.push(...this.#unitParts(unit, gradients));
    }
    if (connection) parts.push(this.#connectionPart(connection, gradients));
    this.#root.replaceChildren(...parts);
    this.#root.hidden = parts.length === 0;
  }

  #unitParts(ref, gradients) {
    const model = this.#model;
    const count = model.layers.length;
    const layer = gradients.layers[ref.layer];
    const delta = layer.delta[ref.unit];
    const n = ref.layer + 1; // δ₁ belongs to the first dense layer; a₀ is the input x
    const inputs = ref.layer === 0 ? (model.layers[0].weights?.length ?? 784) : gradients.layers[ref.layer - 1].units;
    const parts = [h('h4', { class: 'backward-title' },
      `Backward pass: how “${gradients.target}” would change ${unitTag(ref.layer, ref.unit, count)}`)];
    parts.push(h('dl', { class: 'unit-values' },
      valueTerm('δ', '= ∂L/∂z of this unit', formatSmall(delta), 'delta'),
      valueTerm('L', `loss for “${gradients.target}”`, formatNumber(gradients.loss), 'loss'),
    ));
    if (ref.layer === count - 1) {
      parts.push(this.#outputDelta(ref, gradients, n));
    } else {
      parts.push(this.#hiddenDelta(ref, gradients, n));
    }
    const biases = model.layers[ref.layer]?.biases;
    const eta = gradients.after_step.learning_rate;
    parts.push(h('div', { class: 'equation' },
      h('p', { class: 'math math-main' }, `∂L/∂W${sub(n)} = a${sub(n - 1)}ᵀ · δ${sub(n)}`),
      h('p', { class: 'math math-shapes', 'data-field': 'weight-shapes' },
        `${shape(inputs, 1)}\u00b7${shape(1, layer.units)} → ${shape(inputs, layer.units)}`),
      h('p', {}, `This unit’s column of it is a${sub(n - 1)}ᵀ × ${formatSmall(delta)}, and `,
        `∂L/∂b = δ. One step with η = ${formatNumber(eta, 2)} moves b by −η·δ = `,
        `${formatSmall(-eta * delta)}`, Number.isFinite(biases?.[ref.unit])
          ? `: from ${formatNumber(biases[ref.unit])} to ${formatNumber(biases[ref.unit] - eta * delta)}.`
          : '.'),
    ));
    parts.push(this.#strongestGradients(ref, gradients));
    return parts;
  }

  #outputDelta(ref, gradients, n) {
    const model = this.#model;
    const layer = gradients.layers[ref.layer];
    const a = layer.values[ref.unit];
    const y = outputTarget(model, gradients.target, ref.unit);
    const loss = outputLossName(model);
    return h('div', { class: 'equation' },
      h('p', { class: 'math math-main' }, `δ${sub(n)} = a${sub(n)} − y`),
      h('p', { class: 'math math-shapes', 'data-field': 'delta-shapes' },
        `${shape(1, layer.units)} − ${shape(1, layer.units)} → ${shape(1, layer.units)}`),
      h('p', {}, `For this unit: δ = ${formatNumber(a)} − ${y} = ${formatSmall(a - y)}.`),
      h('p', { class: 'note' }, `With a ${layer.activation} output and ${loss} (computed from z, `,
        'so a confident mistake costs a large but finite loss), the chain rule through g and the ',
        `loss collapses to a − y; y is ${y} here because the target is “${gradients.target}”.`),
    );
  }

  #hiddenDelta(ref, gradients, n) {
    const model = this.#model;
    const layer = gradients.layers[ref.layer];
    const next = gradients.layers[ref.layer + 1];
    const a = layer.values[ref.unit];
    const z = layer.preactivations[ref.unit];
    const { formula, slope, numbers } = slopeOf(layer.activation, a, z, n);
    const row = model.layers[ref.layer + 1]?.weights?.[ref.unit];
    const pulled = row ? next.delta.reduce((sum, d, k) => sum + d * row[k], 0) : null;
    const parts = [
      h('p', { class: 'math math-main' },
        `δ${sub(n)} = (δ${sub(n + 1)} · W${sub(n + 1)}ᵀ) ⊙ ${formula}`),
      h('p', { class: 'math math-shapes', 'data-field': 'delta-shapes' },
        `${shape(1, next.units)}\u00b7${shape(next.units, layer.units)} ⊙ ${shape(1, layer.units)}`,
        ` → ${shape(1, layer.units)}`),
      h('p', {}, pulled === null ? '' : `What comes back from the layer above: δ${sub(n + 1)} · `
        + `W${sub(n + 1)}[${ref.unit + 1}, :]ᵀ = ${formatSmall(pulled)}. `,
      `The slope ${numbers}. So δ = ${pulled === null ? '…' : formatSmall(pulled)} × `
        + `${formatSmall(slope)} = ${formatSmall(layer.delta[ref.unit])}.`),
    ];
    if (isSaturated(layer.activation, a)) {
      parts.push(h('p', { class: 'saturation-note', 'data-field': 'saturation' },
        h('strong', {}, 'Saturated. '),
        `a = ${formatNumber(a)} sits at the flat end of the sigmoid, so its slope a(1 − a) = `,
        `${formatSmall(slope)} is below ${SATURATION_SLOPE}. Whatever arrives from above is `,
        `multiplied by it, so δ stays tiny even though the loss is ${formatNumber(gradients.loss)}: `,
        'this unit hardly learns from this drawing. That is the vanishing gradient.'));
    }
    return h('div', { class: 'equation' }, ...parts);
  }

  /** The largest weight gradients into the unit, as buttons that explain one connection. */
  #strongestGradients(ref, gradients) {
    const count = this.#model.layers.length;
    const previous = ref.layer === 0 ? gradients.input.flat()
      : gradients.layers[ref.layer - 1].values;
    const delta = gradients.layers[ref.layer].delta[ref.unit];
    const terms = previous.map((a, source) => ({ source, value: a * delta }))
      .filter((term) => term.value !== 0)
      .sort((left, right) => Math.abs(right.value) - Math.abs(left.value))
      .slice(0, STRONGEST_SHOWN);
    const list = h('ol', { class: 'push-list' });
    for (const term of terms) {
      const connection = { into: ref.layer, source: term.source, target: ref.unit };
      const from = ref.layer === 0 ? inputName(this.#model, term.source)
        : unitTag(ref.layer - 1, term.source, count);
      const button = h('button', { type: 'button', class: 'link-button', 'data-source': term.source },
        `${from}: ∂L/∂w = ${formatSmall(term.value)}`);
      button.addEventListener('click', () => this.dispatchEvent(
        new CustomEvent('connectionpick', { detail: { connection } }),
      ));
      list.append(h('li', {}, button));
    }
    return h('div', { class: 'strongest' },
      h('h4', {}, 'Largest weight gradients into this unit'),
      terms.length ? list : h('p', { class: 'hint' }, 'All of them are 0 for this drawing.'));
  }

  #connectionPart({ into, source, target }, gradients) {
    const model = this.#model;
    const delta = gradients.layers[into].delta[target];
    const eta = gradients.after_step.learning_rate;
    const part = h('div', { class: 'connection-detail', 'data-field': 'connection' });
    if (source < 0) {
      part.append(
        h('h4', {}, `Weights ${connectionName(model, into, source, target)}`),
        model.flatInput ? h('p', {}, `Each weight from the flattened ${model.flatInput.name} maps into `,
          `this unit has ∂L/∂w = x · δ, with δ = ${formatSmall(delta)}. Where a map is 0 (ReLU `,
          `off), x = 0 gives 0; the others move all ${delta > 0 ? 'down' : 'up'}, by up to η·x·|δ| `,
          `(η = ${formatNumber(eta, 2)}).`)
          : h('p', {}, `Each of the 784 weights from a pixel into this unit has ∂L/∂w = x · δ, with `,
          `δ = ${formatSmall(delta)}. Blank pixels (x = 0) give 0, so only the weights from `,
          `inked pixels move, all ${delta > 0 ? 'down' : 'up'}, by up to η·|δ| = `,
          `${formatSmall(eta * Math.abs(delta))} (η = ${formatNumber(eta, 2)}).`),
      );
      return part;
    }
    const a = into === 0 ? gradients.input.flat()[source] : gradients.layers[into - 1].values[source];
    const gradient = a * delta;
    const w = model.layers[into]?.weights?.[source]?.[target];
    const from = into === 0 ? inputName(model, source) : unitTag(into - 1, source, model.layers.length);
    const moved = -eta * gradient;
    const direction = moved === 0 ? 'not at all' : moved > 0 ? 'up' : 'down';
    part.append(
      h('h4', {}, `Weight ${from} → ${unitTag(into, target, model.layers.length)}`),
      h('p', { class: 'math' }, `∂L/∂w = a`, h('sub', {}, 'prev'), ` · δ = ${formatNumber(a)} × `
        + `${formatSmall(delta)} = ${formatSmall(gradient)}`),
      h('p', {}, `One step with η = ${formatNumber(eta, 2)} moves w by −η·∂L/∂w = `
        + `${formatSmall(moved)}${Number.isFinite(w) ? `: from ${formatNumber(w)} to `
        + `${formatNumber(w + moved)}` : ''}, ${direction}.`),
    );
    return part;
  }
}

function slopeOf(activation, a, z, n) {
  const name = String(activation).toLowerCase();
  if (name === 'sigmoid') {
    const slope = a * (1 - a);
    return { formula: `a${sub(n)}(1 − a${sub(n)})`, slope,
      numbers: `a(1 − a) = ${formatNumber(a)} × ${formatNumber(1 - a)} = ${formatSmall(slope)}` };
  }
  if (name === 'tanh') {
    const slope = 1 - a * a;
    return { formula: `(1 − a${sub(n)}²)`, slope,
      numbers: `1 − a² = 1 − ${formatNumber(a)}² = ${formatSmall(slope)}` };
  }
  if (name === 'relu') {
    const slope = z > 0 ? 1 : 0;
    return { formula: `[z${sub(n)} > 0]`, slope,
      numbers: `is 1 where z > 0 and 0 elsewhere; z = ${formatNumber(z)}, so ${slope}` };
  }
  return { formula: '1', slope: 1, numbers: 'of a linear unit is 1' };
}

/** What feeds the first dense layer, by name: a pixel, or a cell of a flattened map. */
function inputName(model, index) {
  const flat = model.flatInput;
  if (!flat) return pixelName(index);
  const [, width, channels] = flat.shape;
  const position = Math.floor(index / channels);
  return `${flat.name} map ${(index % channels) + 1} (${Math.floor(position / width) + 1}, ${
    (position % width) + 1})`;
}

function pixelName(index) {
  return `pixel (${Math.floor(index / 28) + 1}, ${(index % 28) + 1})`;
}

function sub(number) {
  return String(number).split('').map((digit) => SUBSCRIPTS[Number(digit)]).join('');
}

/** Small gradients in scientific notation, so they never read as 0.0000. */
function formatSmall(value) {
  if (!Number.isFinite(value)) return '—';
  if (value !== 0 && Math.abs(value) < 1e-3) {
    const [mantissa, exponent] = value.toExponential(2).split('e');
    const power = Number(exponent);
    return `${mantissa.replace('-', '\u2212')}×10${power < 0 ? '⁻' : ''}${String(Math.abs(power))
      .split('').map((digit) => SUPERSCRIPTS[Number(digit)]).join('')}`;
  }
  return formatNumber(value, 4);
}
