// "Why this answer": what the network learned across MNIST's test digits, and where your drawing
// lands among them. The layer map (atlas_map.js) shows the atlas digits as a layer sees them,
// with each layer's separation on the switch; "Digits it thinks are like yours" lists the 8
// nearest in the layer's full space; the saliency shows which pixels pushed towards the answer;
// for a unit clicked in the diagram, its favourite and least favourite digits and its activation
// by class. All from the atlas endpoints (docs/api.md), fetched when the section opens.

import { AtlasClient } from '../atlas_client.js';
import { digitCanvas } from '../atlas_digits.js';
import { AtlasMap } from '../atlas_map.js';
import { CLASS_COLOURS, divergingRgb, paintGrid, toRows } from '../colors.js';
import { cellName } from '../conv_layers.js';
import { h } from '../dom.js';
import { formatPercent } from '../format.js';

// colors.js's blue and red (towards and against, as everywhere a push has a sign).
const POSITIVE = [37, 99, 235];
const NEGATIVE = [220, 38, 38];

export default class WhyThisAnswer {
  #page;
  #atlas = new AtlasClient();
  #map;
  #ui;
  #model = null; // the model the section shows
  #layers = []; // its layers with a map, input first
  #layer = null; // the chosen one
  #result = undefined; // the /predict answer the explanation was asked for
  #explaining = false; // an /explain request is in flight
  #again = false; // the drawing changed meanwhile: ask again when it returns
  #unit = null; // {ref: {layer, unit}, name} picked in the diagram
  #open = false;

  constructor(root, page) {
    this.#page = page;
    const switcher = h('fieldset', { class: 'layer-switch', id: 'why-layers' },
      h('legend', {}, 'Layer (how apart the classes are)'));
    const mapPanel = h('div', { class: 'why-map' },
      h('h3', { id: 'why-map-heading' }, 'Where your drawing lands'), switcher);
    this.#map = new AtlasMap(mapPanel);
    const pca = h('p', { class: 'caption why-pca', id: 'why-pca' });
    const message = h('p', { class: 'why-message', id: 'why-message', role: 'status' });
    mapPanel.append(pca);

    const neighbours = h('ol', { class: 'why-neighbours', id: 'why-neighbours' });
    const neighboursNote = h('p', { class: 'caption', id: 'why-neighbours-note' },
      'Draw a digit to see the MNIST digits nearest to it.');
    const saliency = h('canvas', {
      id: 'why-saliency', class: 'input-preview why-saliency', width: 28, height: 28, role: 'img',
      'aria-label': 'Saliency: no drawing yet',
    });
    const legend = h('p', { class: 'legend why-legend', id: 'why-legend' },
      h('span', { class: 'legend-item' }, h('span', { class: 'legend-swatch why-towards' }),
        h('span', { id: 'why-towards-text' }, 'pushed towards the answer')),
      h('span', { class: 'legend-item' }, h('span', { class: 'legend-swatch why-against' }),
        h('span', { id: 'why-against-text' }, 'pushed against it')));
    const side = h('div', { class: 'why-side' },
      h('h3', { id: 'why-neighbours-heading' }, 'Digits it thinks are like yours'),
      neighboursNote, neighbours,
      h('h3', { id: 'why-saliency-heading' }, 'Why this answer'),
      h('figure', { class: 'why-saliency-figure' }, saliency,
        h('figcaption', { class: 'caption' }, legend,
          'Each pixel\'s ink times how much it raises the answer\'s logit (gradient × input): ',
          'what, in this drawing, the answer rests on.')));

    const slot = h('div', { class: 'network-slot' });
    const unitPanel = h('div', { class: 'why-unit', id: 'why-unit' },
      h('h3', { id: 'why-unit-heading' }, 'What a unit stands for'),
      h('p', { class: 'caption', id: 'why-unit-note' },
        'Click a unit in the diagram above (or focus it and press Enter) to see the MNIST test ',
        'digits it fires for most and least, and how it responds to each class.'),
      h('div', { id: 'why-unit-body', hidden: '' }));
    root.append(
      h('p', { class: 'why-intro' }, 'Nobody told the network what to look for. Here is what it ',
        'came to see across 2,000 of MNIST\'s test digits, and where your drawing falls among them.'),
      message,
      h('div', { class: 'why-layout' }, mapPanel, side),
      slot, unitPanel,
    );
    this.#ui = {
      switcher, pca, message, neighbours, neighboursNote, saliency, slot, unitPanel,
      unitNote: unitPanel.querySelector('#why-unit-note'),
      unitBody: unitPanel.querySelector('#why-unit-body'),
    };
    switcher.addEventListener('change', (event) => {
      if (event.target.name !== 'why-layer') return;
      this.#chooseLayer(event.target.value);
      page.saveSettings({ layer: event.target.value });
    });
    // The diagram is the page's one network view: a unit picked in it while this section is
    // open is shown here too.
    page.network.addEventListener('unitpick', (event) => {
      if (this.#open && event.detail.ref && event.detail.name) this.#showUnit(event.detail);
    });
  }

  close() {
    this.#open = false;
  }

  update() {
    this.#open = true;
    const { model, details, result, network } = this.#page;
    network.placeIn(this.#ui.slot);
    network.show({ details, result, gradients: null });
    if (model !== this.#model) this.#loadModel(model);
    else if (this.#page.settings.layer && this.#page.settings.layer !== this.#layer
      && this.#layers.includes(this.#page.settings.layer)) {
      this.#chooseLayer(this.#page.settings.layer);
    }
    if (result !== this.#result) this.#explain();
  }

  async #loadModel(model) {
    this.#model = model;
    this.#layers = [];
    this.#layer = null;
    this.#unit = null;
    this.#result = undefined;
    this.#ui.switcher.replaceChildren(this.#ui.switcher.querySelector('legend'));
    this.#ui.unitBody.hidden = true;
    this.#map.clear();
    this.#say('Loading the map of MNIST test digits…');
    let first;
    try {
      first = await this.#atlas.map(model, null);
    } catch (error) {
      if (this.#model === model) this.#say(`No map for this model: ${error.message}`);
      return;
    }
    if (this.#model !== model) return;
    this.#say('');
    this.#layers = first.layers;
    const wanted = this.#page.settings.layer;
    this.#layer = first.layers.includes(wanted) ? wanted : first.layer;
    for (const name of first.layers) {
      const input = h('input', { type: 'radio', name: 'why-layer', value: name, id: `why-layer-${name}` });
      input.checked = name === this.#layer;
      this.#ui.switcher.append(h('label', { class: 'layer-option', for: input.id }, input,
        h('span', {}, name), h('span', { class: 'layer-separation', 'data-layer': name }, '…')));
    }
    // Every layer's separation, for the switch: each layer's map is fetched once.
    for (const name of first.layers) {
      this.#atlas.map(model, name).then((atlas) => {
        if (this.#model !== model) return;
        const label = this.#ui.switcher.querySelector(`.layer-separation[data-layer="${name}"]`);
        if (label) label.textContent = formatPercent(atlas.separation);
      }).catch(() => {});
    }
    this.#chooseLayer(this.#layer);
  }

  async #chooseLayer(name) {
    this.#layer = name;
    const model = this.#model;
    for (const input of this.#ui.switcher.querySelectorAll('input')) input.checked = input.value === name;
    let atlas;
    try {
      atlas = await this.#atlas.map(model, name);
    } catch (error) {
      if (this.#model === model) this.#say(`No map of ${name}: ${error.message}`);
      return;
    }
    if (this.#model !== model || this.#layer !== name) return;
    const classes = this.#page.details?.classes ?? [...new Set(atlas.labels.map(String))].sort();
    this.#map.show(atlas, classes, this.#atlas.digitsImage(model));
    this.#ui.pca.textContent = pcaSentence(atlas);
    this.#result = undefined; // the drawing's place on this layer's map is asked for anew
    this.#explain();
  }

  /** Ask /explain for the current drawing; while one is in flight, ask once more after it. */
  async #explain() {
    const result = this.#page.result;
    if (!this.#layer) return;
    if (this.#explaining) {
      this.#again = true;
      return;
    }
    this.#result = result;
    const drawing = result ? this.#page.readDrawing() : null;
    if (!drawing) {
      this.#showExplanation(null);
      return;
    }
    this.#explaining = true;
    const layer = this.#layer;
    try {
      const answer = await this.#atlas.explain(drawing, layer);
      if (answer.model === this.#model && layer === this.#layer) this.#showExplanation(answer);
    } catch (error) {
      this.#say(`Could not explain this drawing: ${error.message}`);
    } finally {
      this.#explaining = false;
    }
    if (this.#again || this.#page.result !== this.#result) {
      this.#again = false;
      this.#explain();
    }
  }

  #showExplanation(answer) {
    const ui = this.#ui;
    if (!answer) {
      this.#map.mark(null);
      ui.neighbours.replaceChildren();
      ui.neighboursNote.textContent = 'Draw a digit to see the MNIST digits nearest to it.';
      paintGrid(ui.saliency, toRows(new Array(784).fill(0), 28), () => [255, 255, 255]);
      ui.saliency.setAttribute('aria-label', 'Saliency: no drawing yet');
      return;
    }
    this.#say('');
    this.#map.mark(answer.position);
    const image = this.#atlas.digitsImage(answer.model);
    const others = answer.neighbours.filter((n) => String(n.label) !== answer.label).length;
    ui.neighbours.replaceChildren(...answer.neighbours.map((neighbour) => h('li', {
      class: String(neighbour.label) === answer.label ? 'neighbour' : 'neighbour is-other',
    },
    digitCanvas(image, neighbour.point, `A ${neighbour.label} from MNIST's test set`),
    h('span', { class: 'neighbour-label' }, `${neighbour.label}`),
    h('span', { class: 'neighbour-distance' }, `${neighbour.distance.toFixed(2)} away`))));
    ui.neighboursNote.textContent = others
      ? `In ${answer.layer}, ${others} of your drawing's 8 nearest MNIST digits are not a `
        + `${answer.label} (marked): the network sees your drawing close to them.`
      : `In ${answer.layer}, all 8 of your drawing's nearest MNIST digits are ${answer.label}s.`;
    paintSaliency(ui.saliency, answer.input, answer.saliency);
    ui.saliency.setAttribute('aria-label', saliencySummary(answer));
    document.getElementById('why-towards-text').textContent = `pushed towards “${answer.label}”`;
    document.getElementById('why-against-text').textContent = `pushed against “${answer.label}”`;
  }

  async #showUnit(picked) {
    const { ref, name } = picked;
    const details = this.#page.details;
    const layer = details?.layers?.find((candidate) => candidate.name === name);
    if (!layer || !this.#model) return;
    this.#unit = picked;
    const model = this.#model;
    let answer;
    try {
      answer = await this.#atlas.unit(model, layer.name, ref.unit);
    } catch (error) {
      this.#ui.unitNote.textContent = `Could not load this unit: ${error.message}`;
      return;
    }
    if (this.#unit !== picked || this.#model !== model) return;
    const image = this.#atlas.digitsImage(model);
    const digits = (list, what) => h('ol', { class: 'unit-digits', 'aria-label': what },
      ...list.map((digit) => h('li', {},
        digitCanvas(image, digit.point, `A ${digit.label}: activation ${digit.activation.toFixed(3)}`),
        h('span', { class: 'neighbour-label' }, `${digit.label}`),
        h('span', { class: 'neighbour-distance' }, digit.activation.toFixed(2)))));
    const highest = Math.max(...answer.by_class.map((entry) => Math.abs(entry.mean) + entry.spread), 1e-9);
    const byClass = h('ul', { class: 'unit-classes', 'aria-label': 'Mean activation by class' },
      ...answer.by_class.map((entry, index) => {
        const bar = h('span', { class: 'unit-class-bar', 'data-width': Math.abs(entry.mean) / highest });
        return h('li', {}, h('span', { class: 'unit-class-name' }, `${entry.label}`),
          h('span', { class: 'unit-class-track', 'data-colour': CLASS_COLOURS[index % 10] }, bar),
          h('span', { class: 'unit-class-value' }, `${entry.mean.toFixed(2)} ± ${entry.spread.toFixed(2)}`));
      }));
    for (const bar of byClass.querySelectorAll('.unit-class-bar')) {
      bar.style.width = `${(Number(bar.dataset.width) * 100).toFixed(1)}%`;
      bar.style.background = bar.parentElement.dataset.colour;
    }
    const parts = [
      h('p', { class: 'why-unit-name' },
        ref.map ? cellName(details, ref) : `Unit ${ref.unit} of ${layer.name}`),
      h('div', { class: 'unit-favourites' },
        h('div', {}, h('h4', {}, 'Its 9 favourite digits'), digits(answer.top, 'Highest activations')),
        h('div', {}, h('h4', {}, 'Its 9 least favourite'), digits(answer.bottom, 'Lowest activations'))),
      h('h4', {}, 'Its activation by class (mean ± spread)'), byClass,
    ];
    if (layer === details.layers[0] && Array.isArray(layer.weights) && layer.weights.length === 784) {
      const weights = layer.weights.map((row) => row[ref.unit]);
      const largest = Math.max(...weights.map(Math.abs), 1e-9);
      const canvas = h('canvas', {
        class: 'input-preview unit-weights', width: 28, height: 28, role: 'img',
        'aria-label': `The weights of unit ${ref.unit}: blue pixels raise its z, red ones lower it`,
      });
      paintGrid(canvas, toRows(weights, 28), (w) => divergingRgb(w / largest));
      parts.push(h('h4', {}, 'Its weights, one per pixel (blue raises z, red lowers it)'), canvas);
    }
    this.#ui.unitBody.replaceChildren(...parts);
    this.#ui.unitBody.hidden = false;
  }

  #say(text) {
    this.#ui.message.textContent = text;
  }
}

/** What the two axes keep of the layer's variation and what they lose. */
function pcaSentence(atlas) {
  const [x, y] = atlas.explained_variance;
  const kept = x + y;
  const what = atlas.layer === 'input' ? 'the 784 pixels' : `the ${atlas.units} numbers of ${atlas.layer}`;
  return `This flat map keeps ${formatPercent(kept)} of how ${what} vary across the digits `
    + `(${formatPercent(x)} across, ${formatPercent(y)} up); the other ${formatPercent(1 - kept)} `
    + 'is flattened away, so digits that overlap here can be far apart in the layer itself. '
    + `The separation, ${formatPercent(atlas.separation)} (how often a digit's 5 nearest `
    + 'neighbours share its class), and the nearest digits are measured in the whole layer.';
}

/** The drawing in pale ink, blue where it pushed towards the answer, red where against. */
function paintSaliency(canvas, input, saliency) {
  const largest = Math.max(...saliency.flat().map(Math.abs), 1e-12);
  const rows = input.map((row, y) => row.map((ink, x) => [ink, saliency[y][x] / largest]));
  paintGrid(canvas, rows, ([ink, share]) => {
    const base = 255 - Math.round(ink * 70); // pale grey ink under the colour
    const colour = share >= 0 ? POSITIVE : NEGATIVE;
    const t = Math.min(1, Math.abs(share) * 1.5);
    return colour.map((channel) => Math.round(base + (channel - base) * t));
  });
}

function saliencySummary(answer) {
  let towards = 0;
  let against = 0;
  for (const value of answer.saliency.flat()) {
    if (value > 0) towards += value;
    else against -= value;
  }
  return `Saliency of the answer “${answer.label}”: pixels pushing towards it add up to `
    + `${towards.toFixed(2)}, pixels pushing against it to ${against.toFixed(2)}.`;
}
