// The answer at the top of the page, beside the canvas: the predicted class, how sure the
// network is, one probability bar per class, the out-of-distribution warning of a model with a
// detector ("This looks like neither 0 nor 1": docs/models.md), a failed request's message with
// its Try again button, and a sentence on the output layer.
//
// API:
//   const answer = new AnswerPanel(card)   // the answer's <section> in templates/index.html
//   answer.setClasses(classes)             // a model was chosen: one empty bar per class
//   answer.describeModel(details)          // its output layer, in a sentence (GET /models/{name})
//   answer.show(result, classes)           // a /predict answer; `classes` name the warning's
//   answer.clear()                         // no drawing: back to the invitation to draw
//   answer.showError(message) / answer.setBusy(busy)
//   answer.addEventListener('retry', …)    // Try again was pressed

import { byId } from './dom.js';
import { formatPercent, neitherOf } from './format.js';
import { describeOutputLayer } from './output_units.js';
import { ProbabilityBars } from './probability_bars.js';

const EMPTY_STATUS = 'Draw a digit — the network guesses while you draw.';

export class AnswerPanel extends EventTarget {
  #card;
  #ui;
  #bars;

  constructor(card) {
    super();
    this.#card = card;
    this.#ui = {
      prediction: byId('prediction'),
      status: byId('status'),
      oodWarning: byId('ood-warning'),
      error: byId('error'),
      errorMessage: byId('error-message'),
      note: byId('answer-note'),
    };
    this.#bars = new ProbabilityBars(byId('bars'));
    byId('retry-button').addEventListener('click', () => this.dispatchEvent(new Event('retry')));
  }

  setClasses(classes) {
    this.#bars.setClasses(classes.map(String));
  }

  describeModel(details) {
    this.#ui.note.textContent = describeOutputLayer(details);
  }

  show(result, classes) {
    const ui = this.#ui;
    this.#hideError();
    this.#card.classList.remove('is-stale', 'is-empty');
    const label = String(result.label ?? result.prediction);
    const probability = Number(result.probabilities?.[label]);
    ui.prediction.textContent = label;
    ui.status.textContent = Number.isFinite(probability)
      ? `${formatPercent(probability)} sure it is a ${label}.`
      : `The network says ${label}.`;
    this.#bars.show(result.probabilities ?? {}, label);
    this.#showOutOfDistribution(result, classes ?? Object.keys(result.probabilities ?? {}));
  }

  clear() {
    const ui = this.#ui;
    this.#hideError();
    this.#card.classList.remove('is-stale');
    this.#card.classList.add('is-empty');
    ui.prediction.textContent = '–';
    ui.status.textContent = EMPTY_STATUS;
    ui.oodWarning.hidden = true;
    this.#bars.clear();
  }

  showError(message) {
    const ui = this.#ui;
    ui.errorMessage.textContent = message;
    ui.error.hidden = false;
    this.#card.classList.add('is-stale');
    ui.status.textContent = 'No answer for the latest drawing.';
  }

  setBusy(busy) {
    this.#card.classList.toggle('is-busy', busy);
  }

  #hideError() {
    this.#ui.error.hidden = true;
    this.#ui.errorMessage.textContent = '';
  }

  #showOutOfDistribution(result, classes) {
    const warning = this.#ui.oodWarning;
    // Only an explicit `false` means out of distribution; null/absent: the model has no detector.
    if (result.in_distribution !== false) {
      warning.hidden = true;
      warning.textContent = '';
      return;
    }
    const score = Number(result.ood_score);
    const threshold = Number(result.ood_threshold);
    const numbers = Number.isFinite(score) && Number.isFinite(threshold)
      ? ` (out-of-distribution score ${score.toFixed(2)}, threshold ${threshold.toFixed(2)})` : '';
    const headline = document.createElement('strong');
    headline.textContent = `This looks like ${neitherOf(classes)}.`;
    warning.replaceChildren(headline, ' The network still has to pick one of them, so take '
      + `its answer with a grain of salt${numbers}.`);
    warning.hidden = false;
  }
}
