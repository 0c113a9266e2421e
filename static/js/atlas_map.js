// A layer's map of the atlas digits (GET /models/{name}/atlas): one dot per MNIST test digit,
// coloured by its class (colors.js's colour-blind-safe CLASS_COLOURS), and the current drawing
// as a ringed cross. Hovering a dot, or focusing the map and moving with the arrow keys, shows
// that digit (from the atlas's digits image) with its label.
//
// API:
//   const map = new AtlasMap(root)            // builds the canvas, the legend and the digit box
//   map.show(atlas, classes, digitsImage)     // an atlas answer, the model's classes, its <img>
//   map.mark(position)                        // [x, y] of the drawing, or null
//   map.clear()

import { digitCanvas } from './atlas_digits.js';
import { CLASS_COLOURS, INK_COLOR } from './colors.js';
import { h } from './dom.js';

const SIZE = 480; // the canvas's pixels; CSS scales it to the width there is
const MARGIN = 14;
const DOT = 2.6;
const HIT = 12; // how near (in canvas pixels) a pointer must be to a dot to show its digit

export class AtlasMap {
  #canvas;
  #legend;
  #digitBox;
  #status;
  #atlas = null;
  #classes = [];
  #digits = null;
  #position = null;
  #focused = -1; // the dot the keyboard or the pointer shows, or -1
  #order = []; // the dots left to right, for the arrow keys
  #scale = null;

  constructor(root) {
    this.#canvas = h('canvas', {
      id: 'atlas-map', class: 'atlas-map', width: SIZE, height: SIZE, tabindex: '0', role: 'img',
      'aria-label': 'Map of MNIST test digits: loading',
      'aria-describedby': 'atlas-map-help',
    });
    this.#legend = h('ul', { class: 'atlas-legend', id: 'atlas-legend', 'aria-label': 'Classes' });
    this.#digitBox = h('div', { class: 'atlas-digit', id: 'atlas-digit', hidden: '' });
    this.#status = h('p', { class: 'atlas-focus', id: 'atlas-focus', 'aria-live': 'polite' });
    root.append(
      h('div', { class: 'atlas-map-frame' }, this.#canvas, this.#digitBox),
      this.#legend,
      h('p', { class: 'caption', id: 'atlas-map-help' },
        'Each dot is one MNIST test digit. Hover a dot, or focus the map and use the arrow ',
        'keys, to see the digit; the ringed cross is your drawing.'),
      this.#status,
    );
    this.#canvas.addEventListener('pointermove', (event) => this.#pointAt(event));
    this.#canvas.addEventListener('pointerleave', () => this.#focus(-1));
    this.#canvas.addEventListener('keydown', (event) => this.#key(event));
    this.#canvas.addEventListener('blur', () => this.#focus(-1));
  }

  show(atlas, classes, digitsImage) {
    this.#atlas = atlas;
    this.#classes = classes;
    this.#digits = digitsImage;
    this.#focused = -1;
    const xs = atlas.points.map(([x]) => x);
    const ys = atlas.points.map(([, y]) => y);
    this.#scale = scaleOf(xs, ys);
    this.#order = atlas.points.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    this.#legend.replaceChildren(...classes.map((name, index) => h('li', {},
      h('span', { class: 'atlas-swatch', 'data-colour': colourOf(index) }), name)));
    for (const swatch of this.#legend.querySelectorAll('.atlas-swatch')) {
      swatch.style.background = swatch.dataset.colour; // CSP: no inline style attribute
    }
    this.#canvas.setAttribute('aria-label', `Map of ${atlas.points.length} MNIST test digits `
      + `(${classes.join(', ')}) as layer ${atlas.layer} sees them, on its two principal axes`);
    this.#paint();
  }

  mark(position) {
    this.#position = position;
    this.#paint();
  }

  clear() {
    this.#atlas = null;
    this.#position = null;
    this.#paint();
  }

  #paint() {
    const context = this.#canvas.getContext('2d');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, SIZE, SIZE);
    const atlas = this.#atlas;
    if (!atlas) return;
    const { labels, points } = atlas;
    for (let i = 0; i < points.length; i += 1) {
      const [x, y] = this.#toCanvas(points[i]);
      context.fillStyle = colourOf(this.#classes.indexOf(String(labels[i])));
      context.globalAlpha = 0.75;
      context.beginPath();
      context.arc(x, y, DOT, 0, 2 * Math.PI);
      context.fill();
    }
    context.globalAlpha = 1;
    if (this.#focused >= 0) {
      const [x, y] = this.#toCanvas(points[this.#focused]);
      ring(context, x, y, 7, INK_COLOR, 2);
    }
    if (this.#position) {
      const [x, y] = this.#toCanvas(this.#position);
      ring(context, x, y, 10, '#ffffff', 5);
      ring(context, x, y, 10, INK_COLOR, 2.5);
      context.beginPath();
      context.moveTo(x - 15, y);
      context.lineTo(x + 15, y);
      context.moveTo(x, y - 15);
      context.lineTo(x, y + 15);
      context.stroke();
    }
  }

  #toCanvas([x, y]) {
    const { left, bottom, step } = this.#scale;
    // Clamped: a drawing far off the atlas's range stays on the map's edge.
    const cx = Math.min(SIZE - MARGIN, Math.max(MARGIN, MARGIN + (x - left) * step));
    const cy = Math.min(SIZE - MARGIN, Math.max(MARGIN, SIZE - MARGIN - (y - bottom) * step));
    return [cx, cy];
  }

  #pointAt(event) {
    if (!this.#atlas) return;
    const box = this.#canvas.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * SIZE;
    const py = ((event.clientY - box.top) / box.height) * SIZE;
    let best = -1;
    let bestDistance = HIT * HIT;
    this.#atlas.points.forEach((point, i) => {
      const [x, y] = this.#toCanvas(point);
      const distance = (x - px) ** 2 + (y - py) ** 2;
      if (distance < bestDistance) {
        best = i;
        bestDistance = distance;
      }
    });
    this.#focus(best);
  }

  #key(event) {
    if (!this.#atlas || !['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(event.key)) return;
    event.preventDefault();
    const order = this.#order;
    const at = Math.max(0, order.indexOf(this.#focused));
    const step = event.key === 'ArrowUp' || event.key === 'ArrowDown' ? 10 : 1;
    let next = at;
    if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = order.length - 1;
    else if (this.#focused < 0) next = 0;
    else next = at + (event.key === 'ArrowLeft' || event.key === 'ArrowDown' ? -step : step);
    this.#focus(order[Math.min(order.length - 1, Math.max(0, next))]);
  }

  #focus(index) {
    if (index === this.#focused) return;
    this.#focused = index;
    this.#paint();
    if (index < 0) {
      this.#digitBox.hidden = true;
      return;
    }
    const atlas = this.#atlas;
    const label = atlas.labels[index];
    const [x, y] = this.#toCanvas(atlas.points[index]);
    this.#digitBox.replaceChildren(
      digitCanvas(this.#digits, index, `A ${label} from MNIST's test set`),
      h('span', { class: 'atlas-digit-label' }, `${label}`),
    );
    this.#digitBox.hidden = false;
    // Beside the dot, inside the map: left or right of it, whichever has room.
    this.#digitBox.style.left = `${((x > SIZE / 2 ? x - 80 : x + 12) / SIZE) * 100}%`;
    this.#digitBox.style.top = `${(Math.max(0, Math.min(SIZE - 80, y - 30)) / SIZE) * 100}%`;
    this.#status.textContent = `A ${label}: MNIST test digit ${atlas.indices[index]}.`;
  }
}

function colourOf(classIndex) {
  return CLASS_COLOURS[Math.max(0, classIndex) % CLASS_COLOURS.length];
}

function scaleOf(xs, ys) {
  const left = Math.min(...xs);
  const right = Math.max(...xs);
  const bottom = Math.min(...ys);
  const top = Math.max(...ys);
  const span = Math.max(right - left, top - bottom) || 1;
  // One scale for both axes (a distance means the same either way), the points centred.
  return {
    left: (left + right) / 2 - span / 2,
    bottom: (bottom + top) / 2 - span / 2,
    step: (SIZE - 2 * MARGIN) / span,
  };
}

function ring(context, x, y, radius, colour, width) {
  context.strokeStyle = colour;
  context.lineWidth = width;
  context.beginPath();
  context.arc(x, y, radius, 0, 2 * Math.PI);
  context.stroke();
}
