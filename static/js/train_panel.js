// "Train your own": trains a network on the server over WebSocket /train and shows it learning
// (the protocol is in docs/api.md). Live loss and accuracy curves (the last few runs stay, to
// compare), the first layer's weight images, and the current drawing's probabilities under the
// weights so far. When a run ends, its model joins the page's model switch. The panel builds
// its own form; its settings, by the names the socket uses, go in the page's URL (`settings`,
// `applySettings`). The training lab (train_lab.js) shows each layer's signals and the run's
// alerts, whose fixes start the next run; ready-made experiments (train_experiments.js) start
// runs that go wrong on purpose.

import { drawWeightImages, lossAndAccuracyCharts } from './charts.js';
import { RUN_COLOURS } from './colors.js';
import { h } from './dom.js';
import { formatPercent } from './format.js';
import { ProbabilityBars } from './probability_bars.js';
import { EXPERIMENTS } from './train_experiments.js';
import { TrainingLab, fixText } from './train_lab.js';

const RUNS_KEPT = 4; // the current run and the three before it stay on the charts
// The settings a run is started with, by their names in the socket's first message and in the
// page's URL (see `settings`).
const SETTING_NAMES = [
  'digits', 'conv', 'hidden', 'activation', 'epochs', 'learning_rate', 'optimizer', 'initializer',
  'l2', 'dropout', 'train_examples', 'pace',
];

export class TrainPanel extends EventTarget {
  #ui;
  #addModel;
  #socket = null;
  #state = 'idle'; // idle | starting | running | paused | stopping
  #runs = []; // {label, colour, examples, train: {loss, accuracy}, val: {loss, accuracy}}
  #current = null;
  #classes = [];
  #watched = null; // the current drawing in MNIST form (28×28), or null
  #modelsTrained = 0;
  #runsStarted = 0; // a run that diverges gets a colour, not a model
  #lossChart;
  #accuracyChart;
  #lab;
  #queue = []; // the runs an experiment still has to start, after the current one

  /** Builds the panel into `root`, its form filled from `quickRun` (the server's defaults, by
   * the socket's names). `addModel(summary, title)` makes a trained model known to the page
   * and chooses it. Fires 'settingschange' when a person changes a setting. */
  constructor(root, { addModel, quickRun }) {
    super();
    this.#addModel = addModel;
    this.#ui = buildPanel(root, quickRun);
    [this.#lossChart, this.#accuracyChart] = lossAndAccuracyCharts(
      this.#ui.lossChart, this.#ui.accuracyChart);
    const ui = this.#ui;
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#queue = [];
      this.#start();
    });
    ui.form.addEventListener('change', () => this.dispatchEvent(new Event('settingschange')));
    ui.pause.addEventListener('click', () => {
      this.#send({ type: 'pause' }, 'paused');
      // Said at once: the server sends no snapshot when it pauses right after one.
      const text = ui.status.textContent.replace(/\.$/, '');
      if (!text.endsWith('(paused)')) this.#status(`${text} (paused).`);
    });
    ui.resume.addEventListener('click', () => this.#send({ type: 'resume' }, 'running'));
    ui.step.addEventListener('click', () => this.#send({ type: 'step' }, 'paused'));
    ui.stop.addEventListener('click', () => this.#send({ type: 'stop' }, 'stopping'));
    this.#lab = new TrainingLab(ui.labRoot);
    this.#lab.addEventListener('fix', (event) => this.#tryFix(textOf(event.detail)));
    for (const [experiment, button] of ui.experimentButtons) {
      button.addEventListener('click', () => this.#startExperiment(experiment));
    }
    this.#checkAvailability();
  }

  /** The form's settings as text, by the socket's names: {digits: '0,1', hidden: '25,15', …}. */
  get settings() {
    const ui = this.#ui;
    const conv = ui.conv.value.split(/[\s,]+/).filter(Boolean).join(',');
    return {
      digits: ui.digits.value,
      // A dense network (no convolutions) says nothing of them, in the URL too.
      ...(conv ? { conv } : {}),
      hidden: ui.hidden.value.split(/[\s,]+/).filter(Boolean).join(','),
      activation: ui.activation.value,
      epochs: ui.epochs.value,
      learning_rate: ui.rate.value,
      optimizer: ui.optimizer.value,
      initializer: ui.initializer.value,
      l2: ui.l2.value,
      dropout: ui.dropout.value,
      train_examples: ui.trainExamples.value,
      pace: ui.fast.checked ? 'fast' : 'watch',
    };
  }

  /** Fill the form from `settings` (text, as `settings` gives it, e.g. from a link); what is
   * missing or not allowed by the form's own rules keeps its value. Not during a run. */
  applySettings(settings) {
    const ui = this.#ui;
    if (this.#state !== 'idle') return;
    const fields = {
      digits: ui.digits, conv: ui.conv, hidden: ui.hidden, activation: ui.activation, epochs: ui.epochs,
      learning_rate: ui.rate, optimizer: ui.optimizer, initializer: ui.initializer, l2: ui.l2,
      dropout: ui.dropout, train_examples: ui.trainExamples,
    };
    for (const name of SETTING_NAMES) {
      const value = settings[name];
      if (typeof value !== 'string') continue;
      if (name === 'pace') {
        if (value === 'fast' || value === 'watch') ui.fast.checked = value === 'fast';
        continue;
      }
      const field = fields[name];
      const before = field.value;
      field.value = value;
      // A select refuses a value it has no option for; an input checks its own pattern and range.
      if (field.value !== value || !field.checkValidity()) field.value = before;
    }
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


  /** Fill the form from `settings` (text, by the socket's names), say so in the URL, start. */
  #startWith(settings) {
    if (this.#state !== 'idle') return;
    this.applySettings(settings);
    this.dispatchEvent(new Event('settingschange'));
    this.#start();
  }

  /** An alert's fix: the next run, with it. A run still going is stopped first (its model is
   * kept, as after Stop). */
  #tryFix(fix) {
    const next = { ...this.settings, ...fix };
    if (this.#state === 'running' || this.#state === 'paused') {
      this.#queue = [next];
      this.#send({ type: 'stop' }, 'stopping');
    } else {
      this.#queue = [];
      this.#startWith(next);
    }
  }

  #startExperiment(experiment) {
    if (this.#state !== 'idle') return;
    const [first, ...rest] = experiment.runs;
    this.#ui.experimentLook.replaceChildren(
      h('strong', {}, `${experiment.title}: what to look for. `), experiment.look);
    this.#ui.experimentLook.hidden = false;
    this.#queue = rest;
    this.#startWith(first);
  }

  #start() {
    if (this.#state !== 'idle') return;
    const text = this.settings;
    const settings = {
      ...text,
      hidden: text.hidden.split(',').filter(Boolean).map(Number),
      conv: (text.conv ?? '').split(',').filter(Boolean).map(Number),
      epochs: Number(text.epochs),
      learning_rate: Number(text.learning_rate),
      l2: Number(text.l2 || 0),
      dropout: Number(text.dropout || 0),
      train_examples: text.train_examples ? Number(text.train_examples) : null,
    };
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
        this.#queue = [];
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
      error: () => {
        this.#queue = [];
        this.#showError(message.detail);
      },
    };
    handlers[message.type]?.();
  }

  #started(message) {
    const s = message.settings;
    const digits = s.digits === '0,1' ? '0/1' : s.digits === '0,1,2,3,4,5,6,7,8,9' ? '0–9' : s.digits;
    const colour = RUN_COLOURS[this.#runsStarted % RUN_COLOURS.length];
    this.#runsStarted += 1;
    const knobs = [
      s.optimizer !== 'adam' ? s.optimizer : '',
      s.initializer !== 'glorot' ? `${s.initializer} init` : '',
      s.l2 ? `l2 ${s.l2}` : '',
      s.dropout ? `dropout ${s.dropout}` : '',
      s.train_examples ? `${s.train_examples} digits` : '',
    ].filter(Boolean).map((text) => ` · ${text}`).join('');
    this.#current = {
      label: `${digits} · ${s.conv?.length ? `conv ${s.conv.join('/')} · ` : ''}`
        + `${s.hidden.join('/')} ${s.activation} · lr ${s.learning_rate}${knobs}`,
      colour,
      examples: message.examples.train,
      epochs: s.epochs,
      convolutional: Boolean(s.conv?.length),
      train: { loss: [], accuracy: [] },
      val: { loss: [], accuracy: [] },
    };
    this.#runs = [...this.#runs.slice(-(RUNS_KEPT - 1)), this.#current];
    this.#classes = message.classes.map(String);
    this.#ui.watchBars.setClasses(this.#classes);
    this.#ui.watchNote.hidden = false;
    this.#ui.live.hidden = false;
    this.#setState('running');
    this.#status(`Training on ${message.examples.train.toLocaleString('en')} MNIST digits `
      + `(${message.classes.join(', ')}), checking on ${message.examples.validation.toLocaleString('en')}.`);
    this.#sendWatched();
    this.#lab.start(message, this.#current.label);
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
    const first = message.first_layer;
    const units = first.units;
    // Kernels are tiny: as many in a row as there are, up to 8, not a row of 8 with gaps.
    drawWeightImages(this.#ui.weights, first,
      { columns: first.kind === 'conv2d' ? Math.min(8, first.images.length) : 8 });
    const when = `Epoch ${message.epoch}, batch ${message.batch} of ${message.batches}.`;
    this.#ui.weights.classList.toggle('is-kernels', first.kind === 'conv2d');
    if (first.kind === 'conv2d') {
      this.#ui.weightsCaption.textContent = `The first convolution's kernels, one ${first.side}×${
        first.side} image per filter (${first.images.length} of ${units}): blue weights raise the `
        + `filter's z where there is ink, red ones lower it. ${when}`;
      this.#ui.weights.setAttribute('aria-label', `Kernels of ${first.images.length} first-layer `
        + `filters after ${message.seen.toLocaleString('en')} examples`);
    } else {
      this.#ui.weightsCaption.textContent = `The first hidden layer's weights, one 28×28 image per unit `
        + `(${first.images.length} of ${units}): blue pixels raise the unit's z, red ones `
        + `lower it. ${when}`;
      this.#ui.weights.setAttribute('aria-label', `Weights of ${first.images.length} `
        + `first-layer units after ${message.seen.toLocaleString('en')} examples`);
    }
    if (message.watch) this.#showWatch(message.watch);
    this.#lab.progress(message);
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
    const shares = Object.fromEntries(this.#classes.map((name, i) => [name, probabilities[i]]));
    this.#ui.watchBars.show(shares, this.#classes[prediction]);
    this.#ui.watchNote.hidden = true;
  }

  async #done(message) {
    this.#lab.done(message);
    if (message.stop_reason === 'diverged') return this.#diverged(message);
    const accuracy = formatPercent(message.metrics.test.accuracy);
    const how = message.stop_reason === 'time_limit' ? 'It reached the server’s time limit. '
      : message.stopped ? 'You stopped it early. ' : '';
    this.#status(`Done in ${message.training_time_s.toFixed(1)} s. ${how}Test accuracy `
      + `${accuracy} on ${message.metrics.test.count.toLocaleString('en')} MNIST test digits.`);
    this.#ui.download.href = `/models/${encodeURIComponent(message.model)}/download`;
    this.#ui.download.setAttribute('download', `${message.model}.zip`);
    this.#ui.notebook.href = `/models/${encodeURIComponent(message.model)}/notebook`;
    this.#ui.notebook.setAttribute('download', `${message.model}.ipynb`);
    this.#ui.notebook.hidden = Boolean(this.#current?.convolutional); // the notebook is dense only
    this.#ui.result.hidden = false;
    this.#current = null;
    this.#setState('idle'); // before the server closes the socket: a finished run, not a lost one
    this.#modelsTrained += 1;
    this.#drawCharts();
    this.#startNextQueued();
    await this.#offerModel(message.model);
  }

  /** The loss ran away: the run stopped at once and no model was kept. */
  #diverged(message) {
    const alert = message.alerts.find((a) => a.kind === 'diverged');
    const fix = alert?.fix ? ` The alert below offers ${fixText(alert.fix)}.` : '';
    this.#status(`Diverged at epoch ${alert?.epoch ?? '?'}, batch ${alert?.batch ?? '?'}: the run `
      + `stopped and no model was kept.${fix}`);
    this.#current = null;
    this.#setState('idle');
    this.#drawCharts();
    this.#startNextQueued();
  }

  /** An experiment's next run, once the socket of the last one has closed. */
  #startNextQueued() {
    const next = this.#queue.shift();
    if (!next) return;
    setTimeout(() => this.#startWith(next), 300);
  }

  /** "Your model" in the model switch, chosen at once: the diagram, the explanations and
   * "Teach it" all follow the model switch. */
  async #offerModel(name) {
    let summary = { name };
    try {
      // Not in GET /models, which lists the shipped models only: whoever trained it has its name.
      const answer = await fetch(`/models/${encodeURIComponent(name)}`);
      if (answer.ok) summary = await answer.json();
    } catch {
      // the switch still works; the page learns the classes from the model's details
    }
    this.#addModel(summary, this.#modelsTrained === 1 ? 'Your model' : `Your model ${this.#modelsTrained}`);
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
    for (const field of [ui.digits, ui.conv, ui.hidden, ui.activation, ui.epochs, ui.rate,
      ui.optimizer, ui.initializer, ui.l2, ui.dropout, ui.trainExamples, ui.fast]) {
      field.disabled = live;
    }
    for (const button of ui.experimentButtons.values()) button.disabled = live;
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

/** Settings as the form holds them: text, by the socket's names ({learning_rate: 1} → '1'). */
function textOf(settings) {
  return Object.fromEntries(Object.entries(settings).map(([name, value]) => [
    name, Array.isArray(value) ? value.join(',') : value === null ? '' : String(value)]));
}

/** The panel's form (filled from `quickRun`), buttons, messages, charts and weight images,
 * built into `root`. */
function buildPanel(root, quickRun) {
  const field = (label, control, ...rest) => h('label', {}, label, control, ...rest);
  const select = (id, chosen, options) => h('select', { id }, ...options.map(([value, text]) =>
    h('option', value === chosen ? { value, selected: '' } : { value }, text)));
  const hint = (id, text) => h('span', { class: 'field-hint', id }, text);
  const button = (id, text) => h('button', { type: 'button', class: 'button', id, disabled: '' }, text);
  const ui = {
    digits: select('train-digits', quickRun.digits, [['0,1', '0 vs 1'], ['0-9', 'all ten']]),
    conv: h('input', {
      id: 'train-conv', value: (quickRun.conv ?? []).join(','), inputmode: 'numeric',
      spellcheck: 'false', pattern: '\\s*(\\d{1,2}(\\s*,\\s*\\d{1,2})?)?\\s*',
      title: 'Empty for a dense network, or 1 or 2 convolution layers of 1 to 32 filters, like 4,8',
      'aria-describedby': 'train-conv-hint',
    }),
    hidden: h('input', {
      id: 'train-hidden', value: quickRun.hidden.join(','), inputmode: 'numeric', spellcheck: 'false',
      pattern: '\\s*\\d{1,3}(\\s*,\\s*\\d{1,3}){0,3}\\s*',
      title: '1 to 4 layer sizes of 1 to 256 units, like 25,15',
      'aria-describedby': 'train-hidden-hint',
    }),
    activation: select('train-activation', quickRun.activation,
      [['sigmoid', 'sigmoid'], ['relu', 'relu'], ['tanh', 'tanh']]),
    epochs: h('input', { id: 'train-epochs', type: 'number', min: 1, max: 50, step: 1, value: quickRun.epochs }),
    rate: h('input', {
      id: 'train-rate', type: 'number', min: 0.0001, max: 10, step: 'any', value: quickRun.learning_rate,
      'aria-describedby': 'train-rate-hint',
    }),
    optimizer: select('train-optimizer', quickRun.optimizer,
      [['adam', 'Adam'], ['momentum', 'SGD + momentum'], ['sgd', 'plain SGD']]),
    initializer: select('train-initializer', quickRun.initializer,
      [['glorot', 'Glorot (Keras’s)'], ['he', 'He (for ReLU)'], ['zeros', 'zeros'], ['large', 'large (σ = 1)']]),
    l2: h('input', {
      id: 'train-l2', type: 'number', min: 0, max: 0.1, step: 'any', value: quickRun.l2,
      'aria-describedby': 'train-l2-hint',
    }),
    dropout: h('input', {
      id: 'train-dropout', type: 'number', min: 0, max: 0.8, step: 0.05, value: quickRun.dropout,
      'aria-describedby': 'train-dropout-hint',
    }),
    trainExamples: h('input', {
      id: 'train-examples', type: 'number', min: 10, max: 60000, step: 1,
      value: quickRun.train_examples ?? '', placeholder: 'all',
      'aria-describedby': 'train-examples-hint',
    }),
    fast: h('input', { id: 'train-fast', type: 'checkbox' }),
    start: h('button', { type: 'submit', class: 'button', id: 'train-start' }, 'Start'),
    pause: button('train-pause', 'Pause'),
    step: button('train-step', 'Step'),
    resume: button('train-resume', 'Resume'),
    stop: button('train-stop', 'Stop'),
    unavailable: h('p', { class: 'train-unavailable', id: 'train-unavailable', role: 'status', hidden: '' }),
    status: h('p', { class: 'status', id: 'train-status', role: 'status' }),
    error: h('p', { class: 'error', id: 'train-error', role: 'alert', hidden: '' }),
    download: h('a', { class: 'button button-small', id: 'train-download', href: '#' },
      'Download (.keras + card)'),
    // The notebook that rebuilds it in NumPy and trains it again from scratch (docs/api.md).
    notebook: h('a', { class: 'button button-small', id: 'train-notebook', href: '#' },
      'Notebook (.ipynb)'),
    legend: h('ul', { class: 'chart-legend', id: 'train-legend', 'aria-label': 'Runs on the charts' }),
    weights: h('canvas', {
      id: 'train-weights', class: 'train-weights', role: 'img',
      'aria-label': 'Weights of the first-layer units',
    }),
    weightsCaption: h('figcaption', { id: 'train-weights-caption' }),
    watchNote: h('p', { class: 'caption' }, 'Draw a digit to follow it.'),
    watchList: h('ol', {
      class: 'bars', id: 'train-watch',
      'aria-label': 'Probability of each class under the weights so far',
    }),
  };
  ui.fast.checked = quickRun.pace === 'fast';
  ui.experimentButtons = new Map(EXPERIMENTS.map((experiment) => [experiment, h('button', {
    type: 'button', class: 'button button-small', 'data-experiment': experiment.id, disabled: '',
  }, experiment.title)]));
  ui.experimentLook = h('p', { class: 'lab-look', id: 'lab-look', hidden: '' });
  ui.labRoot = h('div', { class: 'train-lab-box' });
  ui.watchBars = new ProbabilityBars(ui.watchList);
  ui.form = h('form', { class: 'train-form', id: 'train-form', hidden: '' },
    h('div', { class: 'train-fields' },
      field('Digits', ui.digits),
      field('Convolutions', ui.conv,
        h('span', { class: 'field-hint', id: 'train-conv-hint' }, 'filters per layer, e.g. 4,8; empty: none')),
      field('Hidden layers', ui.hidden,
        h('span', { class: 'field-hint', id: 'train-hidden-hint' }, 'units per layer, e.g. 25,15')),
      field('Activation', ui.activation),
      field('Epochs', ui.epochs),
      field('Learning rate', ui.rate, hint('train-rate-hint', 'size of each step, up to 10')),
      field('Optimizer', ui.optimizer),
      field('Initial weights', ui.initializer),
      field('L2', ui.l2, hint('train-l2-hint', 'penalty on big weights, 0–0.1')),
      field('Dropout', ui.dropout, hint('train-dropout-hint', 'share of hidden outputs dropped, 0–0.8')),
      field('Training digits', ui.trainExamples, hint('train-examples-hint', 'empty: all; few: it learns them by heart')),
      h('label', { class: 'train-check' }, ui.fast, ' as fast as it can')),
    h('div', { class: 'toolbar train-buttons' }, ui.start, ui.pause, ui.step, ui.resume, ui.stop),
    h('div', { class: 'lab-experiments', id: 'lab-experiments' },
      h('h3', {}, 'Experiments: runs that go wrong on purpose'),
      h('div', { class: 'toolbar lab-experiment-buttons' }, ...ui.experimentButtons.values()),
      ui.experimentLook));
  ui.result = h('p', { class: 'train-result', id: 'train-result', hidden: '' },
    '“Your model” is now in the model switch at the top: draw, and everything on the page uses it. ',
    ui.download, ' ', ui.notebook);
  ui.lossChart = h('canvas', {
    id: 'train-loss-chart', class: 'chart-canvas', role: 'img',
    'aria-label': 'Loss of each run by epoch: training solid, validation dashed',
  });
  ui.accuracyChart = h('canvas', {
    id: 'train-accuracy-chart', class: 'chart-canvas', role: 'img',
    'aria-label': 'Accuracy of each run by epoch: training solid, validation dashed',
  });
  ui.live = h('div', { class: 'train-live chart-grid', id: 'train-live', hidden: '' },
    h('figure', { class: 'chart' }, ui.lossChart,
      h('figcaption', {}, 'Loss (training solid, validation dashed)')),
    h('figure', { class: 'chart' }, ui.accuracyChart,
      h('figcaption', {}, 'Accuracy (training solid, validation dashed)')),
    ui.legend,
    h('figure', { class: 'train-weights-figure' }, ui.weights, ui.weightsCaption),
    h('div', { class: 'train-watch-box' },
      h('h3', {}, 'Your drawing, as it learns'), ui.watchNote, ui.watchList));
  root.append(
    h('p', { class: 'caption' }, 'Train a network on MNIST on this server, with the same recipe as ',
      'the shipped models, and watch it learn: the curves, the first layer’s weights forming from ',
      'noise into strokes, and your drawing’s probabilities changing as it goes.'),
    ui.unavailable, ui.form, ui.status, ui.error, ui.result, ui.live, ui.labRoot);
  return ui;
}
