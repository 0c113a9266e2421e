// "Teach it": what should this drawing be? One button per class runs the backward pass for the
// current drawing (POST /gradients) and shows the loss; "Take one step" shows the probabilities
// and the loss after one gradient-descent step with the chosen learning rate. Every step starts
// from the trained model (the server never changes it). Beside "what the network sees" it paints
// the input gradient. The diagram and the explainer draw the rest (main.js asks `gradients`).
//
// API:
//   const teach = new TeachPanel(root, figure, { readDrawing })
//     root: the panel's element; figure: {frame, canvas, caption} for the input gradient;
//     readDrawing() → {model, image} for the current drawing, or null when there is none
//   teach.setModel(model)     // {name, classes}: one button per class; forgets the target
//   teach.drawingChanged()    // the drawing has a new answer: the chosen target runs again
//   teach.reset()             // no drawing: back to the forward pass
//   teach.gradients           // the latest /gradients answer for the drawing, or null
//   teach.addEventListener('change', …)   // gradients arrived or were cleared

import { divergingRgb, paintGrid } from './colors.js';
import { h } from './dom.js';
import { formatNumber, formatPercent } from './format.js';
import { postJson } from './predict_client.js';

const DEFAULT_RATE = 0.5;
const MAX_RATE = 10;

export class TeachPanel extends EventTarget {
  #root;
  #figure;
  #readDrawing;
  #model = null;
  #target = null;
  #gradients = null;
  #inFlight = false;
  #pending = null; // {step} of a request wanted while another was in flight
  #sent = 0;
  #ui = {};

  constructor(root, figure, { readDrawing }) {
    super();
    this.#root = root;
    this.#figure = figure;
    this.#readDrawing = readDrawing;
    this.#build();
  }

  get gradients() {
    return this.#gradients;
  }

  setModel(model) {
    this.#model = model;
    this.#target = null;
    this.#ui.classes.replaceChildren(...model.classes.map((label) => {
      const button = h('button', {
        type: 'button', class: 'button class-button', 'aria-pressed': 'false', 'data-class': label,
      }, label);
      button.addEventListener('click', () => this.#choose(label));
      return button;
    }));
    this.reset();
  }

  drawingChanged() {
    this.#setEnabled(true);
    if (this.#target === null) return;
    this.#ui.step.replaceChildren(); // it was a step on the previous drawing
    this.#request({ step: false });
  }

  reset() {
    this.#target = null;
    this.#pending = null;
    this.#sent += 1; // answers to earlier requests are no longer wanted
    this.#setEnabled(Boolean(this.#readDrawing()));
    this.#showGradients(null);
  }

  #build() {
    const ui = this.#ui;
    ui.classes = h('div', { class: 'class-buttons', role: 'group', 'aria-labelledby': 'teach-question' });
    ui.loss = h('p', { class: 'teach-loss', id: 'teach-loss', 'aria-live': 'polite' });
    ui.rate = h('input', {
      type: 'number', id: 'teach-rate', class: 'rate-input', min: '0.01', max: String(MAX_RATE),
      step: '0.05', value: String(DEFAULT_RATE), inputmode: 'decimal',
    });
    ui.stepButton = h('button', { type: 'button', class: 'button', id: 'teach-step' }, 'Take one step');
    ui.forwardButton = h('button', { type: 'button', class: 'button button-small', id: 'teach-forward' },
      'Back to the forward pass');
    ui.step = h('div', { class: 'teach-step', id: 'teach-step-result', 'aria-live': 'polite' });
    ui.message = h('p', { class: 'teach-message', role: 'status' });
    ui.details = h('div', { class: 'teach-details', hidden: '' },
      ui.loss,
      h('div', { class: 'step-controls' },
        h('label', { for: 'teach-rate' }, 'Learning rate η'), ui.rate, ui.stepButton),
      ui.step,
      h('p', { class: 'caption' }, 'Each step starts from the trained model: the server never ',
        'changes it, so you see what one step on this one drawing would do. (Watching many steps ',
        'is what training is for.)'),
      ui.forwardButton);
    this.#root.replaceChildren(
      h('p', { class: 'teach-question', id: 'teach-question' }, 'What should it be?'),
      ui.classes,
      h('p', { class: 'caption teach-intro' }, 'Choose the right answer to see how the network ',
        'would learn from your drawing: the loss, and in the diagram how much each unit (δ) and ',
        'each connection (∂L/∂w) is to blame, from the output back to the input.'),
      ui.message,
      ui.details,
    );
    ui.stepButton.addEventListener('click', () => this.#request({ step: true }));
    ui.forwardButton.addEventListener('click', () => this.reset());
    ui.rate.addEventListener('input', () => {
      const problem = rateProblem(ui.rate.value);
      ui.stepButton.disabled = Boolean(problem);
      ui.message.textContent = problem ?? '';
    });
  }

  #choose(label) {
    this.#target = label;
    for (const button of this.#ui.classes.children) {
      button.setAttribute('aria-pressed', String(button.dataset.class === label));
    }
    this.#ui.step.replaceChildren();
    this.#request({ step: false });
  }

  #setEnabled(enabled) {
    for (const button of this.#ui.classes.children) button.disabled = !enabled;
    if (!enabled) this.#ui.message.textContent = 'Draw a digit first.';
    else if (this.#ui.message.textContent === 'Draw a digit first.') this.#ui.message.textContent = '';
  }

  async #request({ step }) {
    if (this.#inFlight) {
      this.#pending = { step: step || Boolean(this.#pending?.step) };
      return;
    }
    const drawing = this.#readDrawing();
    const rate = Number(this.#ui.rate.value);
    if (!drawing || this.#target === null || rateProblem(this.#ui.rate.value)) return;
    const ticket = ++this.#sent;
    this.#inFlight = true;
    this.#root.classList.add('is-busy');
    try {
      const answer = await postGradients(drawing, this.#target, rate);
      if (ticket === this.#sent && answer.target === this.#target) {
        this.#ui.message.textContent = '';
        this.#showGradients(answer);
        if (step) this.#showStep(answer);
      }
    } catch (error) {
      if (ticket === this.#sent) this.#ui.message.textContent = error.message;
    } finally {
      this.#inFlight = false;
      this.#root.classList.remove('is-busy');
      const pending = this.#pending;
      this.#pending = null;
      if (pending) this.#request(pending);
    }
  }

  #showGradients(answer) {
    this.#gradients = answer;
    this.#ui.details.hidden = !answer;
    if (!answer) {
      for (const button of this.#ui.classes.children) button.setAttribute('aria-pressed', 'false');
      this.#ui.loss.replaceChildren();
      this.#ui.step.replaceChildren();
      this.#figure.frame.hidden = true;
    } else {
      this.#ui.loss.replaceChildren(...lossText(answer));
      this.#paintInputGradient(answer);
    }
    this.dispatchEvent(new CustomEvent('change', { detail: { gradients: answer } }));
  }

  #showStep(answer) {
    const after = answer.after_step;
    const fell = answer.loss - after.loss;
    const rows = Object.keys(answer.probabilities).map((label) => h('tr',
      label === answer.target ? { class: 'is-target' } : {},
      h('th', { scope: 'row' }, label),
      h('td', {}, formatPercent(answer.probabilities[label])),
      h('td', {}, formatPercent(after.probabilities[label]))));
    this.#ui.step.replaceChildren(
      h('table', { class: 'step-table' },
        h('caption', {}, `One step with η = ${formatNumber(after.learning_rate, 2)}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'class'),
          h('th', { scope: 'col' }, 'before'), h('th', { scope: 'col' }, 'after'))),
        h('tbody', {}, ...rows)),
      h('p', { 'data-field': 'loss-change' }, `Loss ${formatNumber(answer.loss)} → `,
        h('strong', {}, formatNumber(after.loss)),
        fell >= 0
          ? `: it fell by ${formatNumber(fell)} (${formatPercent(fell / answer.loss)}).`
          : `: it rose by ${formatNumber(-fell)}. The step overshot: try a smaller η.`,
        ` It would now say “${after.label}”.`),
    );
  }

  #paintInputGradient(answer) {
    const { frame, canvas, caption } = this.#figure;
    const largest = Math.max(...answer.input_gradient.flat().map(Math.abs), 1e-12);
    paintGrid(canvas, answer.input_gradient, (g) => divergingRgb(-g / largest));
    canvas.setAttribute('aria-label', `Input gradient for “${answer.target}”: where more ink `
      + 'would lower the loss (blue) or raise it (red)');
    caption.replaceChildren('−∂L/∂x for “', answer.target, '”: more ink on ',
      h('span', { class: 'pos' }, 'blue'), ' pixels would lower the loss, on ',
      h('span', { class: 'neg' }, 'red'), ' ones raise it.');
    frame.hidden = false;
  }
}

function lossText(answer) {
  const p = answer.probabilities[answer.target];
  const verdict = answer.label === answer.target
    ? 'it already says so, so the loss is small and the gradients gentle.'
    : `it says “${answer.label}”, so the loss is large and the gradients strong.`;
  return [
    'Loss L = −log p(“', answer.target, '”) = ', h('strong', { 'data-field': 'loss' },
      formatNumber(answer.loss)), `: the network gives “${answer.target}” ${formatPercent(p)}; `,
    verdict,
  ];
}

function rateProblem(text) {
  const rate = Number(text);
  if (text === '' || !Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE) {
    return `The learning rate must be a number above 0 and at most ${MAX_RATE}.`;
  }
  return null;
}

async function postGradients(drawing, target, rate) {
  const answer = await postJson(`/gradients?model=${encodeURIComponent(drawing.model)}`,
    { image: drawing.image, target, learning_rate: rate }, 'run the backward pass');
  if (!answer?.layers) throw new Error('The server sent a backward pass this page does not understand.');
  return answer;
}
