// digit-lens page: wires the drawing canvas to /predict and shows what each layer did.
// Server values come from data-* attributes on #app (no inline scripts: the page runs under a
// strict Content-Security-Policy). The diagram (DiagramView) paints whatever picture
// renderNetwork() hands it: forwardPicture(), or backwardPicture() once the "Teach it" panel
// (teach_panel.js) has the backward pass for a chosen target.

import { BackwardExplainer } from './backward_explainer.js';
import { backwardPicture } from './backward_picture.js';
import { DiagramView } from './diagram_view.js';
import { byId } from './dom.js';
import { DrawingCanvas } from './drawing_canvas.js';
import { formatPercent, neitherOf } from './format.js';
import { forwardPicture } from './forward_picture.js';
import { InputPreview } from './input_preview.js';
import { ModelDetails } from './model_details.js';
import { describeOutputLayer } from './output_units.js';
import { PredictClient } from './predict_client.js';
import { ProbabilityBars } from './probability_bars.js';
import { TeachPanel } from './teach_panel.js';
import { TrainPanel } from './train_panel.js';
import { UnitExplainer } from './unit_explainer.js';

const EMPTY_STATUS = 'Draw a digit — the network guesses while you draw.';

const app = byId('app');
const models = parseModels(app.dataset.models);
const modelSummaries = new Map(models.map((model) => [model.name, model]));

const ui = {
  canvasHint: byId('canvas-hint'),
  undoButton: byId('undo-button'),
  clearButton: byId('clear-button'),
  answerCard: byId('answer-card'),
  prediction: byId('prediction'),
  status: byId('status'),
  oodWarning: byId('ood-warning'),
  error: byId('error'),
  errorMessage: byId('error-message'),
  retryButton: byId('retry-button'),
  modelSwitch: byId('model-switch'),
  answerNote: byId('answer-note'),
};

const drawing = new DrawingCanvas(byId('drawing-canvas'));
const preview = new InputPreview(byId('input-preview'));
const bars = new ProbabilityBars(byId('bars'));
const diagram = new DiagramView(byId('network-diagram'), byId('diagram-wrap'));
const explainer = new UnitExplainer(byId('unit-explainer'));
const backwardMaths = new BackwardExplainer(byId('backward-explainer'));
const teach = new TeachPanel(byId('teach-panel'), {
  frame: byId('input-gradient-figure'),
  canvas: byId('input-gradient'),
  caption: byId('input-gradient-caption'),
}, {
  readDrawing: () => (drawing.isEmpty() ? null : { model: state.model, image: drawing.toDataURL() }),
});

// "Train your own": a trained model joins the switch (modelSummaries gives its classes).
const training = new TrainPanel({
  shippedModels: models, addModel: (m) => modelSummaries.set(m.name, m),
});

const state = {
  model: modelSummaries.has(app.dataset.defaultModel) ? app.dataset.defaultModel : models[0]?.name,
  // Bumped whenever older answers stop being wanted (undo, clear, model switch).
  epoch: 0,
  details: null,
  result: null,
  pinned: null,
  hovered: null,
  // The connection whose weight gradient is explained ({into, source, target}), or null.
  connection: null,
};
const modelDetails = new ModelDetails(modelSummaries);

const client = new PredictClient({
  readDrawing: () => (drawing.isEmpty() ? null : {
    model: state.model,
    epoch: state.epoch,
    image: drawing.toDataURL(),
  }),
  onResult: (result, snapshot) => {
    if (!isStale(snapshot)) showResult(result);
  },
  onError: (error, snapshot) => {
    if (!isStale(snapshot)) showError(error);
  },
  onBusyChange: (busy) => ui.answerCard.classList.toggle('is-busy', busy),
});

function isStale(snapshot) {
  return snapshot.epoch !== state.epoch || snapshot.model !== state.model || drawing.isEmpty();
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
  if (kind === 'undo' || kind === 'clear' || kind === 'restore') state.epoch += 1;
  if (drawing.isEmpty()) {
    client.cancelPending();
    resetAnswer();
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
ui.retryButton.addEventListener('click', () => {
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
  hideError();
  ui.answerCard.classList.remove('is-stale', 'is-empty');
  const label = String(result.label ?? result.prediction);
  const probability = Number(result.probabilities?.[label]);
  ui.prediction.textContent = label;
  ui.status.textContent = Number.isFinite(probability)
    ? `${formatPercent(probability)} sure it is a ${label}.`
    : `The network says ${label}.`;
  bars.show(result.probabilities ?? {}, label);
  if (Array.isArray(result.input)) preview.show(result.input);
  showOutOfDistribution(result);
  ensureDiagramModel(result);
  renderNetwork();
  teach.drawingChanged();
  training.watch(result.input);
}

function showOutOfDistribution(result) {
  // Only an explicit `false` means "unusual"; null/absent means the model has no detector.
  if (result.in_distribution === false) {
    const classes = modelSummaries.get(state.model)?.classes ?? Object.keys(result.probabilities ?? {});
    const score = Number(result.ood_score);
    const threshold = Number(result.ood_threshold);
    const numbers = Number.isFinite(score) && Number.isFinite(threshold)
      ? ` (unusualness score ${score.toFixed(2)}, limit ${threshold.toFixed(2)})` : '';
    const headline = document.createElement('strong');
    headline.textContent = `This looks like ${neitherOf(classes)}.`;
    ui.oodWarning.replaceChildren(headline, ` The network still has to pick one of them, so take `
      + `its answer with a grain of salt${numbers}.`);
    ui.oodWarning.hidden = false;
  } else {
    ui.oodWarning.hidden = true;
    ui.oodWarning.textContent = '';
  }
}

function resetAnswer() {
  state.result = null;
  hideError();
  ui.answerCard.classList.remove('is-stale');
  ui.answerCard.classList.add('is-empty');
  ui.prediction.textContent = '–';
  ui.status.textContent = EMPTY_STATUS;
  ui.oodWarning.hidden = true;
  bars.clear();
  preview.clear();
  state.connection = null;
  teach.reset();
  renderNetwork();
}

function showError(error) {
  ui.errorMessage.textContent = `${error.message} Your drawing is kept: press Try again or keep drawing.`;
  ui.error.hidden = false;
  ui.answerCard.classList.add('is-stale');
  ui.status.textContent = 'No answer for the latest drawing.';
}

function hideError() {
  ui.error.hidden = true;
  ui.errorMessage.textContent = '';
}

// --- Model and diagram ------------------------------------------------------------------------

async function useModel(name) {
  state.model = name;
  state.epoch += 1;
  state.pinned = null;
  state.hovered = null;
  client.cancelPending();
  bars.setClasses((modelSummaries.get(name)?.classes ?? []).map(String));
  // The previous model's diagram stays, without an answer, until this model's details arrive.
  resetAnswer();
  state.details = null;
  try {
    const details = await modelDetails.load(name);
    if (state.model !== name) return;
    setDiagramModel(details);
  } catch (error) {
    if (state.model !== name) return;
    showError({ message: `Could not load the model “${name}” (${error.message}); the diagram will `
      + 'show units without weights.' });
  }
  if (!drawing.isEmpty()) client.schedule({ urgent: true });
}

function setDiagramModel(details) {
  state.details = details;
  ui.answerNote.textContent = describeOutputLayer(details);
  diagram.setModel(details);
  explainer.setModel(details);
  backwardMaths.setModel(details);
  teach.setModel(details);
  renderNetwork();
}

/** Without GET /models/{name}, draw the units from the answer itself (no weights, no lines). */
function ensureDiagramModel(result) {
  if (state.details || !Array.isArray(result.layers)) return;
  if (!modelDetails.requested(state.model)) {
    setDiagramModel({
      name: state.model,
      classes: (modelSummaries.get(state.model)?.classes ?? Object.keys(result.probabilities)).map(String),
      layers: result.layers.map(({ name, units, activation, values }) => ({
        name, activation, units: units ?? values.length,
      })),
    });
  }
}

diagram.addEventListener('unitpick', (event) => {
  state.pinned = event.detail.ref;
  renderNetwork();
});
diagram.addEventListener('unithover', (event) => {
  state.hovered = event.detail.ref;
  renderNetwork();
});
explainer.addEventListener('close', () => {
  state.pinned = null;
  state.hovered = null;
  renderNetwork();
});

/** Paint the diagram and the explanation for the current answer and the unit being shown:
 * the forward pass, or the backward pass once "Teach it" has a target. */
function renderNetwork() {
  const shown = state.hovered ?? state.pinned;
  const gradients = state.details ? teach.gradients : null;
  if (state.details) {
    diagram.paint(gradients ? backwardPicture(state.details, gradients, shown)
      : forwardPicture(state.details, state.result, shown));
  }
  byId('network-diagram').classList.toggle('is-backward', Boolean(gradients));
  byId('forward-legend').hidden = Boolean(gradients);
  byId('backward-legend').hidden = !gradients;
  if (shown && state.details) {
    explainer.show(shown, state.result);
  } else {
    explainer.hide();
  }
  backwardMaths.show({ unit: shown, connection: state.connection }, gradients);
}

teach.addEventListener('change', () => {
  state.connection = null;
  renderNetwork();
});
backwardMaths.addEventListener('connectionpick', (event) => {
  state.connection = event.detail.connection;
  renderNetwork();
});
// A line of the backward diagram explains its own weight gradient when clicked.
diagram.addEventListener('edgepick', (event) => {
  if (!teach.gradients) return;
  state.connection = event.detail.edge;
  renderNetwork();
});

ui.modelSwitch.addEventListener('change', (event) => {
  if (event.target.name === 'model' && event.target.value !== state.model) useModel(event.target.value);
});
if (models.length < 2) ui.modelSwitch.classList.add('is-single');

updateDrawingControls();
if (state.model) {
  useModel(state.model);
} else {
  showError({ message: 'The server listed no models, so there is nothing to ask.' });
}
