// "What the network sees": the 28×28 input from the server's answer, drawn large and pixelated
// (the canvas has 28×28 pixels; CSS scales it up without smoothing).

import { inkRgb, paintGrid } from './colors.js';
import { h } from './dom.js';

const SIDE = 28;

export class InputPreview {
  #canvas;

  constructor(canvas) {
    this.#canvas = canvas;
    this.clear();
  }

  /** @param {number[][]} rows 28 rows of 28 values in [0, 1], ink high */
  show(rows) {
    paintGrid(this.#canvas, rows, inkRgb);
    const inked = rows.flat().filter((value) => value > 0.05).length;
    this.#canvas.setAttribute(
      'aria-label',
      `The ${rows.length} by ${rows[0]?.length ?? 0} pixel image the network received: ` +
        `${inked} of ${rows.length * (rows[0]?.length ?? 0)} pixels carry ink`,
    );
    this.#canvas.classList.remove('is-empty');
  }

  clear() {
    const blank = Array.from({ length: SIDE }, () => new Array(SIDE).fill(0));
    paintGrid(this.#canvas, blank, inkRgb);
    this.#canvas.setAttribute('aria-label', 'The 28 by 28 pixel image the network received: empty');
    this.#canvas.classList.add('is-empty');
  }
}

// "Your drawing, step by step": every stage of the preprocessing as the answer's `steps` give it
// (POST /predict?steps=true), from the canvas as sent to the network's input (1, 784), each with
// its name, shape, dtype and one-line note, and two switches that skip the steps MNIST's form
// needs (fit: crop and scale to a 20 px box; centre: move the centre of mass to the middle).
//
// API:
//   const strip = new StepStrip(root)         // builds the switches and the (empty) strip
//   strip.setSwitches({fit, centre})          // booleans, e.g. read from the URL
//   strip.switches                            // → {fit, centre} as the checkboxes are
//   strip.show(result)                        // a /predict answer with `steps`, or null
//   strip.addEventListener('switch', …)       // a switch was flipped

const STEP_TITLES = {
  canvas: 'Your canvas',
  pixels: 'The pixels',
  ink: 'Ink',
  box: 'The ink’s box',
  scaled: 'Scaled to 20 px',
  squashed: 'Squashed to 28×28',
  centred: 'Centred',
  placed: 'Placed',
  input: 'The input',
};

const SWITCHES = [
  ['fit', 'Fit', 'crop to the ink and scale its box to 20 px'],
  ['centre', 'Centre', 'move its centre of mass to the middle'],
];

export class StepStrip extends EventTarget {
  #list;
  #summary;
  #boxes = {};

  constructor(root) {
    super();
    const switches = h('fieldset', { class: 'step-switches' },
      h('legend', {}, 'Make it like MNIST'),
      ...SWITCHES.map(([name, title, what]) => {
        const box = h('input', { type: 'checkbox', id: `step-${name}`, 'data-switch': name });
        box.checked = true;
        box.addEventListener('change', () => this.dispatchEvent(new CustomEvent('switch')));
        this.#boxes[name] = box;
        return h('label', { class: 'step-switch', for: box.id }, box,
          h('span', {}, h('strong', {}, title), `: ${what}`));
      }));
    this.#summary = h('p', { class: 'caption step-summary', id: 'step-summary', 'aria-live': 'polite' });
    this.#list = h('ol', { class: 'step-strip', id: 'step-strip', 'aria-label': 'Your drawing at each step' });
    root.append(
      h('h3', { id: 'steps-heading' }, 'Your drawing, step by step'),
      switches, this.#summary, this.#list);
    this.show(null);
  }

  get switches() {
    return { fit: this.#boxes.fit.checked, centre: this.#boxes.centre.checked };
  }

  setSwitches({ fit, centre }) {
    this.#boxes.fit.checked = fit;
    this.#boxes.centre.checked = centre;
  }

  show(result) {
    const steps = Array.isArray(result?.steps) ? result.steps : [];
    this.#list.replaceChildren(...steps.map((step, index) => stepItem(step, index)));
    if (steps.length && result.preprocessing) {
      this.#summary.textContent = summaryText(result.preprocessing);
    } else {
      this.#summary.textContent = result ? 'Asking the server for the steps…'
        : 'Draw a digit to see it go from your canvas to the 784 numbers the network reads.';
    }
  }
}

function stepItem(step, index) {
  const title = STEP_TITLES[step.name] ?? step.name;
  const shape = `(${step.shape.join(', ')})`;
  const image = h('img', {
    class: `step-image step-${step.name}`, src: step.image,
    alt: `${title}: ${step.note}`,
  });
  return h('li', { class: 'drawing-step', 'data-step': step.name },
    h('figure', {},
      h('div', { class: 'step-frame' }, image),
      h('figcaption', {},
        h('span', { class: 'step-title' }, `${index + 1}. ${title}`),
        h('code', { class: 'step-shape', 'data-field': 'shape' }, `${shape} ${step.dtype}`),
        h('span', { class: 'step-note' }, step.note))));
}

function summaryText({ fit, centre }) {
  if (fit && centre) return 'Both steps on: your digit is made the way MNIST’s were, so the network sees what it learned from.';
  const off = [!fit && 'fit', !centre && 'centre'].filter(Boolean).join(' and ');
  return `With ${off} off the input is not like MNIST’s digits: watch the answer above change.`;
}
