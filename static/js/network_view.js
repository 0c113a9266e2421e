// The network as the page shows it: the diagram (diagram_view.js) with its legend, and beside
// it the explainer of the unit being looked at (unit_explainer.js) with its backward maths
// (backward_explainer.js). There is one for the whole page: every section that shows the
// network borrows it (placeIn), so a unit picked in one section is still picked in the next.
// It paints the forward pass, or the backward pass once a section hands it gradients.
//
// API:
//   const network = new NetworkView()
//   network.placeIn(slot)        // move the view into this element (a section's place for it)
//   network.show({ details, result, gradients })
//     details:   GET /models/{name} (layers with weights), or null while it loads (the previous
//                model's diagram stays, without an answer)
//     result:    the /predict answer for the drawing, or null
//     gradients: a /gradients answer to paint the backward pass for, or null (forward pass)

import { BackwardExplainer } from './backward_explainer.js';
import { backwardPicture } from './backward_picture.js';
import { DiagramView } from './diagram_view.js';
import { h } from './dom.js';
import { forwardPicture } from './forward_picture.js';
import { UnitExplainer } from './unit_explainer.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class NetworkView {
  #element;
  #svg;
  #legends;
  #diagram;
  #explainer;
  #backwardMaths;
  #details = null;
  #result = null;
  #gradients = null;
  #pinned = null;
  #hovered = null;
  // The connection whose weight gradient is explained ({into, source, target}), or null.
  #connection = null;

  constructor() {
    this.#svg = document.createElementNS(SVG_NS, 'svg');
    this.#svg.id = 'network-diagram';
    this.#svg.setAttribute('class', 'network-diagram');
    this.#svg.setAttribute('role', 'group');
    this.#svg.setAttribute('aria-label', 'Network diagram: input image, hidden layers and output units');
    const wrap = h('div', { class: 'diagram-wrap', id: 'diagram-wrap' }, this.#svg);
    const explainerRoot = h('aside', {
      class: 'explainer', id: 'unit-explainer', 'aria-live': 'polite',
      'aria-labelledby': 'explainer-heading',
    },
    h('h3', { id: 'explainer-heading' }, 'Explain a unit'),
    h('p', { class: 'explainer-empty', id: 'explainer-empty' }, 'Click, tap or hover a unit in the ',
      'diagram (or focus it with Tab and press Enter) to see its numbers.'),
    h('div', { id: 'explainer-body', hidden: '' }),
    h('div', { id: 'backward-explainer', class: 'backward-explainer', hidden: '' }));
    this.#legends = {
      forward: legend('forward-legend', [
        ['swatch', 'swatch-low', 'inactive'], ['swatch', 'swatch-high', 'active'],
        ['line', 'line-pos', 'raises z'], ['line', 'line-neg', 'lowers z']]),
      backward: legend('backward-legend', [
        ['line', 'line-pos', 'a step raises it'], ['line', 'line-neg', 'a step lowers it'],
        ['swatch', 'swatch-saturated', 'saturated']]),
    };
    this.#legends.backward.hidden = true;
    this.#element = h('div', { class: 'network-view' },
      h('div', { class: 'network-head' },
        h('h3', { id: 'network-heading' }, 'Inside the network'),
        this.#legends.backward, this.#legends.forward),
      h('div', { class: 'network-body' }, wrap, explainerRoot));

    this.#diagram = new DiagramView(this.#svg, wrap);
    this.#explainer = new UnitExplainer(explainerRoot);
    this.#backwardMaths = new BackwardExplainer(explainerRoot.querySelector('#backward-explainer'));
    this.#diagram.addEventListener('unitpick', (event) => {
      this.#pinned = event.detail.ref;
      this.#render();
    });
    this.#diagram.addEventListener('unithover', (event) => {
      this.#hovered = event.detail.ref;
      this.#render();
    });
    this.#explainer.addEventListener('close', () => {
      this.#pinned = null;
      this.#hovered = null;
      this.#render();
    });
    this.#backwardMaths.addEventListener('connectionpick', (event) => {
      this.#connection = event.detail.connection;
      this.#render();
    });
    // A line of the backward diagram explains its own weight gradient when clicked.
    this.#diagram.addEventListener('connectionpick', (event) => {
      if (!this.#gradients) return;
      this.#connection = event.detail.connection;
      this.#render();
    });
  }

  placeIn(slot) {
    if (this.#element.parentNode !== slot) slot.append(this.#element);
  }

  show({ details, result, gradients = null }) {
    if (details && details !== this.#details) {
      this.#pinned = null;
      this.#hovered = null;
      this.#diagram.setModel(details);
      this.#explainer.setModel(details);
      this.#backwardMaths.setModel(details);
    }
    if (gradients !== this.#gradients) this.#connection = null;
    this.#details = details;
    this.#result = result;
    this.#gradients = gradients;
    this.#render();
  }

  /** Paint the diagram and the explanation for the answer and the unit being shown. */
  #render() {
    const details = this.#details;
    const shown = this.#hovered ?? this.#pinned;
    const gradients = details ? this.#gradients : null;
    if (details) {
      this.#diagram.paint(gradients ? backwardPicture(details, gradients, shown)
        : forwardPicture(details, this.#result, shown));
    }
    this.#svg.classList.toggle('is-backward', Boolean(gradients));
    this.#legends.forward.hidden = Boolean(gradients);
    this.#legends.backward.hidden = !gradients;
    if (shown && details) {
      this.#explainer.show(shown, this.#result);
    } else {
      this.#explainer.hide();
    }
    this.#backwardMaths.show({ unit: shown, connection: this.#connection }, gradients);
  }
}

/** A legend of [kind ('swatch' | 'line'), class, text] items, for sighted readers only: the
 * diagram's units and lines say the same in words. */
function legend(id, items) {
  return h('p', { class: 'legend', id, 'aria-hidden': 'true' }, ...items.map(([kind, style, text]) =>
    h('span', { class: 'legend-item' }, h('span', { class: `legend-${kind} ${style}` }), text)));
}
