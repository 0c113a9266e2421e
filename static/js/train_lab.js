// The training lab's view of a run (train_panel.js feeds it the socket's messages, docs/api.md):
// each layer's gradient norm over the run on a log scale, histograms of each layer's weights and
// activations that move as it trains, the saturated and dead shares, and the alerts where they
// arose, each fix a button that starts a run with it (the 'fix' event).

import { drawHistogram, gradientNormChart } from './charts.js';
import { LAYER_COLOURS } from './colors.js';
import { h } from './dom.js';

const KIND_TITLES = {
  diverged: 'Diverged',
  not_learning: 'Not learning',
  saturated: 'Saturated units',
  dead_units: 'Dead units',
  vanishing_gradient: 'Vanishing gradient',
  symmetric: 'Symmetric units',
};
const WEIGHTS_COLOUR = '#475569';
const ACTIVATIONS_COLOUR = '#7c3aed';

export class TrainingLab extends EventTarget {
  #ui;
  #chart;
  #runs = []; // {label, layers: {name → [[x, norm], …]}} of the last two runs
  #examples = 1;
  #epochs = 1;
  #shownAlerts = 0;
  #layerRows = new Map(); // name → {row, weights, activations, shares}

  /** Builds into `root`. Fires 'fix' with `detail` the settings to change for the next run. */
  constructor(root) {
    super();
    this.#ui = buildLab(root);
    this.#chart = gradientNormChart(this.#ui.chart);
  }

  /** A run began (its `started` message, and its label on the charts). */
  start(started, label) {
    this.#examples = started.examples.train;
    this.#epochs = started.settings.epochs;
    this.#runs = [...this.#runs.slice(-1), { label, layers: new Map() }];
    this.#shownAlerts = 0;
    this.#ui.alerts.replaceChildren();
    this.#ui.alertsNone.hidden = false;
    this.#ui.root.hidden = !started.settings.signals;
    this.#layerRows.clear();
    this.#ui.layers.replaceChildren();
    this.#draw();
  }

  /** A `progress` message with `layers` and `alerts`. */
  progress(message) {
    if (!message.layers) return;
    const run = this.#runs.at(-1);
    const x = message.seen / this.#examples;
    for (const layer of message.layers) {
      if (!run.layers.has(layer.name)) run.layers.set(layer.name, []);
      if (layer.gradient_norm > 0) run.layers.get(layer.name).push([x, layer.gradient_norm]);
      this.#showLayer(layer);
    }
    this.#showAlerts(message.alerts);
    this.#ui.layersCaption.textContent = `Each layer after ${message.seen.toLocaleString('en')} `
      + `examples (epoch ${message.epoch}, batch ${message.batch}): the histograms of its weights `
      + 'and of its outputs on the last batch.';
    this.#draw();
  }

  /** The run's `done` message: its alerts (a diverged run has one more). */
  done(message) {
    if (message.alerts) this.#showAlerts(message.alerts);
  }

  #draw() {
    const series = this.#runs.flatMap((run, r) => {
      const faded = r < this.#runs.length - 1;
      return [...run.layers.entries()].map(([, points], i) => ({
        colour: LAYER_COLOURS[i % LAYER_COLOURS.length], points, faded, dashed: faded,
      }));
    });
    this.#chart.setSeries(series, { minX: this.#epochs });
    const names = [...(this.#runs.at(-1)?.layers.keys() ?? [])];
    this.#ui.legend.replaceChildren(...names.map((name, i) => {
      const swatch = h('span', { class: 'chart-swatch' });
      swatch.style.setProperty('--colour', LAYER_COLOURS[i % LAYER_COLOURS.length]);
      return h('li', {}, swatch, name);
    }));
    const before = this.#runs.length > 1 ? this.#runs[0].label : '';
    this.#ui.chartCaption.textContent = 'Gradient norm of each layer’s weights on the last batch, '
      + 'log scale: a line far below the others is a layer that hardly learns.'
      + (before ? ` Dashed: the run before (${before}).` : '');
  }

  #showLayer(layer) {
    let row = this.#layerRows.get(layer.name);
    if (!row) {
      row = layerRow(layer, this.#layerRows.size);
      this.#layerRows.set(layer.name, row);
      this.#ui.layers.append(row.root);
    }
    drawHistogram(row.weights, layer.histograms.weights, WEIGHTS_COLOUR);
    drawHistogram(row.activations, layer.histograms.activations, ACTIVATIONS_COLOUR);
    row.shares.textContent = shareText(layer);
  }

  #showAlerts(alerts) {
    for (const alert of alerts.slice(this.#shownAlerts)) {
      this.#ui.alerts.append(this.#alertItem(alert));
      const row = this.#layerRows.get(alert.layer);
      if (row) {
        row.root.classList.add('has-alert');
        row.badges.append(h('span', { class: 'lab-badge' }, KIND_TITLES[alert.kind] ?? alert.kind));
      }
    }
    this.#shownAlerts = Math.max(this.#shownAlerts, alerts.length);
    this.#ui.alertsNone.hidden = alerts.length > 0;
  }

  #alertItem(alert) {
    const where = `epoch ${alert.epoch}, batch ${alert.batch}${alert.layer ? `, ${alert.layer}` : ''}`;
    const item = h('li', { class: `lab-alert lab-alert-${alert.kind}`, 'data-kind': alert.kind },
      h('strong', {}, KIND_TITLES[alert.kind] ?? alert.kind),
      h('span', { class: 'lab-alert-where' }, ` (${where})`),
      h('p', {}, alert.detail));
    if (alert.fix) {
      const button = h('button', { type: 'button', class: 'button button-small lab-fix' },
        `Try ${fixText(alert.fix)}`);
      button.addEventListener('click', () => this.dispatchEvent(new CustomEvent('fix', { detail: alert.fix })));
      item.append(button);
    }
    return item;
  }
}

/** {learning_rate: 1} → "learning rate 1"; several changes joined with "and". */
export function fixText(fix) {
  return Object.entries(fix).map(([name, value]) => `${name.replace(/_/g, ' ')} ${value}`).join(' and ');
}

function shareText(layer) {
  const parts = [`${layer.units} ${layer.activation} unit${layer.units === 1 ? '' : 's'}`];
  if (layer.saturated !== null && layer.saturated !== undefined) {
    parts.push(`${Math.round(layer.saturated * 100)}% saturated`);
  }
  if (layer.dead !== null && layer.dead !== undefined) parts.push(`${Math.round(layer.dead * 100)}% dead`);
  if (layer.update_ratio) parts.push(`step ${(layer.update_ratio * 100).toPrecision(2)}% of ‖W‖`);
  return parts.join(' · ');
}

function layerRow(layer, index) {
  const canvas = (what) => h('canvas', {
    class: 'lab-histogram', role: 'img',
    'aria-label': `Histogram of ${layer.name}'s ${what}`,
  });
  const weights = canvas('weights');
  const activations = canvas('outputs on the last batch');
  const swatch = h('span', { class: 'chart-swatch' });
  swatch.style.setProperty('--colour', LAYER_COLOURS[index % LAYER_COLOURS.length]);
  const shares = h('span', { class: 'lab-shares' });
  const badges = h('span', { class: 'lab-badges' });
  const root = h('div', { class: 'lab-layer', 'data-layer': layer.name },
    h('h4', {}, swatch, layer.name, badges),
    shares,
    h('figure', { class: 'lab-figure' }, weights, h('figcaption', {}, 'weights')),
    h('figure', { class: 'lab-figure' }, activations, h('figcaption', {}, 'outputs')));
  return { root, weights, activations, shares, badges };
}

function buildLab(root) {
  const ui = {
    chart: h('canvas', {
      id: 'lab-gradient-chart', class: 'chart-canvas', role: 'img',
      'aria-label': 'Gradient norm of each layer over the run, log scale',
    }),
    chartCaption: h('figcaption', {}),
    legend: h('ul', { class: 'chart-legend', id: 'lab-legend', 'aria-label': 'Layers on the gradient chart' }),
    layers: h('div', { class: 'lab-layers', id: 'lab-layers' }),
    layersCaption: h('p', { class: 'caption' }),
    alerts: h('ol', { class: 'lab-alerts', id: 'lab-alerts', 'aria-live': 'polite' }),
    alertsNone: h('p', { class: 'caption', id: 'lab-alerts-none' }, 'No alerts: nothing has gone wrong so far.'),
  };
  ui.root = h('div', { class: 'lab', id: 'lab', hidden: '' },
    h('h3', {}, 'What went wrong? Alerts'),
    ui.alertsNone, ui.alerts,
    h('h3', {}, 'Gradients, layer by layer'),
    h('figure', { class: 'chart lab-chart' }, ui.chart, ui.chartCaption),
    ui.legend,
    h('h3', {}, 'Weights and outputs, layer by layer'),
    ui.layersCaption, ui.layers);
  root.append(ui.root);
  return ui;
}
