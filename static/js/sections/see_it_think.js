// "See it think": the 28×28 image the network received, and the network's forward pass on it:
// every unit shaded by its activation, the path to the answer, and the explainer for a unit.

import { h } from '../dom.js';
import { InputPreview } from '../input_preview.js';

export default class SeeItThink {
  #page;
  #preview;
  #slot;
  #shown = undefined; // the answer the preview shows

  constructor(root, page) {
    this.#page = page;
    const canvas = h('canvas', {
      id: 'input-preview', class: 'input-preview', width: 28, height: 28, role: 'img',
      'aria-label': 'The 28 by 28 pixel image the network received: empty',
    });
    this.#preview = new InputPreview(canvas);
    this.#slot = h('div', { class: 'network-slot' });
    root.append(
      h('div', { class: 'seen' },
        h('h3', { id: 'seen-heading' }, 'What the network sees'),
        h('div', { class: 'seen-body' },
          h('div', { class: 'preview-frame' }, canvas),
          h('p', { class: 'caption' }, '28 × 28 = 784 numbers from 0 (paper) to 1 (ink), centred and ',
            'scaled like the MNIST digits the network learned from.'))),
      this.#slot,
    );
  }

  update() {
    const { details, result, network } = this.#page;
    if (result !== this.#shown) {
      this.#shown = result;
      if (Array.isArray(result?.input)) this.#preview.show(result.input);
      else this.#preview.clear();
    }
    network.placeIn(this.#slot);
    network.show({ details, result, gradients: null });
  }
}
