// digit-lens page: the part every section shares. The canvas and the answer at the top, the
// model switch, and `page`, the current drawing and model that every section works on
// (sections.js opens the sections and says how to add one). Server values come from data-*
// attributes on #app (no inline scripts: the page runs under a strict Content-Security-Policy).
// The URL's hash holds the open section, the model and the section's settings (url_state.js).

import { AnswerPanel } from './answer_panel.js';
import { byId, h } from './dom.js';
import { DrawingCanvas } from './drawing_canvas.js';
import { ModelDetails } from './model_details.js';
import { NetworkView } from './network_view.js';
import { PredictClient } from './predict_client.js';
import { SECTIONS, Sections } from './sections.js';
import { readUrlState, writeUrlState } from './url_state.js';

const app = byId('app');
const models = parseModels(app.dataset.models);
// The settings a run from "Train your own" starts with: the server's, by the socket's names.
const quickRun = JSON.parse(app.dataset.quickRun);
// The models the page was served with; models trained on the page join modelSummaries only.
const servedModels = new Set(models.map((model) => model.name));
const modelSummaries = new Map(models.map((model) => [model.name, model]));
const modelDetails = new ModelDetails(modelSummaries);

const ui = {
  canvasHint: byId('canvas-hint'),
  undoButton: byId('undo-button'),
  clearButton: byId('clear-button'),
  modelSwitch: byId('model-switch'),
};

const drawing = new DrawingCanvas(byId('drawing-canvas'));
const answer = new AnswerPanel(byId('answer-card'));

const state = {
  model: modelSummaries.has(app.dataset.defaultModel) ? app.dataset.defaultModel : models[0]?.name,
  // A staleness counter: bumped whenever answers already asked for stop being wanted (undo,
  // clear, model switch); an answer whose snapshot holds an older count is dropped.
  answerGeneration: 0,
  // GET /models/{name} of the model, or (if that failed) its layers as an answer gave them.
  details: null,
  // The /predict answer for the drawing as it is, or null.
  result: null,
  // What the open section asks /predict for besides the answer ({steps, fit, centre}), or {}.
  predictOptions: {},
};

let network = null;

/** What every section works on (see sections.js). */
const page = {
  /** The settings "Train your own" starts from ({digits: '0,1', hidden: [25, 15], …}). */
  get quickRun() {
    return quickRun;
  },
  /** The name of the current model. */
  get model() {
    return state.model;
  },
  /** Its GET /models/{name} (classes, layers with weights), or null while it loads. */
  get details() {
    return state.details;
  },
  /** The /predict answer for the current drawing, or null (no drawing, or not answered yet). */
  get result() {
    return state.result;
  },
  /** {model, image} to send for the current drawing, or null when the canvas is empty. */
  readDrawing: () => (drawing.isEmpty() ? null : { model: state.model, image: drawing.toDataURL() }),
  /** The diagram and the explainer, shared by every section that shows the network. */
  get network() {
    network ??= new NetworkView();
    return network;
  },
  /** The open section's settings in the URL ({name: text}). */
  get settings() {
    const url = readUrlState();
    return url.section === sections.openId ? url.settings : {};
  },
  /** Ask /predict for more, or differently ({steps: true, fit: false, …}: see docs/api.md),
   * from now on; the drawing is predicted again when they change. {} goes back to the default. */
  setPredictOptions(options) {
    if (JSON.stringify(options) === JSON.stringify(state.predictOptions)) return;
    state.predictOptions = options;
    state.answerGeneration += 1;
    if (!drawing.isEmpty()) client.schedule({ urgent: true });
  },
  /** Put the open section's settings in the URL, for a link that opens it so. */
  saveSettings(settings) {
    writeUrl(settings);
  },
  /** A model trained on the page joins the model switch under `title`, and is chosen. */
  addModel(summary, title) {
    modelSummaries.set(summary.name, summary);
    const input = h('input', { type: 'radio', name: 'model', value: summary.name });
    ui.modelSwitch.append(h('label', { class: 'model-option' }, input, h('span', {}, title)));
    ui.modelSwitch.classList.remove('is-single');
    input.checked = true;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  },
};

const sections = new Sections(byId('section-links'), byId('sections'), page);

const client = new PredictClient({
  readDrawing: () => (drawing.isEmpty() ? null : {
    model: state.model,
    answerGeneration: state.answerGeneration,
    image: drawing.toDataURL(),
    options: state.predictOptions,
  }),
  onResult: (result, snapshot) => {
    if (!isStale(snapshot)) showResult(result);
  },
  onError: (error, snapshot) => {
    if (!isStale(snapshot)) {
      answer.showError(`${error.message} Your drawing is kept: press Try again or keep drawing.`);
    }
  },
  onBusyChange: (busy) => answer.setBusy(busy),
});

function isStale(snapshot) {
  return snapshot.answerGeneration !== state.answerGeneration
    || snapshot.model !== state.model || drawing.isEmpty();
}

function parseModels(json) {
  try {
    const parsed = JSON.parse(json || '[]');
    return Array.isArray(parsed) ? parsed.filter((model) => model && model.name) : [];
  } catch {
    return [];
  }
}

// --- Drawing --------------------------------------------------------------------------------

drawing.addEventListener('change', (event) => {
  const { kind } = event.detail;
  updateDrawingControls();
  if (kind === 'undo' || kind === 'clear' || kind === 'restore') state.answerGeneration += 1;
  if (drawing.isEmpty()) {
    client.cancelPending();
    clearAnswer();
    return;
  }
  client.schedule({ urgent: kind !== 'strokestart' && kind !== 'strokemove' });
});

function updateDrawingControls() {
  // Called for every pointer move: only touch the DOM when something changes.
  const empty = drawing.isEmpty();
  if (ui.undoButton.disabled !== !drawing.canUndo) ui.undoButton.disabled = !drawing.canUndo;
  if (ui.clearButton.disabled !== empty) ui.clearButton.disabled = empty;
  if (ui.canvasHint.hidden !== !empty) ui.canvasHint.hidden = !empty;
}

ui.undoButton.addEventListener('click', () => drawing.undo());
ui.clearButton.addEventListener('click', () => drawing.clear());
answer.addEventListener('retry', () => {
  if (!drawing.isEmpty()) client.schedule({ urgent: true });
});

document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented || event.altKey || isTypingTarget(event.target)) return;
  const key = event.key;
  const command = event.ctrlKey || event.metaKey;
  if ((command && !event.shiftKey && key.toLowerCase() === 'z') || (!command && key === 'Backspace')) {
    event.preventDefault();
    drawing.undo();
  } else if (!command && (key === 'Escape' || key === 'Delete')) {
    if (drawing.isEmpty()) return;
    event.preventDefault();
    drawing.clear();
  }
});

function isTypingTarget(target) {
  return Boolean(target?.closest?.('textarea, select, [contenteditable], input:not([type=radio])'));
}

// --- Answer ---------------------------------------------------------------------------------

function showResult(result) {
  state.result = result;
  answer.show(result, modelSummaries.get(state.model)?.classes);
  ensureDetails(result);
  sections.update();
}

function clearAnswer() {
  state.result = null;
  answer.clear();
  sections.update();
}

// --- Model ----------------------------------------------------------------------------------

async function useModel(name) {
  state.model = name;
  state.answerGeneration += 1;
  client.cancelPending();
  for (const radio of ui.modelSwitch.querySelectorAll('input[name="model"]')) {
    radio.checked = radio.value === name;
  }
  answer.setClasses(modelSummaries.get(name)?.classes ?? []);
  // The previous model's diagram stays, without an answer, until this model's details arrive.
  state.details = null;
  clearAnswer();
  try {
    const details = await modelDetails.load(name);
    if (state.model !== name) return;
    setDetails(details);
  } catch (error) {
    if (state.model !== name) return;
    answer.showError(`Could not load the model “${name}” (${error.message}); the diagram will `
      + 'show units without weights.');
  }
  if (!drawing.isEmpty()) client.schedule({ urgent: true });
}

function setDetails(details) {
  state.details = details;
  answer.describeModel(details);
  sections.update();
}

/** Without GET /models/{name}, draw the units from the answer itself (no weights, no lines). */
function ensureDetails(result) {
  if (state.details || !Array.isArray(result.layers) || modelDetails.requested(state.model)) return;
  setDetails({
    name: state.model,
    classes: (modelSummaries.get(state.model)?.classes ?? Object.keys(result.probabilities)).map(String),
    layers: result.layers.map(({ name, units, activation, values }) => ({
      name, activation, units: units ?? values.length,
    })),
  });
}

ui.modelSwitch.addEventListener('change', (event) => {
  if (event.target.name !== 'model' || event.target.value === state.model) return;
  useModel(event.target.value);
  writeUrl(page.settings);
});
if (models.length < 2) ui.modelSwitch.classList.add('is-single');

// --- The URL: the open section, the model, the section's settings ----------------------------

/** Open what the URL names: on load, and whenever the hash changes (a section link, Back). */
function followUrl({ focus }) {
  const url = readUrlState();
  const section = sections.has(url.section) ? url.section : SECTIONS[0].id;
  const model = servedModels.has(url.model) ? url.model : state.model;
  if (model !== state.model) useModel(model);
  sections.open(section, { focus }); // brings it up to date if it is open: its settings may differ
  // The hash says what is shown: a section and model it left out, not one it named wrongly.
  if (window.location.hash) writeUrl(url.settings);
}

/** The open section, the model and `settings` in the URL. A model trained on the page is left
 * out: it lives on the server for a while only, and its name is for whoever trained it. */
function writeUrl(settings) {
  const model = servedModels.has(state.model) ? state.model : null;
  writeUrlState({ section: sections.openId, model, settings });
}

window.addEventListener('hashchange', () => followUrl({ focus: true }));

updateDrawingControls();
if (state.model) {
  const linked = readUrlState().model;
  useModel(servedModels.has(linked) ? linked : state.model);
  followUrl({ focus: false });
} else {
  answer.showError('The server listed no models, so there is nothing to ask.');
  sections.open(SECTIONS[0].id);
}
