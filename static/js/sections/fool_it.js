// "Fool it": a few faint changes, within ε of every pixel, turn the drawing into another class
// for the network (POST /adversarial, projected gradient descent on its own input gradient),
// replayed step by step beside the drawing as it was, with the change magnified (blue: ink
// added, red: ink taken away) and the out-of-distribution detector's verdict. Then "What does it
// want to see?": each class, and the unit clicked in the diagram (a dense unit, or a cell of a
// convolutional network's feature maps), dreamt from grey (POST /dream), beside the unit's weight
// image for the first layer and the MNIST test digits it is highest for in the digit atlas
// (GET /models/{name}/units/{layer}/{unit}). The target and ε live in the URL
// (#fool?target=1&eps=0.25).

import { AtlasClient } from '../atlas_client.js';
import { digitCanvas } from '../atlas_digits.js';
import { divergingRgb, inkRgb, paintGrid, toRows } from '../colors.js';
import { cellName, INPUT_SHAPE, windowOf } from '../conv_layers.js';
import { h } from '../dom.js';
import { formatNumber, formatPercent, neitherOf } from '../format.js';
import { postJson } from '../predict_client.js';
import { ProbabilityBars } from '../probability_bars.js';

const DEFAULT_EPSILON = 0.25;
const EPSILONS = { min: 0.05, max: 0.5, step: 0.05 };
const STEPS = 20;
const FRAME_MS = 70; // one step of the replay
const UNIT_FAVOURITES = 9; // a unit's favourite atlas digits shown (all the atlas answer has)
const CLASS_FAVOURITES = 3; // under each class's dream
const DREAM_DELAY_MS = 150; // a unit picked and left that long is dreamt (arrow keys over cells)

export default class FoolIt {
  #page;
  #ui = {};
  #bars;
  #model = null; // the model whose buttons are shown
  #result = null; // the /predict answer the attack was asked for
  #asked = null; // what the last attack was for: {key: "model|target|ε", result}
  #chosenTarget = null; // a class button pressed here (else the URL's, else the next class)
  #chosenEpsilon = null; // ε moved here (else the URL's, else the default)
  #attack = null; // the /adversarial answer shown
  #sent = 0;
  #timer = null;
  #dreams = new Map(); // "model|class|name" or "model|unit|layer|unit" → /dream answer (or a promise)
  #unit = null; // the unit picked in the diagram: {name (its layer's), unit, cell (a map cell's ref)}
  #atlas = new AtlasClient();
  #dreamTimer = null;

  constructor(root, page) {
    this.#page = page;
    this.#build(root);
    page.network.addEventListener('unitpick', (event) => {
      const { ref, name } = event.detail;
      this.#unit = ref && name ? { name, unit: ref.unit, cell: ref.map ? ref : null } : null;
      if (this.#isOpen()) this.#showUnitDream();
    });
  }

  update() {
    const { details, result, network } = this.#page;
    if (details && details.name !== this.#model) this.#setModel(details);
    network.placeIn(this.#ui.slot);
    network.show({ details, result, gradients: null });
    this.#result = result;
    this.#attackIfWanted();
    this.#showClassDreams();
    this.#showUnitDream();
  }

  close() {
    this.#stopReplay();
  }

  // --- building -------------------------------------------------------------------------------

  #build(root) {
    const ui = this.#ui;
    ui.targets = h('div', { class: 'class-buttons', role: 'group', 'aria-labelledby': 'fool-question' });
    ui.epsilon = h('input', {
      type: 'range', id: 'fool-epsilon', min: String(EPSILONS.min), max: String(EPSILONS.max),
      step: String(EPSILONS.step), value: String(DEFAULT_EPSILON),
    });
    ui.epsilonValue = h('output', { for: 'fool-epsilon', id: 'fool-epsilon-value' }, formatNumber(DEFAULT_EPSILON, 2));
    ui.verdict = h('p', { class: 'fool-verdict', id: 'fool-verdict', 'aria-live': 'polite' });
    ui.detector = h('p', { class: 'fool-detector', id: 'fool-detector' });
    ui.drawn = pixelCanvas('fool-drawn', 'Your drawing as the network received it');
    ui.changed = pixelCanvas('fool-changed', 'Your drawing, changed');
    ui.change = pixelCanvas('fool-change', 'The change, magnified');
    ui.changedCaption = h('figcaption', { class: 'caption', id: 'fool-changed-caption' }, 'Changed');
    ui.changeCaption = h('figcaption', { class: 'caption', id: 'fool-change-caption' },
      h('span', { class: 'pos' }, 'blue'), ': ink added, ',
      h('span', { class: 'neg' }, 'red'), ': ink taken away; full colour is ε');
    ui.step = h('input', { type: 'range', id: 'fool-step', min: '0', max: '0', step: '1', value: '0', disabled: '' });
    ui.stepValue = h('output', { for: 'fool-step', id: 'fool-step-value' }, '0 of 0');
    ui.replay = h('button', { type: 'button', class: 'button button-small', id: 'fool-replay', disabled: '' }, 'Replay');
    ui.bars = h('ol', { class: 'bars', id: 'fool-bars', 'aria-label': 'What the network says of the changed drawing' });
    ui.message = h('p', { class: 'fool-message', role: 'status' });
    ui.classDreams = h('div', { class: 'dream-grid', id: 'dream-classes' });
    ui.unitDream = h('div', { class: 'dream-unit', id: 'dream-unit' });
    ui.slot = h('div', { class: 'network-slot' });
    this.#bars = new ProbabilityBars(ui.bars);

    root.append(
      h('div', { class: 'fool-controls' },
        h('p', { class: 'teach-question', id: 'fool-question' }, 'Make the network say:'),
        ui.targets,
        h('div', { class: 'fool-epsilon' },
          h('label', { for: 'fool-epsilon' }, 'Largest change to any pixel, ε'), ui.epsilon, ui.epsilonValue)),
      ui.message,
      ui.verdict,
      ui.detector,
      h('div', { class: 'fool-images' },
        h('figure', {}, ui.drawn, h('figcaption', { class: 'caption' }, 'Your drawing')),
        h('figure', {}, ui.changed, ui.changedCaption),
        h('figure', {}, ui.change, ui.changeCaption)),
      h('div', { class: 'fool-steps' },
        h('label', { for: 'fool-step' }, 'Step'), ui.step, ui.stepValue, ui.replay),
      ui.bars,
      h('h3', { id: 'dream-heading' }, 'What does it want to see?'),
      h('p', { class: 'caption fool-text' }, 'Run the gradient the other way: start from a plain ',
        'grey field and change it, step by step, to raise one class (or one unit) as high as it ',
        'goes, with a little blur and a pull towards black so the picture stays readable. This ',
        'is what each class is most sure of, and under it the MNIST test digits it is surest of ',
        '(their index in the test set and the probability it gives them):'),
      ui.classDreams,
      ui.unitDream,
      ui.slot,
      h('h3', { id: 'fool-why-heading' }, 'Why this works, and why it matters'),
      h('p', { class: 'fool-text' }, 'Each unit adds up its inputs times its weights. Move every ',
        'pixel a little, by at most ε, each in the direction its weight prefers, and the small ',
        'changes add up along the weights: over 784 pixels, ε times the sum of the weights’ sizes ',
        'is a large push, though no single pixel changed much. The network is close to linear in ',
        'its input, so what pushes one layer pushes the next, and a few steps along the input ',
        'gradient are enough. You read the shape of the strokes; the network reads a weighted sum ',
        'of every pixel, and nothing in its training asked it to ignore faint grey.'),
      h('p', { class: 'fool-text' }, 'It matters because the same holds for networks that read ',
        'road signs, faces and medical scans: a confident answer is not a sign that the network ',
        'sees what a person sees. A detector trained to notice drawings that are none of the ',
        'classes (the 0/1 model has one) may catch a changed drawing or may not: that is worth ',
        'checking, not assuming. And the dreams show that a class’s favourite input is rarely a clean digit: ',
        'the network learned what separates the digits it saw, not what a digit looks like.'),
    );

    ui.epsilon.addEventListener('input', () => {
      ui.epsilonValue.textContent = formatNumber(Number(ui.epsilon.value), 2);
    });
    ui.epsilon.addEventListener('change', () => {
      this.#chosenEpsilon = Number(ui.epsilon.value);
      this.#saveSettings();
      this.#attackIfWanted();
    });
    ui.step.addEventListener('input', () => {
      this.#stopReplay();
      this.#showStep(Number(ui.step.value));
    });
    ui.replay.addEventListener('click', () => this.#replay());
  }

  #setModel(details) {
    this.#model = details.name;
    this.#attack = null;
    this.#asked = null;
    this.#unit = null;
    this.#ui.targets.replaceChildren(...details.classes.map((label) => {
      const button = h('button', {
        type: 'button', class: 'button class-button', 'aria-pressed': 'false', 'data-class': label,
      }, label);
      button.addEventListener('click', () => {
        this.#chosenTarget = label;
        this.#saveSettings();
        this.#attackIfWanted();
      });
      return button;
    }));
    this.#bars.setClasses(details.classes);
    this.#showAttack(null);
  }

  // --- the attack -----------------------------------------------------------------------------

  /** The target: chosen here, or from the URL, or else the class after the current answer. */
  #target() {
    const classes = this.#page.details?.classes ?? [];
    const wanted = this.#chosenTarget ?? this.#page.settings.target;
    if (classes.includes(wanted)) return wanted;
    const label = this.#result?.label;
    const at = classes.indexOf(label);
    return at < 0 ? null : classes[(at + 1) % classes.length];
  }

  #epsilon() {
    if (this.#chosenEpsilon !== null) return this.#chosenEpsilon;
    const fromUrl = Number(this.#page.settings.eps);
    return fromUrl >= EPSILONS.min && fromUrl <= EPSILONS.max ? fromUrl : DEFAULT_EPSILON;
  }

  #saveSettings() {
    this.#page.saveSettings({ target: this.#target(), eps: String(this.#epsilon()) });
  }

  #attackIfWanted() {
    const target = this.#target();
    const epsilon = this.#epsilon();
    this.#ui.epsilon.value = String(epsilon);
    this.#ui.epsilonValue.textContent = formatNumber(epsilon, 2);
    for (const button of this.#ui.targets.children) {
      button.setAttribute('aria-pressed', String(button.dataset.class === target));
    }
    const drawing = this.#page.readDrawing();
    if (!drawing || !this.#result || !target) {
      this.#asked = null;
      this.#sent += 1;
      this.#showAttack(null);
      return;
    }
    const key = `${drawing.model}|${target}|${epsilon}`;
    if (this.#asked?.key === key && this.#asked.result === this.#result) return;
    this.#asked = { key, result: this.#result };
    this.#request(drawing, target, epsilon);
  }

  async #request(drawing, target, epsilon) {
    const sent = ++this.#sent;
    this.#ui.message.textContent = '';
    this.#ui.verdict.textContent = `Looking for the smallest changes that make it say ${target}…`;
    const url = `/adversarial?model=${encodeURIComponent(drawing.model)}`;
    try {
      const answer = await postJson(url, {
        image: drawing.image, target, epsilon, steps: STEPS, trace_images: true,
      }, 'fool the network');
      if (sent !== this.#sent) return;
      this.#showAttack(answer);
    } catch (error) {
      if (sent !== this.#sent) return;
      this.#asked = null;
      this.#showAttack(null);
      this.#ui.message.textContent = error.message;
    }
  }

  #showAttack(answer) {
    this.#stopReplay();
    this.#attack = answer;
    const ui = this.#ui;
    if (!answer) {
      ui.verdict.textContent = this.#page.readDrawing()
        ? 'Choose what the network should say.'
        : 'Draw a digit above, then choose what the network should say instead.';
      ui.detector.textContent = '';
      ui.step.max = '0';
      ui.step.value = '0';
      ui.step.disabled = true;
      ui.replay.disabled = true;
      ui.stepValue.textContent = '0 of 0';
      for (const canvas of [ui.drawn, ui.changed, ui.change]) paintGrid(canvas, blank(), inkRgb);
      this.#bars.clear();
      return;
    }
    paintGrid(ui.drawn, answer.input, inkRgb);
    ui.verdict.replaceChildren(...verdict(answer));
    ui.detector.textContent = detectorVerdict(answer, this.#page.details?.classes ?? []);
    ui.step.max = String(answer.trace.length);
    ui.step.disabled = false;
    ui.replay.disabled = false;
    this.#replay();
  }

  #replay() {
    this.#stopReplay();
    const last = this.#attack?.trace.length ?? 0;
    const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    let step = still ? last : 0;
    this.#showStep(step);
    if (step >= last) return;
    this.#timer = setInterval(() => {
      step += 1;
      this.#showStep(step);
      if (step >= last) this.#stopReplay();
    }, FRAME_MS);
  }

  #stopReplay() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Step 0 is the drawing as it was; step k the image after k steps. */
  #showStep(step) {
    const answer = this.#attack;
    if (!answer) return;
    const ui = this.#ui;
    const at = step === 0 ? null : answer.trace[step - 1];
    const image = at ? at.image : answer.input;
    const said = at ?? answer.original;
    paintGrid(ui.changed, image, inkRgb);
    const scale = answer.epsilon;
    const change = image.map((row, y) => row.map((value, x) => (value - answer.input[y][x]) / scale));
    paintGrid(ui.change, change, divergingRgb);
    ui.step.value = String(step);
    ui.stepValue.textContent = `${step} of ${answer.trace.length}`;
    ui.changedCaption.textContent = step === 0 ? 'Changed: not yet'
      : `Changed, after step ${step}: it says ${said.label} (${formatPercent(said.probabilities[said.label])})`;
    ui.changed.setAttribute('aria-label', `Your drawing after ${step} of ${answer.trace.length} steps: `
      + `the network says ${said.label} with ${formatPercent(said.probabilities[said.label])}`);
    const largest = at ? at.linf : 0;
    ui.change.setAttribute('aria-label', `The change after ${step} steps, magnified: no pixel moved more `
      + `than ${formatNumber(largest, 3)}`);
    this.#bars.show(said.probabilities, said.label);
  }

  // --- dreams ---------------------------------------------------------------------------------

  #dream(key, body) {
    const model = this.#model;
    if (!this.#dreams.has(key)) {
      const url = `/dream?model=${encodeURIComponent(model)}`;
      this.#dreams.set(key, postJson(url, body, 'dream').catch((error) => {
        this.#dreams.delete(key);
        throw error;
      }));
    }
    return this.#dreams.get(key);
  }

  #showClassDreams() {
    const details = this.#page.details;
    if (!details || this.#ui.classDreams.dataset.model === details.name) return;
    this.#ui.classDreams.dataset.model = details.name;
    const figures = details.classes.map((label) => {
      const canvas = pixelCanvas(`dream-class-${label}`, `What ${label} wants to see: dreaming…`);
      const caption = h('figcaption', { class: 'caption' }, `“${label}”`);
      const figure = h('figure', { class: 'dream', 'data-class': label }, canvas, caption);
      this.#dream(`${details.name}|class|${label}`, { class: label }).then((answer) => {
        paintGrid(canvas, answer.image, inkRgb);
        canvas.setAttribute('aria-label', `What the network reads as ${label} most surely: its `
          + `dreamt input, which it calls ${label} with ${formatPercent(answer.probabilities[label])}`);
        canvas.classList.add('is-dreamt');
      }).catch((error) => {
        caption.textContent = `“${label}”: ${error.message}`;
      });
      this.#classFavourites(details, label).then((list) => {
        if (list && this.#ui.classDreams.dataset.model === details.name) figure.append(list);
      });
      return figure;
    });
    this.#ui.classDreams.replaceChildren(...figures);
  }

  /** The atlas digits the model gives class `label` the highest probability, as a list; null
   * where the model has no atlas. Its output unit's favourites, or for one sigmoid output unit
   * (p of the second class) its favourites for the second class and its least favourite for
   * the first. */
  async #classFavourites(details, label) {
    const output = details.layers.at(-1);
    const index = details.classes.indexOf(label);
    const oneUnit = details.classes.length === 2 && (output.units ?? output.shape?.[0]) === 1;
    let answer;
    try {
      answer = await this.#atlas.unit(details.name, output.name, oneUnit ? 0 : index);
    } catch {
      return null; // no atlas (a model trained here may have none): the dream stands alone
    }
    const first = oneUnit && index === 0;
    const digits = (first ? answer.bottom : answer.top).slice(0, CLASS_FAVOURITES).map((digit) => ({
      ...digit, activation: first ? 1 - digit.activation : digit.activation,
    }));
    return favouriteList(this.#atlas.digitsImage(details.name), digits, {
      label: `The MNIST test digits the network is surest are ${label}`,
      what: `p(${label})`,
      digits: 2,
    });
  }

  #showUnitDream() {
    const details = this.#page.details;
    const ref = this.#unit;
    const root = this.#ui.unitDream;
    const at = details?.layers?.findIndex((layer) => layer.name === ref?.name) ?? -1;
    if (!details || !ref || at < 0) {
      delete root.dataset.key;
      root.replaceChildren(h('p', { class: 'caption' }, 'Click a unit in the diagram below (or ',
        'focus it with Tab and press Enter), or a cell of a feature map, to see what it wants ',
        'to see.'));
      return;
    }
    const layer = details.layers[at];
    const key = `${details.name}|unit|${layer.name}|${ref.unit}`;
    if (root.dataset.key === key) return;
    root.dataset.key = key;
    const title = ref.cell ? cellName(details, { ...ref.cell, layer: at })
      : `Unit ${ref.unit + 1} of ${layer.name}`;
    const canvas = pixelCanvas('dream-unit-image', `What ${title} wants to see: dreaming…`);
    const numbers = h('p', { class: 'caption', id: 'dream-unit-numbers' }, 'Dreaming…');
    const favourites = h('div', { class: 'dream-favourites', id: 'dream-unit-favourites' },
      h('p', { class: 'caption' }, 'Looking up its favourite MNIST test digits…'));
    const figures = [h('figure', { class: 'dream' }, canvas,
      h('figcaption', { class: 'caption' }, 'Dreamt from grey'))];
    const weights = at === 0 ? weightImage(layer, ref) : null; // what the pixels feed
    if (weights) {
      const weightCanvas = pixelCanvas('dream-unit-weights', `The weights into ${title}: blue `
        + 'pixels raise it, red ones lower it');
      paintGrid(weightCanvas, weights.rows, divergingRgb);
      figures.push(h('figure', { class: 'dream' }, weightCanvas,
        h('figcaption', { class: 'caption' }, weights.caption,
          h('span', { class: 'pos' }, 'blue'), ' raises it, ',
          h('span', { class: 'neg' }, 'red'), ' lowers it')));
    }
    root.replaceChildren(h('h4', { id: 'dream-unit-heading' }, title),
      h('div', { class: 'dream-unit-row' }, h('div', { class: 'dream-grid' }, ...figures), favourites),
      numbers);
    this.#showUnitFavourites(details.name, layer.name, ref.unit, key, favourites);
    clearTimeout(this.#dreamTimer);
    this.#dreamTimer = setTimeout(() => {
      if (root.dataset.key !== key) return;
      this.#dream(key, { layer: layer.name, unit: ref.unit }).then((answer) => {
        if (root.dataset.key !== key) return;
        paintGrid(canvas, answer.image, inkRgb);
        canvas.classList.add('is-dreamt');
        canvas.setAttribute('aria-label', `What ${title} wants to see: its dreamt input`);
        const highest = answer.highest_on_test_digits;
        numbers.textContent = `Its activation: ${formatNumber(answer.activation, 3)} on the dream, `
          + `${formatNumber(answer.grey_activation, 3)} on plain grey`
          + (highest === null || highest === undefined ? '.'
            : `, and at most ${formatNumber(highest, 3)} on MNIST’s test digits.`);
      }).catch((error) => {
        if (root.dataset.key === key) numbers.textContent = error.message;
      });
    }, DREAM_DELAY_MS);
  }

  async #showUnitFavourites(model, layer, unit, key, root) {
    let answer;
    try {
      answer = await this.#atlas.unit(model, layer, unit);
    } catch (error) {
      if (this.#ui.unitDream.dataset.key === key) {
        root.replaceChildren(h('p', { class: 'caption' }, `No favourite digits: ${error.message}`));
      }
      return;
    }
    if (this.#ui.unitDream.dataset.key !== key) return;
    const heading = h('p', { class: 'caption', id: 'dream-unit-favourites-heading' },
      `Its ${UNIT_FAVOURITES} favourite MNIST test digits (the atlas digits it is highest for), `
      + 'each with its index in the test set and its activation:');
    root.replaceChildren(heading, favouriteList(this.#atlas.digitsImage(model),
      answer.top.slice(0, UNIT_FAVOURITES), { labelledBy: heading.id, what: 'activation', digits: 3 }));
  }

  #isOpen() {
    return !this.#ui.slot.closest('section')?.hidden;
  }
}

function pixelCanvas(id, label) {
  return h('canvas', {
    id, class: 'input-preview fool-image', width: 28, height: 28, role: 'img', 'aria-label': label,
  });
}

function blank() {
  return Array.from({ length: 28 }, () => new Array(28).fill(0));
}

/** The first layer's weights into a unit, on the 28×28 input, scaled to [-1, 1], with a caption:
 * a dense unit's weights on every pixel, or a first convolution's cell: its filter's kernel at
 * the window of pixels the cell sees (zero elsewhere). Null when the layer does not take the
 * pixels. */
function weightImage(layer, ref) {
  const weights = layer.weights;
  if (!Array.isArray(weights) || !Array.isArray(weights[0])) return null;
  if (ref.cell && layer.kind === 'conv2d') {
    const { channel, row, column } = ref.cell;
    const { top, left, height, width } = windowOf(layer, INPUT_SHAPE, row, column);
    const kernel = weights.map((kernelRow) => kernelRow.map((cell) => cell[0][channel]));
    const largest = Math.max(...kernel.flat().map(Math.abs)) || 1;
    const rows = blank();
    for (let i = 0; i < height; i += 1) {
      for (let j = 0; j < width; j += 1) {
        const [y, x] = [top + i, left + j];
        if (y >= 0 && y < 28 && x >= 0 && x < 28) rows[y][x] = kernel[i][j] / largest;
      }
    }
    return { rows, caption: `Its weights: filter ${channel + 1}’s ${height}×${width} kernel where the cell looks; ` };
  }
  if (weights.length !== 784) return null;
  const column = weights.map((row) => row[ref.unit]);
  const largest = Math.max(...column.map(Math.abs)) || 1;
  return { rows: toRows(column.map((value) => value / largest), 28), caption: 'Its weights: ' };
}

/** Atlas digits as a list: each a small 28×28 image, its label, its index in MNIST's test set
 * and `what` (the unit's activation, or a class's probability) for it. */
function favouriteList(image, digits, { label, labelledBy, what, digits: decimals }) {
  return h('ol', {
    class: 'unit-digits dream-favourite-digits',
    ...(labelledBy ? { 'aria-labelledby': labelledBy } : { 'aria-label': label }),
  }, ...digits.map((digit) => {
    const value = formatNumber(digit.activation, decimals);
    return h('li', { 'data-index': digit.index },
      digitCanvas(image, digit.point, `MNIST test digit ${digit.index}, a ${digit.label}: `
        + `${what} ${value}`),
      h('span', { class: 'neighbour-label' }, `${digit.label}`),
      h('span', { class: 'neighbour-distance', 'data-field': 'index' }, `#${digit.index}`),
      h('span', { class: 'neighbour-distance', 'data-field': 'activation' }, value));
  }));
}

function verdict(answer) {
  const was = answer.original.label;
  const says = formatPercent(answer.probabilities[answer.label]);
  if (was === answer.target) {
    return [`The network already says ${was}: choose another class.`];
  }
  if (answer.reached) {
    const start = answer.start === 'target_dream'
      ? ` The steps from your drawing fell short, so these began from what ${answer.target} `
        + 'wants to see (below), moved within ε of your drawing.'
      : '';
    return [`A person still reads a ${was}: the network says `,
      h('strong', { 'data-field': 'fooled' }, `${answer.label} with ${says}`),
      `. No pixel moved by more than ${formatNumber(answer.linf, 2)}.${start}`];
  }
  return [`Within ε = ${formatNumber(answer.epsilon, 2)} it held: the network still says `,
    h('strong', { 'data-field': 'held' }, `${answer.label} (${says})`),
    '. Allow a larger change and try again.'];
}

function detectorVerdict(answer, classes) {
  if (answer.in_distribution === null || answer.in_distribution === undefined) {
    return 'This model has no detector for drawings that are none of its classes.';
  }
  const score = `score ${formatNumber(answer.ood_score, 3)}, flagged above ${formatNumber(answer.ood_threshold, 3)}`;
  if (answer.original.in_distribution === false) {
    return `The detector already called your drawing ${neitherOf(classes)} (${score}).`;
  }
  if (answer.in_distribution === false) {
    return `Does the detector notice? Yes: it calls the changed drawing ${neitherOf(classes)} (${score}).`;
  }
  return `Does the detector notice? No: it takes the changed drawing for a real digit (${score}).`;
}
