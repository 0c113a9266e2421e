// The drawing surface: Pointer Events (mouse, touch, pen), smooth strokes, Undo and Clear.
//
// Strokes are kept as points in [0, 1] canvas coordinates, so the picture can be redrawn at any
// screen size or device pixel ratio and exported at a fixed small size for the server.

import { INK_COLOR, PAPER_COLOR } from './colors.js';

// About 1/13 of the side: after the server crops and scales a digit to MNIST's 20×20 box this
// gives strokes 2–3 px wide, like the handwriting the network was trained on.
const STROKE_WIDTH_FRACTION = 0.075;
const EXPORT_SIDE = 280;
// Points closer than this (in canvas fractions) add nothing but work.
const MIN_POINT_DISTANCE = 0.003;

export class DrawingCanvas extends EventTarget {
  #canvas;
  #context;
  #strokes = [];
  // What Clear removed, so that Undo can bring it back (a shortcut key is easy to hit by mistake).
  #clearedStrokes = null;
  #activeStroke = null;
  #activePointerId = null;
  #bounds = null;
  #renderQueued = false;

  constructor(canvas) {
    super();
    this.#canvas = canvas;
    this.#context = canvas.getContext('2d');
    canvas.addEventListener('pointerdown', (event) => this.#onPointerDown(event));
    canvas.addEventListener('pointermove', (event) => this.#onPointerMove(event));
    canvas.addEventListener('pointerup', (event) => this.#onPointerEnd(event));
    canvas.addEventListener('pointercancel', (event) => this.#onPointerEnd(event));
    canvas.addEventListener('lostpointercapture', (event) => this.#onPointerEnd(event));
    // A long press on touch screens would otherwise open a menu over the drawing.
    canvas.addEventListener('contextmenu', (event) => event.preventDefault());
    new ResizeObserver(() => this.#resizeBackingStore()).observe(canvas);
    this.#resizeBackingStore();
  }

  isEmpty() {
    return this.#strokes.length === 0;
  }

  get canUndo() {
    return this.#strokes.length > 0 || this.#clearedStrokes !== null;
  }

  /** Remove the last stroke; right after Clear, bring the cleared drawing back instead. */
  undo() {
    if (this.#activeStroke) this.#finishStroke();
    if (this.#strokes.length) {
      this.#strokes.pop();
      this.#changed('undo');
    } else if (this.#clearedStrokes) {
      this.#strokes = this.#clearedStrokes;
      this.#clearedStrokes = null;
      this.#changed('restore');
    }
  }

  clear() {
    if (this.#activeStroke) this.#finishStroke();
    if (!this.#strokes.length) return;
    this.#clearedStrokes = this.#strokes;
    this.#strokes = [];
    this.#changed('clear');
  }

  /**
   * The drawing as a PNG data URL: the strokes on a transparent background (what a plain
   * canvas.toDataURL() gives), at most EXPORT_SIDE pixels wide. Without paper the server reads
   * the ink from the alpha channel alone, which is the cheapest image it can be sent.
   */
  toDataURL() {
    const side = Math.min(EXPORT_SIDE, Math.max(this.#canvas.width, 28));
    const exportCanvas = document.createElement('canvas');
    exportCanvas.width = side;
    exportCanvas.height = side;
    const context = exportCanvas.getContext('2d');
    this.#paintStrokes(context, side);
    return exportCanvas.toDataURL('image/png');
  }

  #changed(kind) {
    // Pointer moves come faster than frames, so they share one; Undo and Clear show at once.
    if (kind === 'strokemove' || kind === 'strokestart') this.#queueRender();
    else this.#render();
    this.dispatchEvent(new CustomEvent('change', { detail: { kind } }));
  }

  #onPointerDown(event) {
    // One stroke at a time: a second finger or a right click does not draw.
    if (this.#activePointerId !== null) return;
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    event.preventDefault();
    this.#canvas.focus({ preventScroll: true });
    this.#activePointerId = event.pointerId;
    this.#bounds = this.#canvas.getBoundingClientRect();
    try {
      this.#canvas.setPointerCapture(event.pointerId);
    } catch {
      // Synthetic or already-released pointers cannot be captured; drawing still works.
    }
    this.#activeStroke = [this.#toPoint(event)];
    this.#strokes.push(this.#activeStroke);
    this.#clearedStrokes = null;
    this.#changed('strokestart');
  }

  #onPointerMove(event) {
    if (event.pointerId !== this.#activePointerId || !this.#activeStroke) return;
    event.preventDefault();
    const samples = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    let added = false;
    for (const sample of samples.length ? samples : [event]) {
      added = this.#addPoint(this.#toPoint(sample)) || added;
    }
    if (added) this.#changed('strokemove');
  }

  #onPointerEnd(event) {
    if (event.pointerId !== this.#activePointerId) return;
    if (this.#activeStroke && event.type === 'pointerup') {
      this.#addPoint(this.#toPoint(event));
    }
    this.#finishStroke();
  }

  #finishStroke() {
    const pointerId = this.#activePointerId;
    this.#activePointerId = null;
    this.#activeStroke = null;
    if (pointerId !== null && this.#canvas.hasPointerCapture?.(pointerId)) {
      this.#canvas.releasePointerCapture(pointerId);
    }
    this.#queueRender();
    this.dispatchEvent(new CustomEvent('change', { detail: { kind: 'strokeend' } }));
  }

  #toPoint(event) {
    const bounds = this.#bounds ?? this.#canvas.getBoundingClientRect();
    return {
      x: Math.min(1, Math.max(0, (event.clientX - bounds.left) / bounds.width)),
      y: Math.min(1, Math.max(0, (event.clientY - bounds.top) / bounds.height)),
    };
  }

  #addPoint(point) {
    const stroke = this.#activeStroke;
    const last = stroke[stroke.length - 1];
    if (Math.hypot(point.x - last.x, point.y - last.y) < MIN_POINT_DISTANCE) return false;
    stroke.push(point);
    return true;
  }

  #resizeBackingStore() {
    const ratio = window.devicePixelRatio || 1;
    const cssSide = this.#canvas.clientWidth || EXPORT_SIDE;
    const side = Math.round(cssSide * ratio);
    if (side > 0 && (this.#canvas.width !== side || this.#canvas.height !== side)) {
      this.#canvas.width = side;
      this.#canvas.height = side;
    }
    this.#render();
  }

  #queueRender() {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      this.#renderQueued = false;
      this.#render();
    });
  }

  #render() {
    const side = this.#canvas.width;
    this.#context.fillStyle = PAPER_COLOR;
    this.#context.fillRect(0, 0, side, this.#canvas.height);
    this.#paintStrokes(this.#context, side);
  }

  #paintStrokes(context, side) {
    context.save();
    context.strokeStyle = INK_COLOR;
    context.fillStyle = INK_COLOR;
    context.lineWidth = STROKE_WIDTH_FRACTION * side;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    for (const stroke of this.#strokes) {
      paintStroke(context, stroke, side);
    }
    context.restore();
  }
}

/** Quadratic curves through the midpoints of successive points: smooth, and exact at the ends. */
function paintStroke(context, stroke, side) {
  const [first] = stroke;
  if (stroke.length === 1) {
    context.beginPath();
    context.arc(first.x * side, first.y * side, context.lineWidth / 2, 0, Math.PI * 2);
    context.fill();
    return;
  }
  context.beginPath();
  context.moveTo(first.x * side, first.y * side);
  for (let i = 1; i < stroke.length - 1; i += 1) {
    const point = stroke[i];
    const next = stroke[i + 1];
    context.quadraticCurveTo(
      point.x * side,
      point.y * side,
      ((point.x + next.x) / 2) * side,
      ((point.y + next.y) / 2) * side,
    );
  }
  const last = stroke[stroke.length - 1];
  context.lineTo(last.x * side, last.y * side);
  context.stroke();
}
