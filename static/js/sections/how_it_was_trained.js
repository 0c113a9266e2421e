// "How it was trained": the current model's training, from its card (training_report.js):
// curves per epoch, the confusion matrix on MNIST's test set, the test digits it misreads.
// Fetched when the section opens, and again for each model chosen while it is open.

import { TrainingReport } from '../training_report.js';

export default class HowItWasTrained {
  #page;
  #report;
  #model = null;

  constructor(root, page) {
    this.#page = page;
    this.#report = new TrainingReport(root);
  }

  update() {
    const { model } = this.#page;
    if (model && model !== this.#model) {
      this.#model = model;
      this.#report.show(model);
    }
  }
}
