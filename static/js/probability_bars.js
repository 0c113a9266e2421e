// The answer as one bar per class, each with its probability written out.

import { formatPercent } from './format.js';

export class ProbabilityBars {
  #list;
  #rows = new Map();

  constructor(list) {
    this.#list = list;
  }

  /** Build one (empty) bar per class; called when the model changes. */
  setClasses(classes) {
    this.#list.replaceChildren();
    this.#rows.clear();
    this.#list.classList.toggle('bars-many', classes.length > 4);
    for (const label of classes) {
      const item = document.createElement('li');
      item.className = 'bar';
      item.dataset.class = label;

      const name = document.createElement('span');
      name.className = 'bar-label';
      name.textContent = label;

      const track = document.createElement('span');
      track.className = 'bar-track';
      track.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      track.append(fill);

      const value = document.createElement('span');
      value.className = 'bar-value';

      item.append(name, track, value);
      this.#list.append(item);
      this.#rows.set(label, { item, fill, value });
    }
    this.clear();
  }

  /** @param {Record<string, number>} probabilities class label → probability */
  show(probabilities, winner) {
    for (const [label, row] of this.#rows) {
      const probability = Number(probabilities[label]);
      const known = Number.isFinite(probability);
      row.fill.style.width = `${known ? Math.max(0, Math.min(1, probability)) * 100 : 0}%`;
      row.value.textContent = known ? formatPercent(probability) : '—';
      row.item.classList.toggle('is-winner', label === winner);
      row.item.setAttribute(
        'aria-label',
        `${label}: ${known ? formatPercent(probability) : 'unknown'}${label === winner ? ', the prediction' : ''}`,
      );
    }
  }

  clear() {
    for (const [label, row] of this.#rows) {
      row.fill.style.width = '0%';
      row.value.textContent = '—';
      row.item.classList.remove('is-winner');
      row.item.setAttribute('aria-label', `${label}: no prediction yet`);
    }
  }
}
