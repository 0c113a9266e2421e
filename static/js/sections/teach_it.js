// "Teach it": what should this drawing be? The teach panel (teach_panel.js) runs the backward
// pass for the chosen answer and one step of gradient descent; the network view paints it (δ per
// unit, ∂L/∂w per line) and the input gradient is drawn beside the panel. "As NumPy" under the
// diagram writes both passes out for the chosen target.

import { asNumPy } from '../as_numpy.js';
import { h } from '../dom.js';
import { TeachPanel } from '../teach_panel.js';

export default class TeachIt {
  #page;
  #teach;
  #slot;
  #numpySlot;
  #details = null; // the model and the answer the panel was last told about
  #result = null;

  constructor(root, page) {
    this.#page = page;
    const panel = h('div', { id: 'teach-panel', class: 'teach-panel' });
    const canvas = h('canvas', {
      id: 'input-gradient', class: 'input-preview input-gradient', width: 28, height: 28,
      role: 'img', 'aria-label': 'Input gradient',
    });
    const caption = h('figcaption', { class: 'caption', id: 'input-gradient-caption' });
    const frame = h('figure', { class: 'gradient-figure', id: 'input-gradient-figure', hidden: '' },
      canvas, caption);
    this.#slot = h('div', { class: 'network-slot' });
    this.#numpySlot = h('div', { class: 'as-numpy-slot' });
    root.append(h('div', { class: 'teach-layout' }, panel, frame), this.#slot, this.#numpySlot);
    this.#teach = new TeachPanel(panel, { frame, canvas, caption }, { readDrawing: page.readDrawing });
    this.#teach.addEventListener('change', () => this.#paint());
  }

  update() {
    const { details, result } = this.#page;
    if (details && details !== this.#details) this.#teach.setModel(details);
    if (result !== this.#result || details !== this.#details) {
      if (result) this.#teach.drawingChanged();
      else this.#teach.reset();
    }
    this.#details = details;
    this.#result = result;
    this.#page.network.placeIn(this.#slot);
    asNumPy().placeIn(this.#numpySlot);
    this.#paint();
  }

  #paint() {
    const { details, result, network } = this.#page;
    network.show({ details, result, gradients: this.#teach.gradients });
    asNumPy().show({ details, result, gradients: this.#teach.gradients });
  }
}
