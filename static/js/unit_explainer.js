// "Explain a unit": a unit's activation a, pre-activation z, activation function g, and the layer's
// equation z = a_prev · W + b with this network's shapes written out (notation.js: also as the
// course's W · a + b and as a batch). A first-layer unit also shows its 784 incoming weights as
// a 28×28 image: the pattern it looks for.

import { divergingRgb, paintGrid, toRows } from './colors.js';
import { closeButton, h, valueTerm } from './dom.js';
import { formatNumber, formatSigned, layerTitle, unitTag } from './format.js';
import { notationBlock } from './notation.js';
import { outputUnitName, outputUnitNote } from './output_units.js';

const FORMULAS = {
  sigmoid: 'g(z) = 1 / (1 + e^(−z)), squashes z into (0, 1)',
  softmax: 'g(z)ₖ = e^(zₖ) / Σⱼ e^(zⱼ), over all output units, so they sum to 1',
  relu: 'g(z) = max(0, z)',
  tanh: 'g(z) = tanh(z), squashes z into (−1, 1)',
  linear: 'g(z) = z',
};
const STRONGEST_INPUTS_SHOWN = 5;

export class UnitExplainer extends EventTarget {
  #body;
  #empty;
  #model = null;

  constructor(root) {
    super();
    this.#body = root.querySelector('#explainer-body');
    this.#empty = root.querySelector('#explainer-empty');
  }

  setModel(model) {
    this.#model = model;
    this.hide();
  }

  hide() {
    this.#body.replaceChildren();
    this.#body.hidden = true;
    this.#empty.hidden = false;
  }

  /** Explain unit `ref` ({layer, unit}, counted from 0) for `result` (null before any drawing). */
  show(ref, result) {
    const model = this.#model;
    const layer = model?.layers?.[ref.layer];
    if (!layer || ref.unit >= layer.units) {
      this.hide();
      return;
    }
    const count = model.layers.length;
    const layerResult = result?.layers?.[ref.layer] ?? null;
    const a = layerResult?.values?.[ref.unit];
    const z = layerResult?.preactivations?.[ref.unit];
    const inputs = layer.weights?.length ?? (ref.layer === 0 ? 784 : model.layers[ref.layer - 1].units);
    const bias = layer.biases?.[ref.unit];
    const column = layer.weights ? layer.weights.map((row) => row[ref.unit]) : null;
    const previous = ref.layer === 0 ? flatInput(result) : result?.layers?.[ref.layer - 1]?.values;
    const activation = String(layer.activation || 'linear').toLowerCase();
    const tag = unitTag(ref.layer, ref.unit, count);
    const isOutput = ref.layer === count - 1;

    const title = h('div', { class: 'explainer-title' },
      h('span', { class: 'unit-chip' }, tag),
      h('span', { class: 'explainer-name' },
        `${layerTitle(ref.layer, count)} · unit ${ref.unit + 1} of ${layer.units}`,
        isOutput ? ` — ${outputUnitName(model, ref.unit)}` : ''),
      closeButton(() => this.dispatchEvent(new CustomEvent('close'))),
    );

    const values = h('dl', { class: 'unit-values' },
      valueTerm('a', 'activation', formatNumber(a), 'a'),
      valueTerm('z', 'pre-activation', formatNumber(z), 'z'),
      valueTerm('g', 'activation function', `${activation}: ${FORMULAS[activation] ?? activation}`, 'g'),
    );

    // A convolutional network's first dense layer reads the flattened maps, not the pixels.
    const flat = model.flatInput;
    const previousName = ref.layer > 0 ? `a of Hidden layer ${ref.layer}`
      : flat ? `the ${flat.name} maps read row by row into ${inputs} numbers (${flat.shape.join('·')})`
        : 'x, the 784 input pixels';
    // The equation as Keras, the course and a batch write it, with this unit's numbers.
    const equation = notationBlock({
      model, ref, inputs, previousName, column, previous, bias, z,
    });

    const parts = [title, values, equation];
    if (isOutput) parts.push(h('p', { class: 'note' }, outputUnitNote(model, a)));
    if (ref.layer === 0 && column && !flat) {
      parts.push(weightFigures(column, previous, ref.unit));
    } else if (column && previous) {
      const nameOf = ref.layer > 0 || !flat ? (i) => unitTag(ref.layer - 1, i, count)
        : (i) => flatName(flat, i);
      parts.push(strongestInputs(column, previous, nameOf));
    }
    if (!layerResult) {
      parts.push(h('p', { class: 'hint' }, 'Draw a digit to see this unit’s a and z.'));
    }
    this.#body.replaceChildren(...parts);
    this.#body.hidden = false;
    this.#empty.hidden = true;
    this.#body.dataset.layer = String(ref.layer);
    this.#body.dataset.unit = String(ref.unit);
  }
}

function weightFigures(column, input, unitIndex) {
  const side = Math.round(Math.sqrt(column.length));
  const strongest = Math.max(...column.map(Math.abs), 1e-9);
  const weightsCanvas = h('canvas', {
    class: 'pixel-canvas', width: side, height: side, 'data-role': 'unit-weights', role: 'img',
    'aria-label': `Weights of unit ${unitIndex + 1} as a ${side} by ${side} image`,
  });
  paintGrid(weightsCanvas, toRows(column, side), (w) => divergingRgb(w / strongest));
  const figures = [h('figure', { class: 'weight-figure' },
    weightsCanvas,
    h('figcaption', {},
      `Its ${column.length} incoming weights W[:, ${unitIndex + 1}] as a ${side}×${side} image: `,
      h('span', { class: 'pos' }, 'blue'), ' raises z where there is ink, ',
      h('span', { class: 'neg' }, 'red'), ' lowers it. This is the pattern the unit looks for.'),
  )];
  if (input) {
    const pushes = column.map((w, i) => w * input[i]);
    const strongestPush = Math.max(...pushes.map(Math.abs), 1e-9);
    const total = pushes.reduce((sum, value) => sum + value, 0);
    const pushCanvas = h('canvas', {
      class: 'pixel-canvas', width: side, height: side, 'data-role': 'unit-push', role: 'img',
      'aria-label': 'Your drawing times these weights',
    });
    paintGrid(pushCanvas, toRows(pushes, side), (v) => divergingRgb(v / strongestPush));
    figures.push(h('figure', { class: 'weight-figure' },
      pushCanvas,
      h('figcaption', {}, `Your ink × these weights: where the push came from (together ${
        formatSigned(total)}).`),
    ));
  }
  return h('div', { class: 'weight-figures' }, ...figures);
}

/** "p2·5 (3, 4)": the flattened maps' number `index`, by its map and cell. */
function flatName(flat, index) {
  const [, width, channels] = flat.shape;
  const short = flat.name.replace('Pool ', 'p').replace('Conv ', 'c');
  const position = Math.floor(index / channels);
  return `${short}·${(index % channels) + 1} (${Math.floor(position / width) + 1}, ${(position % width) + 1})`;
}

function strongestInputs(column, previous, nameOf) {
  const terms = column
    .map((w, i) => ({ i, w, a: previous[i], value: w * previous[i] }))
    .sort((left, right) => Math.abs(right.value) - Math.abs(left.value))
    .slice(0, STRONGEST_INPUTS_SHOWN);
  return h('div', { class: 'strongest' },
    h('h4', {}, 'Strongest pushes on z'),
    h('ol', { class: 'push-list' }, ...terms.map((term) => h('li', {},
      h('span', { class: 'unit-chip unit-chip-small' }, nameOf(term.i)),
      h('span', { class: 'push-math' },
        `a ${formatNumber(term.a, 3)} × w ${formatSigned(term.w, 3)} = `),
      h('span', { class: term.value >= 0 ? 'pos push-value' : 'neg push-value' },
        formatSigned(term.value, 3)),
    ))),
  );
}

function flatInput(result) {
  const rows = result?.input;
  return Array.isArray(rows) ? rows.flat() : null;
}
