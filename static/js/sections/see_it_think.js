// "See it think": the 28×28 image the network received, the steps that made it from the drawing
// (with the switches that skip two of them), and the network's forward pass on it: every unit
// shaded by its activation, the path to the answer, and the explainer for a unit; under it the
// forward pass as a NumPy script (as_numpy.js).
//
// While this section is open the page asks /predict for the steps too, with the switches as they
// are (page.setPredictOptions): turning one off changes the answer above, which is the point.
// The switches live in the URL (#see?fit=off&centre=off) and go back to on when it closes.

import { asNumPy } from '../as_numpy.js';
import { h } from '../dom.js';
import { InputPreview, StepStrip } from '../input_preview.js';

export default class SeeItThink {
  #page;
  #preview;
  #steps;
  #slot;
  #numpySlot;
  #shown = undefined; // the answer the preview shows

  constructor(root, page) {
    this.#page = page;
    const canvas = h('canvas', {
      id: 'input-preview', class: 'input-preview', width: 28, height: 28, role: 'img',
      'aria-label': 'The 28 by 28 pixel image the network received: empty',
    });
    this.#preview = new InputPreview(canvas);
    const steps = h('div', { class: 'steps', id: 'drawing-steps' });
    this.#steps = new StepStrip(steps);
    this.#steps.addEventListener('switch', () => {
      const { fit, centre } = this.#steps.switches;
      page.saveSettings({ fit: fit ? null : 'off', centre: centre ? null : 'off' });
      this.#askForSteps();
    });
    this.#slot = h('div', { class: 'network-slot' });
    this.#numpySlot = h('div', { class: 'as-numpy-slot' });
    root.append(
      h('div', { class: 'seen' },
        h('h3', { id: 'seen-heading' }, 'What the network sees'),
        h('div', { class: 'seen-body' },
          h('div', { class: 'preview-frame' }, canvas),
          h('p', { class: 'caption' }, '28 × 28 = 784 numbers from 0 (paper) to 1 (ink), made from ',
            'your drawing the way the MNIST digits the network learned from were made: step by ',
            'step below.'))),
      steps,
      this.#slot,
      this.#numpySlot,
    );
  }

  update() {
    const { details, result, network, settings } = this.#page;
    this.#steps.setSwitches({ fit: settings.fit !== 'off', centre: settings.centre !== 'off' });
    this.#askForSteps();
    if (result !== this.#shown) {
      this.#shown = result;
      if (Array.isArray(result?.input)) this.#preview.show(result.input);
      else this.#preview.clear();
      this.#steps.show(result);
    }
    network.placeIn(this.#slot);
    network.show({ details, result, gradients: null });
    const numpy = asNumPy();
    numpy.placeIn(this.#numpySlot);
    numpy.show({ details, result, gradients: null });
  }

  close() {
    this.#page.setPredictOptions({}); // the other sections see the drawing as MNIST's form
  }

  #askForSteps() {
    this.#page.setPredictOptions({ steps: true, ...this.#steps.switches });
  }
}
