// The page's sections and the bar of links that opens them. The canvas and the answer stay at
// the top; below them one section is open at a time, named in the URL's hash (#teach) so that a
// link opens it. A closed section costs nothing: its module is imported the first time it
// opens, and it fetches what it needs then. Every section works on the page's current drawing
// and model (`page`, made in main.js); when they change, only the open section is updated, and
// each section is brought up to date whenever it opens.
//
// Adding a section:
//   1. Write static/js/sections/NAME.js. Its default export is a class:
//        constructor(root, page)  the first time the section opens: build its content into
//                                 `root` (the element under its heading); fetch what it needs.
//        update()                 it is open and the page changed, and once each time it opens:
//                                 read page.model, page.details, page.result, page.settings and
//                                 bring what it shows up to date. Compare with what it showed
//                                 last: it may have been closed through several changes.
//        close()                  (optional) another section opened: stop what costs meanwhile.
//      Build it from the shared parts rather than drawing your own: page.network (the diagram
//      and the explainer, one for the whole page: network.placeIn(a slot of yours), then
//      network.show({details, result, gradients})), probability_bars.js, input_preview.js,
//      charts.js, and colors.js for every colour that carries a meaning. Its settings go in the
//      URL with page.saveSettings({...}) and come back as page.settings (strings). A closed
//      section stays in the page, hidden: ids inside it must be unique on the whole page.
//   2. Add its line to SECTIONS below: the name in the URL's hash (also its <section>'s id),
//      the title of its link and heading, and its module. Their order is the links' order.
//   3. Add it to SECTIONS in tests/browser/test_sections.py, which holds every section to the
//      same checks (landmark, hash, keyboard, axe-core on desktop and phone), and test its own
//      flow beside it. Styles it alone needs go in static/css/NAME.css, linked from
//      templates/index.html.

import { h } from './dom.js';

export const SECTIONS = [
  { id: 'see', title: 'See it think', load: () => import('./sections/see_it_think.js') },
  { id: 'why', title: 'Why this answer', load: () => import('./sections/why_this_answer.js') },
  { id: 'teach', title: 'Teach it', load: () => import('./sections/teach_it.js') },
  { id: 'fool', title: 'Fool it', load: () => import('./sections/fool_it.js') },
  { id: 'train', title: 'Train your own', load: () => import('./sections/train_your_own.js') },
  {
    id: 'how-trained', title: 'How it was trained',
    load: () => import('./sections/how_it_was_trained.js'),
  },
];

export class Sections {
  #page;
  #entries = new Map(); // id → {link, element, heading, body, instance, loading}
  #openId = null;

  /** Links to every section go into `list` (a <ul> in the page's <nav>), the sections into
   * `container`; `page` is what each section works on. */
  constructor(list, container, page) {
    this.#page = page;
    for (const { id, title, load } of SECTIONS) {
      const link = h('a', { class: 'section-link', href: `#${id}` }, title);
      list.append(h('li', {}, link));
      const heading = h('h2', { id: `${id}-heading`, class: 'section-heading', tabindex: '-1' }, title);
      const body = h('div', { class: 'section-body' });
      const element = h('section', {
        class: 'card page-section', id,
        'aria-labelledby': heading.id, hidden: '',
      }, heading, body);
      container.append(element);
      this.#entries.set(id, { link, element, heading, body, load, instance: null, loading: null });
    }
  }

  get openId() {
    return this.#openId;
  }

  has(id) {
    return this.#entries.has(id);
  }

  /** Open section `id` (closing the one open); `focus` moves the keyboard to its heading, as a
   * person who followed a link expects. */
  async open(id, { focus = false } = {}) {
    const entry = this.#entries.get(id);
    if (!entry) return;
    if (this.#openId !== id) {
      const previous = this.#entries.get(this.#openId);
      if (previous) {
        previous.element.hidden = true;
        previous.link.removeAttribute('aria-current');
        previous.instance?.close?.();
      }
      this.#openId = id;
      entry.element.hidden = false;
      entry.link.setAttribute('aria-current', 'true');
    }
    if (focus) entry.heading.focus();
    entry.loading ??= entry.load().then(
      (module) => {
        entry.instance = new module.default(entry.body, this.#page);
      },
      (error) => {
        entry.loading = null; // opening it again tries again
        entry.body.replaceChildren(h('p', { class: 'error', role: 'alert' },
          `This section could not be loaded (${error.message}). Open it again to retry.`));
      },
    );
    await entry.loading;
    if (this.#openId === id) entry.instance?.update();
  }

  /** The page changed: bring the open section up to date (the others catch up when opened). */
  update() {
    this.#entries.get(this.#openId)?.instance?.update();
  }
}
