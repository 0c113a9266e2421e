// "As NumPy": the current model's forward pass for the current drawing as a short Python script
// that runs beside the model's download (its weights read from NAME.keras), with this network's
// real shapes in the comments and the page's answer as its check; with a Teach it answer, the
// backward pass for the chosen target too, the chain rule written out layer by layer. A copy
// button, and links to the model's download and to its notebook (GET /models/{name}/notebook),
// which goes on from here: the checks against Keras and the tape, then training from scratch.
// There is one for the whole page, moved into the open section as the network view is.
//
// API:
//   const numpy = asNumPy()                  // the page's one view
//   numpy.placeIn(slot)                      // move it into this element
//   numpy.show({ details, result, gradients })
//     details: GET /models/{name}; result: a /predict answer or null; gradients: a /gradients
//     answer (Teach it, a target chosen) or null
//   numpyScript(details, result, gradients) → the script's text (pure; what the view shows)

import { h } from './dom.js';
import { formatNumber } from './format.js';
import { outputTarget } from './output_units.js';

const LINE = 88; // the script's lines are wrapped to this many characters
const COPIED_FOR_MS = 2500;

const ACTIVATION_CODE = {
  sigmoid: ['def sigmoid(z):', '    return 1 / (1 + np.exp(-z))'],
  relu: ['def relu(z):', '    return np.maximum(z, 0)'],
  tanh: ['def tanh(z):', '    return np.tanh(z)'],
  softmax: ['def softmax(z):  # each row to probabilities that sum to 1',
    '    e = np.exp(z - z.max(axis=1, keepdims=True))',
    '    return e / e.sum(axis=1, keepdims=True)'],
  linear: ['def linear(z):', '    return z'],
};

// g'(z) of a hidden layer, from its z and a: what δ is multiplied by on the way back.
const SLOPE_CODE = {
  sigmoid: (n) => `a${n} * (1 - a${n})`,
  relu: (n) => `(z${n} > 0)`,
  tanh: (n) => `(1 - a${n} ** 2)`,
  linear: () => '1',
};

let shared = null;

/** The page's one "As NumPy" view. */
export function asNumPy() {
  shared ??= new AsNumPy();
  return shared;
}

class AsNumPy {
  #element;
  #code;
  #caption;
  #download;
  #notebook;
  #copy;
  #copied;
  #timer = null;

  constructor() {
    this.#code = h('code', { id: 'as-numpy-code' });
    this.#caption = h('p', { class: 'caption', id: 'as-numpy-caption' });
    this.#download = h('a', { class: 'button button-small', id: 'model-download', href: '#' },
      'Download the model (.zip)');
    this.#notebook = h('a', { class: 'button button-small', id: 'model-notebook', href: '#' },
      'Notebook (.ipynb)');
    this.#copy = h('button', { type: 'button', class: 'button button-small', id: 'as-numpy-copy' },
      'Copy');
    this.#copied = h('span', { class: 'caption', role: 'status', id: 'as-numpy-copied' });
    this.#copy.addEventListener('click', () => this.#copyScript());
    this.#element = h('div', { class: 'as-numpy', id: 'as-numpy' },
      h('h3', { id: 'as-numpy-heading' }, 'As NumPy'),
      this.#caption,
      h('div', { class: 'toolbar as-numpy-links' }, this.#download, this.#notebook,
        this.#copy, this.#copied),
      h('pre', {
        class: 'as-numpy-script', tabindex: '0', role: 'region', 'aria-labelledby': 'as-numpy-heading',
      }, this.#code));
  }

  placeIn(slot) {
    if (this.#element.parentNode !== slot) slot.append(this.#element);
  }

  show({ details, result, gradients = null }) {
    const name = details?.name;
    this.#element.hidden = !name;
    if (!name) return;
    const path = `/models/${encodeURIComponent(name)}`;
    this.#download.href = `${path}/download`;
    this.#download.setAttribute('download', `${name}.zip`);
    const dense = isDense(details);
    this.#notebook.hidden = !dense;
    this.#notebook.href = `${path}/notebook`;
    this.#notebook.setAttribute('download', `${name}.ipynb`);
    this.#copy.disabled = !dense;
    if (!dense) {
      this.#caption.textContent = 'This view writes out dense networks only; this model has '
        + 'other layers. Its download opens in Keras.';
      this.#code.textContent = '';
      return;
    }
    this.#caption.replaceChildren(
      gradients ? `The forward and the backward pass for “${gradients.target}”`
        : 'The forward pass',
      ` of ${name} for ${result ? 'your drawing' : 'a drawing (draw one to fill in its pixels)'}, `,
      'in plain NumPy: run it beside the unzipped download. The notebook goes on from here: it ',
      'checks every step against Keras and trains the same network from scratch.');
    this.#code.textContent = numpyScript(details, gradients ?? result, gradients);
  }

  async #copyScript() {
    const text = this.#code.textContent;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      // No clipboard (an insecure origin, or permission refused): select the script instead.
      const range = document.createRange();
      range.selectNodeContents(this.#code);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    this.#copied.textContent = copied ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => { this.#copied.textContent = ''; }, COPIED_FOR_MS);
  }
}

function isDense(details) {
  return Array.isArray(details?.layers) && details.layers.length > 0
    && details.layers.every((layer) => (layer.kind ?? 'dense') === 'dense'
      && Array.isArray(layer.weights) && Array.isArray(layer.biases));
}

/** The script for `details`' network on `result`'s input, with the backward pass of `gradients`. */
export function numpyScript(details, result, gradients = null) {
  const layers = details.layers;
  const count = layers.length;
  const inputs = layers[0].weights.length;
  const sizes = [inputs, ...layers.map((layer) => layer.units)];
  const activations = layers.map((layer) => String(layer.activation || 'linear').toLowerCase());
  const numbers = Array.from({ length: count }, (_, i) => i + 1);
  const lines = [
    `# ${details.name}: the forward pass${gradients ? ' and the backward pass' : ''} for one `
      + 'drawing, in NumPy.',
    `# Run it beside ${details.name}.keras (unzip the model's download here).`,
    'import keras',
    'import numpy as np',
    '',
    `model = keras.saving.load_model("${details.name}.keras")`,
    'dense = [layer for layer in model.layers if layer.get_weights()]',
    '# W is inputs × units, as Keras stores it; b has one number per unit.',
    ...numbers.map((n) => `W${n}, b${n} = dense[${n - 1}].get_weights()  # `
      + `(${sizes[n - 1]}, ${sizes[n]}), (${sizes[n]},)`),
    '',
    ...inputLines(result, inputs),
    '',
    ...[...new Set(activations)].flatMap((name) => [...(ACTIVATION_CODE[name]
      ?? [`def ${name}(z):`, `    raise NotImplementedError("${name}")`]), '']),
    '# The forward pass: z = a·W + b, a = g(z), layer by layer; the batch axis (1) comes first.',
    ...numbers.flatMap((n) => [
      `z${n} = ${n === 1 ? 'x' : `a${n - 1}`} @ W${n} + b${n}`.padEnd(22)
        + `# (1, ${sizes[n - 1]}) @ (${sizes[n - 1]}, ${sizes[n]}) + (${sizes[n]},) → (1, ${sizes[n]})`,
      `a${n} = ${activations[n - 1]}(z${n})`,
    ]),
    ...answerLines(details, result, count),
  ];
  if (gradients) lines.push('', ...backwardLines(details, gradients, sizes, activations));
  return `${lines.join('\n')}\n`;
}

/** x as a (1, 784) row: the drawing's inked pixels by index (5 decimals), the rest 0. */
function inputLines(result, inputs) {
  const pixels = Array.isArray(result?.input) ? result.input.flat() : null;
  const lines = ['x = np.zeros((1, 784), dtype=np.float32)  # one drawing, one row: ink 1, paper 0'
    .replace('784', String(inputs))];
  if (!pixels) {
    lines.push('# (draw a digit on the page: its pixels go here)');
    return lines;
  }
  const inked = pixels.map((value, index) => [index, Math.round(value * 1e5) / 1e5])
    .filter(([, value]) => value > 0);
  lines[0] = `${lines[0]}; ${inked.length} pixels carry ink`;
  lines.push(...wrapped('x[0, [', inked.map(([index]) => String(index)), ']] = ['));
  lines.push(...wrapped('    ', inked.map(([, value]) => String(value)), ']'));
  return lines;
}

/** `items` joined by ", " after `start`, wrapped at LINE, `end` after the last. */
function wrapped(start, items, end) {
  const lines = [];
  let line = start;
  items.forEach((item, index) => {
    const piece = index < items.length - 1 ? `${item}, ` : item;
    if (line.length + piece.trimEnd().length > LINE && line.trim() !== start.trim()) {
      lines.push(line.trimEnd());
      line = '    ';
    }
    line += piece;
  });
  lines.push(`${line}${end}`);
  return lines;
}

/** The output printed, and checked against the answer the page shows. */
function answerLines(details, result, count) {
  const output = result?.layers?.[count - 1]?.values;
  const lines = ['', `print(a${count})`];
  if (!Array.isArray(output)) return lines;
  const values = output.map((value) => round(value, 6)).join(', ');
  lines[1] = `print(a${count})  # the page: ${output.map((value) => formatNumber(value)).join(', ')}`;
  lines.push(`np.testing.assert_allclose(a${count}, [[${values}]], atol=1e-3)  # the page's answer`);
  return lines;
}

function backwardLines(details, gradients, sizes, activations) {
  const count = sizes.length - 1;
  const output = details.layers[count - 1];
  const y = Array.from({ length: output.units },
    (_, index) => outputTarget(details, gradients.target, index).toFixed(1));
  const sigmoidOutput = activations[count - 1] === 'sigmoid';
  const z = `z${count}`;
  const lines = [
    `# The backward pass for “${gradients.target}” (Teach it): the chain rule, output first.`,
    `y = np.array([[${y.join(', ')}]], dtype=np.float32)  # what the output should be: (1, ${output.units})`,
    '# The loss from z, as Keras computes it (it stays finite where a rounds to 0 or 1):',
    sigmoidOutput
      ? `loss = float(np.sum(np.maximum(${z}, 0) - ${z} * y + np.log1p(np.exp(-np.abs(${z})))))`
        + '  # binary cross-entropy'
      : `log_p = ${z} - ${z}.max() - np.log(np.sum(np.exp(${z} - ${z}.max())))  # log softmax`,
  ];
  if (!sigmoidOutput) lines.push('loss = float(-np.sum(y * log_p))  # categorical cross-entropy');
  lines.push(
    `d${count} = a${count} - y`.padEnd(34) + `# δ${count} = ∂L/∂z${count}: (1, ${sizes[count]})`,
  );
  for (let n = count; n >= 1; n -= 1) {
    const previous = n === 1 ? 'x' : `a${n - 1}`;
    lines.push(
      `dW${n} = ${previous}.T @ d${n}`.padEnd(34)
        + `# (${sizes[n - 1]}, 1) @ (1, ${sizes[n]}) → (${sizes[n - 1]}, ${sizes[n]}), like W${n}`,
      `db${n} = d${n}.sum(axis=0)`.padEnd(34) + `# (${sizes[n]},), like b${n}`,
    );
    if (n > 1) {
      const slope = (SLOPE_CODE[activations[n - 2]] ?? SLOPE_CODE.linear)(n - 1);
      lines.push(`d${n - 1} = (d${n} @ W${n}.T) * ${slope}`.padEnd(34)
        + `# (1, ${sizes[n]}) @ (${sizes[n]}, ${sizes[n - 1]}) ⊙ (1, ${sizes[n - 1]})`);
    }
  }
  lines.push(
    'dx = d1 @ W1.T'.padEnd(34) + `# (1, ${sizes[0]}): ∂L/∂x, the input gradient Teach it paints`,
    '',
    `print(loss)  # the page: ${formatNumber(gradients.loss)}`,
    `np.testing.assert_allclose(loss, ${round(gradients.loss, 6)}, rtol=1e-3, atol=1e-4)`,
    `learning_rate = ${gradients.after_step?.learning_rate ?? 0.5}`,
    '# One step of gradient descent on every W and b (Teach it\'s "Take one step"):',
    ...Array.from({ length: count }, (_, i) => `W${i + 1} -= learning_rate * dW${i + 1}; `
      + `b${i + 1} -= learning_rate * db${i + 1}`),
  );
  return lines;
}

function round(value, digits) {
  return Number(value.toFixed(digits));
}
