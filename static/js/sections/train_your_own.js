// "Train your own": train a network on MNIST on this server and watch it learn (train_panel.js,
// WebSocket /train, opened only when Start is pressed). The run's settings live in the URL, so
// that a link starts from the same knobs; the current drawing is followed as the run learns.

import { TrainPanel } from '../train_panel.js';

export default class TrainYourOwn {
  #page;
  #panel;
  #result;
  #applied = ''; // the URL's settings as last applied, to tell a new link from our own write

  constructor(root, page) {
    this.#page = page;
    this.#panel = new TrainPanel(root, { addModel: (summary, title) => page.addModel(summary, title) });
    this.#panel.addEventListener('settingschange', () => {
      const settings = this.#panel.settings;
      this.#applied = JSON.stringify(settings);
      page.saveSettings(settings);
    });
  }

  update() {
    const settings = this.#page.settings;
    if (JSON.stringify(settings) !== this.#applied) {
      this.#applied = JSON.stringify(settings);
      this.#panel.applySettings(settings);
    }
    const { result } = this.#page;
    if (result !== this.#result) {
      this.#result = result;
      this.#panel.watch(result?.input ?? null);
    }
  }
}
