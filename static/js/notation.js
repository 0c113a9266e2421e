// One dense unit's equation in the three ways a learner meets it, with the same real numbers:
//   Keras   z = a_prev · W + b   a_prev a row (1×n), W inputs × units (n×m): unit j is column j
//   course  z = W · a_prev + b   a_prev a column (n×1), W units × inputs (m×n), Keras's W
//                                transposed: unit j is row j
//   batch   Z = A · W + b        A has one row per drawing (m×n), b added to every row
//                                (broadcasting): m drawings in one matrix product
// and beside it the tensor shapes of the whole network in that notation, where the batch axis
// is the 1 (one drawing) or the m. A switch picks the notation; the choice stays while the page
// is open (every unit is explained in it), and all three are built so that switching keeps the
// keyboard where it is.
//
// API:
//   notationBlock({model, ref, inputs, previousName, column, previous, bias, z}) → element
//     model: GET /models/{name}; ref: {layer, unit}; inputs: n; previousName: what a_prev is;
//     column: the unit's n incoming weights or null; previous: a_prev's n values or null;
//     bias: b_j or undefined; z: the unit's z or undefined

import { h } from './dom.js';
import { formatNumber, shape } from './format.js';

const NOTATIONS = [
  { id: 'keras', title: 'Keras', formula: 'a·W + b' },
  { id: 'course', title: 'Course', formula: 'W·a + b' },
  { id: 'batch', title: 'Batch', formula: 'A·W + b' },
];
const TERMS_SHOWN = 2;

let chosen = 'keras'; // the notation picked last, for every unit explained after it

export function notationBlock(unit) {
  const forms = Object.fromEntries(NOTATIONS.map(({ id }) => [id, FORMS[id](unit)]));
  const switcher = h('fieldset', { class: 'notation-switch' },
    h('legend', {}, 'Write it as'),
    ...NOTATIONS.map(({ id, title, formula }) => {
      const radio = h('input', {
        type: 'radio', name: 'notation', value: id, id: `notation-${id}`,
      });
      radio.checked = id === chosen;
      radio.addEventListener('change', () => {
        chosen = id;
        for (const [name, form] of Object.entries(forms)) form.hidden = name !== id;
      });
      return h('label', { class: 'notation-option', for: radio.id }, radio,
        h('span', {}, `${title} `, h('span', { class: 'math' }, formula)));
    }));
  for (const [name, form] of Object.entries(forms)) form.hidden = name !== chosen;
  return h('div', { class: 'equation notation' },
    switcher, ...Object.values(forms),
    h('p', { class: 'note notation-why' },
      'Why three layouts: Keras stacks drawings as the rows of a batch, so one drawing is a row and ',
      'W is inputs × units; the course writes one drawing as a column, so its W is units × inputs, ',
      'the same matrix transposed. (W·a)ᵀ = aᵀ·Wᵀ: every form multiplies the same weight by the ',
      'same activation and adds the same bias, so z is the same number.'));
}

const FORMS = {
  keras({ ref, inputs, model, ...unit }) {
    const j = ref.unit + 1;
    const units = model.layers[ref.layer].units;
    return form('keras', [
      h('p', { class: 'math math-main' }, 'z = a', h('sub', {}, 'prev'), ' · W + b'),
      h('p', { class: 'math math-shapes', 'data-field': 'shapes' },
        `${shape(1, inputs)}\u00b7${shape(inputs, units)} + ${shape(1, units)} → ${shape(1, units)}`),
      h('p', {}, 'Here a', h('sub', {}, 'prev'), ` is ${unit.previousName}, a row. `,
        `This unit is column ${j} of W: z = a`, h('sub', {}, 'prev'), ` · W[:, ${j}] + b[${j}]`,
        ...termsText(unit, (i) => [`a[${i}]`, `W[${i}, ${j}]`]), '.'),
      h('p', { class: 'note' },
        `Keras stores W as inputs × units (${inputs}×${units}) and multiplies the row vector `,
        'a', h('sub', {}, 'prev'), ' from the left, so each unit owns one column of W.'),
      tensorShapes(model, ref.layer, (n) => `(1, ${n})`,
        'The 1 is the batch axis: how many drawings go through at once. The page sends one.'),
    ]);
  },

  course({ ref, inputs, model, ...unit }) {
    const j = ref.unit + 1;
    const units = model.layers[ref.layer].units;
    return form('course', [
      h('p', { class: 'math math-main' }, 'z = W · a', h('sub', {}, 'prev'), ' + b'),
      h('p', { class: 'math math-shapes', 'data-field': 'shapes' },
        `${shape(units, inputs)}\u00b7${shape(inputs, 1)} + ${shape(units, 1)} → ${shape(units, 1)}`),
      h('p', {}, 'Here a', h('sub', {}, 'prev'), ` is ${unit.previousName}, a column. `,
        `This unit is row ${j} of W: z = W[${j}, :] · a`, h('sub', {}, 'prev'), ` + b[${j}]`,
        ...termsText(unit, (i) => [`W[${j}, ${i}]`, `a[${i}]`], true), '.'),
      h('p', { class: 'note' },
        `The course's W is units × inputs (${units}×${inputs}): Keras's W transposed, `,
        `W = W`, h('sub', {}, 'Keras'), 'ᵀ. Each unit owns one row; W[j, i] here is Keras’s W[i, j].'),
      tensorShapes(model, ref.layer, (n) => `(${n}, 1)`,
        'Columns: one drawing is one column, so the 1 is the second axis here.'),
    ]);
  },

  batch({ ref, inputs, model, ...unit }) {
    const j = ref.unit + 1;
    const units = model.layers[ref.layer].units;
    return form('batch', [
      h('p', { class: 'math math-main' }, 'Z = A · W + b'),
      h('p', { class: 'math math-shapes', 'data-field': 'shapes' },
        `${shape('m', inputs)}\u00b7${shape(inputs, units)} + ${shape(1, units)} → ${shape('m', units)}`),
      h('p', {}, `A holds m drawings, one per row (${unit.previousName} is one of those rows). `,
        `b, one row of ${units}, is added to every row of A·W: broadcasting. This drawing is `,
        `row 1 of a batch of m = 1, so Z[1, ${j}] = A[1, :] · W[:, ${j}] + b[${j}]`,
        ...termsText(unit, (i) => [`A[1, ${i}]`, `W[${i}, ${j}]`]), '.'),
      h('p', { class: 'note' },
        'Vectorisation: one matrix product computes every unit for every drawing, with no loop ',
        'over drawings. It is what Keras’s Dense layer runs, in training and in model.predict; ',
        'the page’s one drawing is the case m = 1.'),
      tensorShapes(model, ref.layer, (n) => `(m, ${n})`,
        'm drawings at once: the batch axis grows, W and b stay the same.'),
    ]);
  },
};

function form(id, children) {
  return h('div', { class: 'notation-form', 'data-form': id }, ...children);
}

/** " = … + a[301]·W[301, 4] (0.98×0.41) + … + b = 1.23 + (−0.40) = 0.83", as text and the final z
 * (data-field notation-z): the strongest terms of the sum in this form's indices, then the sum and
 * the bias; nothing before a drawing. */
function termsText({ column, previous, bias, z }, names, weightFirst = false) {
  if (!column || !previous || !Number.isFinite(z) || !Number.isFinite(bias)) return [];
  const strongest = column
    .map((w, i) => ({ i, w, a: previous[i], product: w * previous[i] }))
    .sort((left, right) => Math.abs(right.product) - Math.abs(left.product))
    .slice(0, TERMS_SHOWN)
    .sort((left, right) => left.i - right.i);
  const terms = strongest.map(({ i, w, a }) => {
    const [first, second] = names(i + 1);
    const values = weightFirst ? `${signed(w)}×${formatNumber(a, 3)}` : `${formatNumber(a, 3)}×${signed(w)}`;
    return `${first}·${second} (${values})`;
  });
  return [` = … + ${terms.join(' + … + ')} + … + b = ${formatNumber(z - bias)} + (${
    formatNumber(bias)}) = `, h('span', { 'data-field': 'notation-z' }, formatNumber(z))];
}

function signed(value) {
  const text = formatNumber(value, 3);
  return value < 0 ? `(${text})` : text;
}

/** The dense layers' tensor shapes in this notation, the explained layer's marked. */
function tensorShapes(model, explained, shapeOf, note) {
  const inputs = model.layers[0]?.weights?.length ?? 784;
  // A convolutional network's dense layers start from its maps, flattened (conv_layers.js).
  const first = model.flatInput ? `${model.flatInput.name}, flat` : 'input';
  const names = [first, ...model.layers.map((_, index) =>
    (index === model.layers.length - 1 ? 'output' : `hidden ${index + 1}`))];
  const sizes = [inputs, ...model.layers.map((layer) => layer.units)];
  const items = sizes.map((size, index) => h('li',
    index === explained + 1 ? { class: 'is-explained', 'aria-current': 'true' } : {},
    h('code', {}, shapeOf(size)), h('span', { class: 'tensor-name' }, names[index])));
  return h('div', { class: 'notation-tensors' },
    h('ol', { class: 'notation-tensor-list', 'data-field': 'tensor-shapes',
      'aria-label': 'Tensor shapes from the input to the output' }, ...items),
    h('p', { class: 'caption' }, note));
}
