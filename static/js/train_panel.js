// "Train your own": trains a network on the server over WebSocket /train and shows it learning
// (the protocol is in docs/api.md). Live loss and accuracy curves (the last few runs stay, to
// compare), the first layer's weight images, and the current drawing's probabilities under the
// weights so far. When a run ends, its model joins the page's model switch.

import { RUN_COLOURS, drawWeightImages, lossAndAccuracyCharts } from './charts.js';
import { byId } from './dom.js';
import { formatPercent } from './format.js';
import { TrainingReport } from './training_report.js';

const RUNS_KEPT = 4; // the current run and the three before it stay on the charts


export class TrainPanel {
  #ui;
  #addModel;
  #socket = null;
  #state = 'idle'; // idle | starting | running | paused | stopping
  #runs = []; // {label, colour, examples, train: {loss, accuracy}, val: {loss, accuracy}}
  #current = null;
  #classes = [];
  #watched = null; // the current drawing in MNIST form (28×28), or null
  #modelsTrained = 0;
  #lossChart;
  #accuracyChart;

  /** `addModel(summary)` makes a trained model known to the page before it is chosen;
   * `shippedModels` are the ones "How each shipped model was trained" offers. */
  constructor({ addModel, shippedModels }) {
    this.#addModel = addModel;
    new TrainingReport(shippedModels);
    this.#ui = {
      form: byId('train-form'),
      unavailable: byId('train-unavailable'),
      digits: byId('train-digits'),
      hidden: byId('train-hidden'),
      activation: byId('train-activation'),
      epochs: byId('train-epochs'),
      rate: byId('train-rate'),
      fast: byId('train-fast'),
      start: byId('train-start'),
      pause: byId('train-pause'),
      step: byId('train-step'),
      resume: byId('train-resume'),
      stop: byId('train-stop'),
      status: byId('train-status'),
      error: byId('train-error'),
      live: byId('train-live'),
      legend: byId('train-legend'),
      weights: byId('train-weights'),
      weightsCaption: byId('train-weights-caption'),
      watch: byId('train-watch'),
      result: byId('train-result'),
      download: byId('train-download'),
      modelSwitch: byId('model-switch'),
    };
    [this.#lossChart, this.#accuracyChart] = lossAndAccuracyCharts(
      byId('train-loss-chart'), byId('train-accuracy-chart'));
    const ui = this.#ui;
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#start();
    });
    ui.pause.addEventListener('click', () => {
      this.#send({ type: 'pause' }, 'paused');
      // Said at once: the server sends no snapshot when it pauses right after one.
      const text = ui.status.textContent.replace(/\.$/, '');
      if (!text.endsWith('(paused)')) this.#status(`${text} (paused).`);
    });
    ui.resume.addEventListener('click', () => this.#send({ type: 'resume' }, 'running'));
    ui.step.addEventListener('click', () => this.#send({ type: 'step' }, 'paused'));
    ui.stop.addEventListener('click', () => this.#send({ type: 'stop' }, 'stopping'));
    this.#checkAvailability();
  }

  /** The drawing changed: its MNIST form (from /predict's `input`), followed as the run learns. */
  watch(pixels) {
    this.#watched = Array.isArray(pixels) ? pixels.map((row) => row.map((v) => Math.round(v * 1000) / 1000)) : null;
    this.#sendWatched();
  }

  async #checkAvailability() {
    try {
      const response = await fetch('/train/availability', { headers: { Accept: 'application/json' } });
      const answer = await response.json();
      if (!answer.available) return this.#unavailable(answer.detail);
    } catch {
      return this.#unavailable('the server did not say whether it can train');
    }
    this.#ui.form.hidden = false;
    this.#setState('idle');
  }

  #unavailable(detail) {
    this.#ui.unavailable.textContent = `Training is not available on this server: ${detail}.`;
    this.#ui.unavailable.hidden = false;
    this.#ui.form.hidden = true;
  }

  #settings() {
    const ui = this.#ui;
    return {
      digits: ui.digits.value,
      hidden: ui.hidden.value.split(/[\s,]+/).filter(Boolean).map(Number),
      activation: ui.activation.value,
      epochs: Number(ui.epochs.value),
      learning_rate: Number(ui.rate.value),
      pace: ui.fast.checked ? 'fast' : 'watch',
    };
  }

  #start() {
    if (this.#state !== 'idle') return;
    const settings = this.#settings();
    this.#showError('');
    this.#ui.result.hidden = true;
    this.#setState('starting');
    this.#status('Loading MNIST and building the network…');
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/train`);
    this.#socket = socket;
    socket.addEventListener('open', () => socket.send(JSON.stringify(settings)));
    socket.addEventListener('message', (event) => this.#receive(JSON.parse(event.data)));
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#state !== 'idle') {
        if (event.code === 1013) this.#showError('The server is busy with another run; try again in a minute.');
        else if (!this.#ui.error.textContent) this.#showError('The connection to the server was lost.');
        this.#status('');
      }
      this.#setState('idle');
    });
  }

  #send(message, nextState) {
    if (!this.#socket || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(JSON.stringify(message));
    this.#setState(nextState);
  }

  #sendWatched() {
    if (this.#watched && this.#socket?.readyState === WebSocket.OPEN && this.#current) {
      this.#socket.send(JSON.stringify({ type: 'watch', pixels: this.#watched }));
    }
  }

  #receive(message) {
    const handlers = {
      started: () => this.#started(message),
      progress: () => this.#progress(message),
      epoch: () => this.#epoch(message),
      done: () => this.#done(message),
      error: () => this.#showError(message.detail),
    };
    handlers[message.type]?.();
  }

  #started(message) {
    const s = message.settings;
    const digits = s.digits === '0,1' ? '0/1' : s.digits === '0,1,2,3,4,5,6,7,8,9' ? '0–9' : s.digits;
    const colour = RUN_COLOURS[this.#modelsTrained % RUN_COLOURS.length];
    this.#current = {
      label: `${digits} · ${s.hidden.join('/')} ${s.activation} · lr ${s.learning_rate}`,
      colour,
      examples: message.examples.train,
      epochs: s.epochs,
      train: { loss: [], accuracy: [] },
      val: { loss: [], accuracy: [] },
    };
    this.#runs = [...this.#runs.slice(-(RUNS_KEPT - 1)), this.#current];
    this.#classes = message.classes;
    this.#ui.live.hidden = false;
    this.#setState('running');
    this.#status(`Training on ${message.examples.train.toLocaleString('en')} MNIST digits `
      + `(${message.classes.join(', ')}), checking on ${message.examples.validation.toLocaleString('en')}.`);
    this.#sendWatched();
    this.#drawCharts();
  }

  #progress(message) {
    const run = this.#current;
    if (!run) return;
    const x = message.seen / run.examples;
    if (message.batch > 0) {
      run.train.loss.push([x, message.loss]);
      run.train.accuracy.push([x, message.accuracy]);
    }
    const units = message.first_layer.units;
    drawWeightImages(this.#ui.weights, message.first_layer);
    this.#ui.weightsCaption.textContent = `The first hidden layer's weights, one 28×28 image per unit `
      + `(${message.first_layer.images.length} of ${units}): blue pixels raise the unit's z, red ones `
      + `lower it. Epoch ${message.epoch}, batch ${message.batch} of ${message.batches}.`;
    this.#ui.weights.setAttribute('aria-label', `Weights of ${message.first_layer.images.length} `
      + `first-layer units after ${message.seen.toLocaleString('en')} examples`);
    if (message.watch) this.#showWatch(message.watch);
    if (this.#state === 'running' || this.#state === 'paused') {
      const loss = Number.isFinite(message.loss) ? `, loss ${message.loss.toFixed(3)}` : '';
      this.#status(`Epoch ${message.epoch} of ${run.epochs}, batch ${message.batch} of `
        + `${message.batches}${loss}${this.#state === 'paused' ? ' (paused)' : ''}.`);
    }
    this.#drawCharts();
  }

  #epoch(message) {
    const run = this.#current;
    if (!run) return;
    run.val.loss.push([message.epoch, message.val_loss]);
    run.val.accuracy.push([message.epoch, message.val_accuracy]);
    this.#drawCharts();
  }

  #showWatch({ probabilities, prediction }) {
    const items = probabilities.map((p, i) => {
      const item = document.createElement('li');
      item.className = i === prediction ? 'is-winner' : '';
      const name = document.createElement('span');
      name.textContent = this.#classes[i];
      const bar = document.createElement('span');
      bar.className = 'train-watch-bar';
      bar.style.setProperty('--share', String(p));
      const value = document.createElement('span');
      value.textContent = formatPercent(p);
      item.append(name, bar, value);
      return item;
    });
    this.#ui.watch.replaceChildren(...items);
  }

  async #done(message) {
    const accuracy = formatPercent(message.metrics.test.accuracy);
    const how = message.stop_reason === 'time_limit' ? 'It reached the server’s time limit. '
      : message.stopped ? 'You stopped it early. ' : '';
    this.#status(`Done in ${message.training_time_s.toFixed(1)} s. ${how}Test accuracy `
      + `${accuracy} on ${message.metrics.test.count.toLocaleString('en')} MNIST test digits.`);
    this.#ui.download.href = `/models/${encodeURIComponent(message.model)}/download`;
    this.#ui.download.setAttribute('download', `${message.model}.zip`);
    this.#ui.result.hidden = false;
    this.#current = null;
    this.#setState('idle'); // before the server closes the socket: a finished run, not a lost one
    this.#modelsTrained += 1;
    this.#drawCharts();
    await this.#offerModel(message.model);
  }

  /** "Your model" in the model switch, chosen at once: the diagram, the explanations and
   * "Teach it" all follow the model switch. */
  async #offerModel(name) {
    let summary = { name };
    try {
      const models = (await (await fetch('/models')).json()).models;
      summary = models.find((m) => m.name === name) ?? summary;
    } catch {
      // the switch still works; the page learns the classes from the model's details
    }
    this.#addModel(summary);
    const label = document.createElement('label');
    label.className = 'model-option';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'model';
    input.value = name;
    const text = document.createElement('span');
    text.textContent = this.#modelsTrained === 1 ? 'Your model' : `Your model ${this.#modelsTrained}`;
    label.append(input, text);
    this.#ui.modelSwitch.append(label);
    this.#ui.modelSwitch.classList.remove('is-single');
    input.checked = true;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  #drawCharts() {
    // Training curves solid (running, within each epoch), validation dashed with a dot per
    // epoch; runs before the latest fainter.
    const series = (metric) => this.#runs.flatMap((run) => {
      const faded = run !== this.#runs.at(-1);
      return [
        { colour: run.colour, points: run.train[metric], faded },
        { colour: run.colour, points: run.val[metric], faded, dashed: true, dots: true },
      ];
    });
    const minX = Math.max(1, ...this.#runs.map((run) => run.epochs));
    this.#lossChart.setSeries(series('loss'), { minX });
    this.#accuracyChart.setSeries(series('accuracy'), { minX });
    const items = this.#runs.map((run) => {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'chart-swatch';
      swatch.style.setProperty('--colour', run.colour);
      item.append(swatch, run.label + (run === this.#current ? ' (training)' : ''));
      return item;
    });
    this.#ui.legend.replaceChildren(...items);
  }

  #setState(state) {
    this.#state = state;
    const ui = this.#ui;
    const live = state !== 'idle';
    for (const field of [ui.digits, ui.hidden, ui.activation, ui.epochs, ui.rate, ui.fast]) {
      field.disabled = live;
    }
    ui.start.disabled = live;
    ui.pause.disabled = state !== 'running';
    ui.step.disabled = state !== 'paused';
    ui.resume.disabled = state !== 'paused';
    ui.stop.disabled = !(state === 'running' || state === 'paused');
  }

  #status(text) {
    this.#ui.status.textContent = text;
  }

  #showError(text) {
    this.#ui.error.textContent = text;
    this.#ui.error.hidden = !text;
  }
}
