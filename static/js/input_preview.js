// "What the network sees": the 28×28 input from the server's answer, drawn large and pixelated
// (the canvas has 28×28 pixels; CSS scales it up without smoothing).

import { inkRgb, paintGrid } from './colors.js';

const SIDE = 28;

export class InputPreview {
  #canvas;

  constructor(canvas) {
    this.#canvas = canvas;
    this.clear();
  }

  /** @param {number[][]} rows 28 rows of 28 values in [0, 1], ink high */
  show(rows) {
    paintGrid(this.#canvas, rows, inkRgb);
    const inked = rows.flat().filter((value) => value > 0.05).length;
    this.#canvas.setAttribute(
      'aria-label',
      `The ${rows.length} by ${rows[0]?.length ?? 0} pixel image the network received: ` +
        `${inked} of ${rows.length * (rows[0]?.length ?? 0)} pixels carry ink`,
    );
    this.#canvas.classList.remove('is-empty');
  }

  clear() {
    const blank = Array.from({ length: SIDE }, () => new Array(SIDE).fill(0));
    paintGrid(this.#canvas, blank, inkRgb);
    this.#canvas.setAttribute('aria-label', 'The 28 by 28 pixel image the network received: empty');
    this.#canvas.classList.add('is-empty');
  }
}
