// Every colour that carries a meaning on the page, so that one meaning always looks the same:
//   ink on paper      the drawing and every 28×28 image of digits (inkRgb)
//   activation        how active a unit is, pale to dark indigo (activationRgb)
//   blue raises, red lowers: any signed push, weight or gradient (divergingRgb, POSITIVE_COLOR,
//                     NEGATIVE_COLOR); the stylesheets' --positive/--negative say it in text
//   classes           one colour per class, where a legend or the digit itself names it
//                     (CLASS_COLOURS): never for signs, which are blue and red
//   runs              one colour per training run on a chart, training solid and validation
//                     dashed (RUN_COLOURS)
//   layers            one colour per layer of a network, from the first (light green) to the
//                     output (dark purple), where a chart draws each layer (LAYER_COLOURS)

const PAPER = [255, 255, 255];
const INK = [17, 24, 39];
const POSITIVE = [37, 99, 235];
const NEGATIVE = [220, 38, 38];
// Three stops keep low activations visible against white and high ones clearly darker.
const ACTIVATION_STOPS = [
  [241, 245, 249],
  [129, 140, 248],
  [49, 46, 129],
];

export const POSITIVE_COLOR = rgbString(POSITIVE);
export const NEGATIVE_COLOR = rgbString(NEGATIVE);
export const INK_COLOR = rgbString(INK);
export const PAPER_COLOR = rgbString(PAPER);

// Class k's colour: Petroff's ten-colour sequence (arXiv:2107.02270, matplotlib's "petroff10"),
// chosen so that every pair stays apart for the three kinds of colour blindness
// (tests/browser/test_colours.py checks it under simulated protanopia, deuteranopia and
// tritanopia). A two-class model uses the first two, blue and orange.
export const CLASS_COLOURS = [
  '#3f90da', '#ffa90e', '#bd1f01', '#94a4a2', '#832db6',
  '#a96b59', '#e76300', '#b9ac70', '#717581', '#92dadd',
];

// Training runs on a chart, in order; they stay distinct for the few runs the charts keep.
export const RUN_COLOURS = ['#4338ca', '#d97706', '#059669', '#db2777', '#0891b2'];

// A network's layers in order (at most 4 hidden layers and the output), sampled from viridis:
// deeper is darker, so the order reads without the hues, under any colour blindness.
export const LAYER_COLOURS = ['#7ad151', '#22a884', '#2a788e', '#414487', '#440154'];

function clamp01(value) {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

function mix(from, to, t) {
  return from.map((channel, i) => Math.round(channel + (to[i] - channel) * t));
}

export function rgbString([r, g, b]) {
  return `rgb(${r}, ${g}, ${b})`;
}

/** Paper-to-ink colour for an MNIST pixel value in [0, 1] (1 is ink). */
export function inkRgb(value) {
  return mix(PAPER, INK, clamp01(value));
}

/** Fill for a unit whose activation, scaled to [0, 1], is `level`. */
export function activationRgb(level) {
  const t = clamp01(level);
  if (t <= 0.5) return mix(ACTIVATION_STOPS[0], ACTIVATION_STOPS[1], t * 2);
  return mix(ACTIVATION_STOPS[1], ACTIVATION_STOPS[2], (t - 0.5) * 2);
}

/** Red (negative) through white to blue (positive) for a value scaled to [-1, 1]. */
export function divergingRgb(value) {
  const v = Number.isFinite(value) ? Math.max(-1, Math.min(1, value)) : 0;
  return v >= 0 ? mix(PAPER, POSITIVE, v) : mix(PAPER, NEGATIVE, -v);
}

/** Paint a 28×28-style grid of values into a canvas whose size matches the grid. */
export function paintGrid(canvas, rows, colourOf) {
  const height = rows.length;
  const width = height ? rows[0].length : 0;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext('2d');
  if (!width || !height) return;
  const image = context.createImageData(width, height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = colourOf(rows[y][x]);
      const offset = (y * width + x) * 4;
      image.data[offset] = r;
      image.data[offset + 1] = g;
      image.data[offset + 2] = b;
      image.data[offset + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

/** Reshape a flat list of width*height numbers into rows. */
export function toRows(values, width) {
  const rows = [];
  for (let start = 0; start < values.length; start += width) {
    rows.push(values.slice(start, start + width));
  }
  return rows;
}
