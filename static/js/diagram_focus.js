// Picking a unit of the diagram with a pointer or the keyboard. The diagram is one Tab stop
// (a roving tabindex); arrow keys move between units, Enter or Space picks; focusing a unit
// picks it too. Used by diagram_view.js, which owns the unit elements.
//
// API:
//   const focus = new UnitFocus(svg, (ref) => …)  // called with {layer, unit} on every pick
//   focus.watch(element, ref)       // a unit element was created
//   focus.setUnits(elementsByLayer) // all unit elements, per layer, after a (re)build
//   focus.reset()                   // a new model: the Tab stop goes back to the first unit
//   const restore = focus.saveFocus(); …rebuild…; restore()  // keeps focus across a rebuild

export class UnitFocus {
  #svg;
  #onPick;
  #units = [];
  #tabStop = { layer: 0, unit: 0 };
  // Set while a rebuild gives focus back to a unit: that focus is not the person picking it.
  #restoring = false;

  constructor(svg, onPick) {
    this.#svg = svg;
    this.#onPick = onPick;
    svg.addEventListener('keydown', (event) => this.#onKeyDown(event));
  }

  watch(element, ref) {
    element.addEventListener('click', () => this.#pick(ref));
    element.addEventListener('focus', () => {
      this.#tabStop = ref;
      if (!this.#restoring) this.#pick(ref);
    });
  }

  setUnits(elementsByLayer) {
    this.#units = elementsByLayer;
    this.#setTabStop(this.#tabStop);
  }

  reset() {
    this.#tabStop = { layer: 0, unit: 0 };
  }

  saveFocus() {
    const focused = this.#focusedRef();
    return () => {
      if (!focused) return;
      this.#restoring = true;
      this.#element(focused)?.focus({ preventScroll: true });
      this.#restoring = false;
    };
  }

  #pick(ref) {
    this.#setTabStop(ref);
    this.#onPick(ref);
  }

  #element(ref) {
    return this.#units[ref.layer]?.[ref.unit] ?? null;
  }

  #focusedRef() {
    const active = document.activeElement;
    if (!active?.classList?.contains('unit') || !this.#svg.contains(active)) return null;
    return { layer: Number(active.dataset.layer), unit: Number(active.dataset.unit) };
  }

  #setTabStop(ref) {
    const target = this.#element(ref) ? ref : { layer: 0, unit: 0 };
    this.#tabStop = target;
    this.#units.forEach((units, layerIndex) => units.forEach((element, unitIndex) => {
      const isStop = layerIndex === target.layer && unitIndex === target.unit;
      element.setAttribute('tabindex', isStop ? '0' : '-1');
    }));
  }

  #onKeyDown(event) {
    const current = this.#focusedRef();
    if (!current) return;
    const units = this.#units;
    let next = null;
    if (event.key === 'ArrowDown') {
      next = { layer: current.layer, unit: Math.min(current.unit + 1, units[current.layer].length - 1) };
    } else if (event.key === 'ArrowUp') {
      next = { layer: current.layer, unit: Math.max(current.unit - 1, 0) };
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const layer = current.layer + (event.key === 'ArrowRight' ? 1 : -1);
      if (layer >= 0 && layer < units.length) {
        const share = current.unit / Math.max(1, units[current.layer].length - 1);
        next = { layer, unit: Math.round(share * (units[layer].length - 1)) };
      }
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.#pick(current);
      return;
    }
    if (next) {
      event.preventDefault();
      this.#setTabStop(next);
      this.#element(next)?.focus();
    }
  }
}
