// "How each shipped model was trained": a model card's per-epoch curves, its confusion matrix
// on the MNIST test set, and some of the test digits it misreads, from GET /models/{name}/training.
// Loaded when the section is first opened, one model at a time.

import { decodeBytes, drawDigit, lossAndAccuracyCharts } from './charts.js';
import { byId, h } from './dom.js';
import { formatPercent } from './format.js';

const TRAIN_COLOUR = '#4338ca';
const VALIDATION_COLOUR = '#d97706';

export class TrainingReport {
  #ui;
  #lossChart;
  #accuracyChart;
  #reports = new Map();

  /** `models`: the shipped models ({name, …}) the page was served with. */
  constructor(models) {
    this.#ui = {
      section: byId('shipped-report'),
      choice: byId('report-model'),
      summary: byId('report-summary'),
      confusion: byId('report-confusion'),
      misread: byId('report-misread'),
      misreadNote: byId('report-misread-note'),
    };
    [this.#lossChart, this.#accuracyChart] = lossAndAccuracyCharts(
      byId('report-loss-chart'), byId('report-accuracy-chart'));
    for (const model of models) {
      const option = document.createElement('option');
      option.value = model.name;
      option.textContent = model.title || model.name;
      this.#ui.choice.append(option);
    }
    this.#ui.choice.addEventListener('change', () => this.#show(this.#ui.choice.value));
    this.#ui.section.addEventListener('toggle', () => {
      if (this.#ui.section.open && this.#ui.choice.value) this.#show(this.#ui.choice.value);
    });
  }

  async #show(name) {
    if (!this.#reports.has(name)) {
      const request = fetch(`/models/${encodeURIComponent(name)}/training`).then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      });
      request.catch(() => this.#reports.delete(name));
      this.#reports.set(name, request);
    }
    try {
      const report = await this.#reports.get(name);
      if (this.#ui.choice.value === name) this.#render(report);
    } catch (error) {
      this.#ui.summary.textContent = `Could not load how ${name} was trained (${error.message}).`;
    }
  }

  #render(report) {
    const history = report.history ?? {};
    const curve = (values) => (values ?? []).map((y, i) => [i + 1, y]);
    const epochs = (history.loss ?? []).length;
    const series = (metric) => [
      { colour: TRAIN_COLOUR, points: curve(history[metric]), dots: true },
      { colour: VALIDATION_COLOUR, points: curve(history[`val_${metric}`]), dashed: true, dots: true },
    ];
    this.#lossChart.setSeries(series('loss'), { minX: Math.max(1, epochs) });
    this.#accuracyChart.setSeries(series('accuracy'), { minX: Math.max(1, epochs) });
    const test = report.test ?? {};
    this.#ui.summary.textContent = `${epochs} epochs. On the ${Number(test.count).toLocaleString('en')} `
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
