// "Train your own": train a network on MNIST on this server and watch it learn (train_panel.js,
// WebSocket /train, opened only when Start is pressed). The run's settings live in the URL, so
// that a link starts from the same knobs; the current drawing is followed as the run learns.

import { TrainPanel } from '../train_panel.js';

export default class TrainYourOwn {
  #page;
  #panel;
  #result;
  #applied = ''; // the settings last read from the URL or written to it, as JSON
  #chosen = false; // a person or a link set the knobs: the URL keeps them when it comes back here

  constructor(root, page) {
    this.#page = page;
    this.#panel = new TrainPanel(root, {
      addModel: (summary, title) => page.addModel(summary, title),
      quickRun: page.quickRun,
    });
    this.#panel.addEventListener('settingschange', () => {
      this.#chosen = true;
      this.#save();
    });
  }

  update() {
    const settings = this.#page.settings;
    if (Object.keys(settings).length === 0 && this.#chosen) {
      this.#save(); // back here through a plain #train link: the form still has its knobs
    } else if (JSON.stringify(settings) !== this.#applied) {
      this.#applied = JSON.stringify(settings);
      this.#panel.applySettings(settings);
      this.#chosen ||= Object.keys(settings).length > 0;
    }
    const { result } = this.#page;
    if (result !== this.#result) {
      this.#result = result;
      this.#panel.watch(result?.input ?? null);
    }
  }

  #save() {
    const settings = this.#panel.settings;
    this.#applied = JSON.stringify(settings);
    this.#page.saveSettings(settings);
  }
}
