// "How it was trained": a model card's per-epoch curves, its confusion matrix on the MNIST test
// set, and some of the test digits it misreads, from GET /models/{name}/training, fetched once
// per model and only when asked for.
//
// API:
//   const report = new TrainingReport(root)   // builds its charts and tables into `root`
//   report.show(name)                         // the report of model `name`

import { decodeBytes, drawDigit, lossAndAccuracyCharts } from './charts.js';
import { RUN_COLOURS } from './colors.js';
import { h } from './dom.js';
import { formatPercent } from './format.js';


export class TrainingReport {
  #ui;
  #lossChart;
  #accuracyChart;
  #reports = new Map();
  #shown = null; // the model whose report is wanted

  constructor(root) {
    const chart = (id, label, caption) => h('figure', { class: 'chart' },
      h('canvas', { id, class: 'chart-canvas', role: 'img', 'aria-label': label }),
      h('figcaption', {}, caption));
    this.#ui = {
      summary: h('p', { class: 'caption', id: 'report-summary', 'aria-live': 'polite' }),
      confusion: h('table', { class: 'confusion', id: 'report-confusion' }),
      misread: h('div', { class: 'misread', id: 'report-misread' }),
      misreadNote: h('p', { class: 'caption', id: 'report-misread-note' }),
    };
    const charts = h('div', { class: 'report-charts chart-grid' },
      chart('report-loss-chart', 'Loss by epoch from the model card: training solid, validation dashed',
        'Loss per epoch (training solid, validation dashed)'),
      chart('report-accuracy-chart',
        'Accuracy by epoch from the model card: training solid, validation dashed',
        'Accuracy per epoch (training solid, validation dashed)'));
    root.append(this.#ui.summary, charts,
      h('div', { class: 'report-tables' }, this.#ui.confusion,
        h('div', {}, this.#ui.misreadNote, this.#ui.misread)));
    [this.#lossChart, this.#accuracyChart] = lossAndAccuracyCharts(
      charts.querySelector('#report-loss-chart'), charts.querySelector('#report-accuracy-chart'));
  }

  async show(name) {
    this.#shown = name;
    if (!this.#reports.has(name)) {
      const request = fetch(`/models/${encodeURIComponent(name)}/training`).then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      });
      request.catch(() => this.#reports.delete(name));
      this.#reports.set(name, request);
    }
    this.#ui.summary.textContent = `Loading how ${name} was trained…`;
    try {
      const report = await this.#reports.get(name);
      if (this.#shown === name) this.#render(name, report);
    } catch (error) {
      if (this.#shown === name) {
        this.#ui.summary.textContent = `Could not load how ${name} was trained (${error.message}).`;
      }
    }
  }

  #render(name, report) {
    const history = report.history ?? {};
    const curve = (values) => (values ?? []).map((y, i) => [i + 1, y]);
    const epochs = (history.loss ?? []).length;
    // One run, so one colour, as in "Train your own": training solid, validation dashed.
    const series = (metric) => [
      { colour: RUN_COLOURS[0], points: curve(history[metric]), dots: true },
      { colour: RUN_COLOURS[0], points: curve(history[`val_${metric}`]), dashed: true, dots: true },
    ];
    this.#lossChart.setSeries(series('loss'), { minX: Math.max(1, epochs) });
    this.#accuracyChart.setSeries(series('accuracy'), { minX: Math.max(1, epochs) });
    const test = report.test ?? {};
    this.#ui.summary.textContent = `${name}: ${epochs} epochs. On the ${Number(test.count).toLocaleString('en')} `
      + `MNIST test digits: ${formatPercent(test.accuracy)} right, ${report.misread_count} wrong.`;
    this.#renderConfusion(report.classes, test.confusion_matrix ?? []);
    this.#renderMisread(report);
  }

  #renderConfusion(classes, matrix) {
    const table = this.#ui.confusion;
    const caption = document.createElement('caption');
    caption.textContent = 'Test digits by true class (rows) and the class the model gave (columns)';
    const head = document.createElement('tr');
    head.append(document.createElement('td'));
    for (const name of classes) head.append(h('th', { scope: 'col' }, name));
    const rows = matrix.map((counts, i) => {
      const row = document.createElement('tr');
      row.append(h('th', { scope: 'row' }, classes[i]));
      const total = counts.reduce((a, b) => a + b, 0) || 1;
      counts.forEach((count, j) => {
        const td = h('td', {}, String(count));
        // Shade by the share of the row: the diagonal dark, the confusions visible.
        td.style.setProperty('--share', String(count / total));
        td.className = i === j ? 'is-right' : count ? 'is-wrong' : '';
        row.append(td);
      });
      return row;
    });
    const thead = document.createElement('thead');
    thead.append(head);
    const tbody = document.createElement('tbody');
    tbody.append(...rows);
    table.replaceChildren(caption, thead, tbody);
  }

  #renderMisread(report) {
    const figures = report.misread.filter((m) => m.image).map((m) => {
      const figure = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `A ${m.true} the model read as ${m.predicted}`);
      drawDigit(canvas, decodeBytes(m.image));
      const caption = document.createElement('figcaption');
      caption.textContent = `${m.true} → ${m.predicted}`;
      figure.append(canvas, caption);
      return figure;
    });
    this.#ui.misread.replaceChildren(...figures);
    this.#ui.misreadNote.textContent = report.misread_count === 0
      ? 'It reads every test digit right.'
      : report.images_note ? `(${report.images_note}.)`
        : `${figures.length} of the ${report.misread_count} test digits it misreads: true digit → its answer.`;
  }
}
