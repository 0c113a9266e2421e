// One atlas digit as a small canvas, cut from the model's atlas digits image (digit i at column
// i % 50, row i // 50, 28×28 px each, white ink on black), drawn as the page draws digits: dark
// ink on white paper (colors.js).

import { inkRgb } from './colors.js';
import { h } from './dom.js';

const PER_ROW = 50;
const SIDE = 28;

/** A 28×28 canvas of atlas digit `index` of `image` (an <img> that may still be loading). */
export function digitCanvas(image, index, label) {
  const canvas = h('canvas', {
    class: 'atlas-digit-image', width: SIDE, height: SIDE, role: 'img', 'aria-label': label,
  });
  const paint = () => {
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const column = index % PER_ROW;
    const row = Math.floor(index / PER_ROW);
    context.drawImage(image, column * SIDE, row * SIDE, SIDE, SIDE, 0, 0, SIDE, SIDE);
    const pixels = context.getImageData(0, 0, SIDE, SIDE);
    for (let offset = 0; offset < pixels.data.length; offset += 4) {
      const [r, g, b] = inkRgb(pixels.data[offset] / 255);
      pixels.data[offset] = r;
      pixels.data[offset + 1] = g;
      pixels.data[offset + 2] = b;
      pixels.data[offset + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
  };
  if (image.complete && image.naturalWidth) paint();
  else image.addEventListener('load', paint, { once: true });
  return canvas;
}
