// Small charts drawn by the page itself on <canvas>: line charts of loss and accuracy, weight
// images and MNIST digits. No charting library: the page needs lines, axes and a legend, which a
// hundred lines of canvas calls give without another file to serve and keep up to date.

import { divergingRgb, inkRgb, paintGrid, toRows } from './colors.js';

const AXIS = '#64748b';
const GRID = '#e2e8f0';
const TEXT = '#334155';

/** The loss chart and the accuracy chart (0 to 1) that every training view shows side by side. */
export function lossAndAccuracyCharts(lossCanvas, accuracyCanvas) {
  return [
    new LineChart(lossCanvas, { yLabel: 'loss' }),
    new LineChart(accuracyCanvas, { yLabel: 'accuracy', yMax: 1 }),
  ];
}

/** Each layer's gradient norm over the run, on a log scale (the training lab). */
export function gradientNormChart(canvas) {
  return new LineChart(canvas, { yLabel: '‖∂L/∂W‖ (log)', yLog: true });
}

/** A canvas sized for the device's pixel ratio, returning its 2-D context in CSS pixels. */
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute('width')) || 300;
  const height = canvas.clientHeight || Number(canvas.getAttribute('height')) || 150;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

function niceStep(range, ticks) {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? raw;
}

function formatTick(value) {
  if (Math.abs(value) >= 10 || Number.isInteger(value)) return String(Math.round(value));
  return value.toFixed(Math.abs(value) < 0.1 ? 2 : 1);
}

/**
 * A line chart of several series, each {colour, points: [[x, y], …], dashed, faded, dots}.
 * x runs from 0 to the largest x of any series (at least `minX`); y from `yMin` to `yMax`, or to
 * the data's own largest value when `yMax` is not given. With `yLog`, y is drawn on a log scale
 * between the powers of ten around the data (values ≤ 0 are left out).
 */
class LineChart {
  #canvas;
  #options;
  #series = [];

  constructor(canvas, {
    xLabel = 'epoch', yLabel = '', yMin = 0, yMax = null, minX = 1, yLog = false,
  } = {}) {
    this.#canvas = canvas;
    this.#options = { xLabel, yLabel, yMin, yMax, minX, yLog };
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Draw these series; `minX` widens the x axis (a run's planned epochs, say). */
  setSeries(series, { minX } = {}) {
    this.#series = series;
    if (minX !== undefined) this.#options.minX = minX;
    this.draw();
  }

  draw() {
    const { context, width, height } = prepare(this.#canvas);
    const { xLabel, yLabel, minX, yLog } = this.#options;
    // On a log scale the chart works in log10(y) throughout; ticks are powers of ten.
    const shown = (y) => (yLog ? (y > 0 ? Math.log10(y) : NaN) : y);
    const seriesShown = this.#series.map((s) => ({
      ...s, points: s.points.map(([x, y]) => [x, shown(y)]),
    }));
    const points = seriesShown.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const xMax = Math.max(minX, ...points.map(([x]) => x));
    let { yMin } = this.#options;
    let yMax;
    if (yLog) {
      const ys = points.map(([, y]) => y);
      yMin = ys.length ? Math.floor(Math.min(...ys)) : -3;
      yMax = ys.length ? Math.max(yMin + 1, Math.ceil(Math.max(...ys))) : 0;
    } else {
      yMax = this.#options.yMax ?? Math.max(yMin + 1e-3, ...points.map(([, y]) => y)) * 1.05;
    }
    if (!Number.isFinite(yMax)) yMax = 1;
    const area = { left: 44, right: width - 10, top: 10, bottom: height - 30 };
    const toX = (x) => area.left + (x / xMax) * (area.right - area.left);
    const toY = (y) => area.bottom - ((y - yMin) / (yMax - yMin)) * (area.bottom - area.top);

    context.font = '11px system-ui, sans-serif';
    context.lineWidth = 1;
    context.fillStyle = TEXT;
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    const yStep = yLog ? Math.max(1, Math.ceil((yMax - yMin) / 5)) : niceStep(yMax - yMin, 4);
    for (let y = yMin; y <= yMax + 1e-9; y += yStep) {
      context.strokeStyle = GRID;
      context.beginPath();
      context.moveTo(area.left, toY(y));
      context.lineTo(area.right, toY(y));
      context.stroke();
      context.fillText(yLog ? `1e${Math.round(y)}` : formatTick(y), area.left - 6, toY(y));
    }
    context.textAlign = 'center';
    context.textBaseline = 'top';
    const xStep = Math.max(1, niceStep(xMax, 5));
    for (let x = 0; x <= xMax + 1e-9; x += xStep) {
      context.fillText(formatTick(x), toX(x), area.bottom + 4);
    }
    context.strokeStyle = AXIS;
    context.beginPath();
    context.moveTo(area.left, area.top);
    context.lineTo(area.left, area.bottom);
    context.lineTo(area.right, area.bottom);
    context.stroke();
    context.fillText(xLabel, (area.left + area.right) / 2, area.bottom + 16);
    if (yLabel) {
      context.save();
      context.translate(10, (area.top + area.bottom) / 2);
      context.rotate(-Math.PI / 2);
      context.fillText(yLabel, 0, -6);
      context.restore();
    }

    context.save();
    context.beginPath();
    context.rect(area.left, area.top - 2, area.right - area.left, area.bottom - area.top + 4);
    context.clip();
    for (const series of seriesShown) {
      const valid = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      context.globalAlpha = series.faded ? 0.45 : 1;
      context.strokeStyle = series.colour;
      context.fillStyle = series.colour;
      context.lineWidth = series.faded ? 1.5 : 2;
      context.setLineDash(series.dashed ? [6, 4] : []);
      context.beginPath();
      valid.forEach(([x, y], i) => (i ? context.lineTo(toX(x), toY(y)) : context.moveTo(toX(x), toY(y))));
      context.stroke();
      if (series.dots) {
        for (const [x, y] of valid) {
          context.beginPath();
          context.arc(toX(x), toY(y), 3, 0, 2 * Math.PI);
          context.fill();
        }
      }
    }
    context.restore();
    context.globalAlpha = 1;
    context.setLineDash([]);
  }
}

/**
 * A histogram ({edges, counts}, as the training socket sends them) as bars in `colour`, with the
 * smallest and largest edge written under it. The bars' heights share one scale per call.
 */
export function drawHistogram(canvas, { edges, counts }, colour) {
  const { context, width, height } = prepare(canvas);
  if (!counts?.length) return;
  const area = { left: 2, right: width - 2, top: 4, bottom: height - 14 };
  const most = Math.max(1, ...counts);
  const barWidth = (area.right - area.left) / counts.length;
  context.fillStyle = colour;
  counts.forEach((count, i) => {
    const barHeight = (count / most) * (area.bottom - area.top);
    context.fillRect(area.left + i * barWidth, area.bottom - barHeight, Math.max(1, barWidth - 1), barHeight);
  });
  context.strokeStyle = AXIS;
  context.beginPath();
  context.moveTo(area.left, area.bottom + 0.5);
  context.lineTo(area.right, area.bottom + 0.5);
  context.stroke();
  context.font = '10px system-ui, sans-serif';
  context.fillStyle = TEXT;
  context.textBaseline = 'top';
  context.textAlign = 'left';
  context.fillText(formatEdge(edges[0]), area.left, area.bottom + 2);
  context.textAlign = 'right';
  context.fillText(formatEdge(edges.at(-1)), area.right, area.bottom + 2);
}

function formatEdge(value) {
  if (!Number.isFinite(value)) return '';
  if (value === 0) return '0';
  return Math.abs(value) >= 0.01 && Math.abs(value) < 1000 ? String(Number(value.toFixed(2))) : value.toExponential(0);
}

/** Bytes from base64 (the server's compact images). */
export function decodeBytes(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The first hidden layer's weights, one 28×28 tile per unit: blue where a pixel's ink raises the
 * unit's z, red where it lowers it, white near zero. Each tile is scaled by its own largest
 * weight (the server's encoding: 128 + 127 · w / max|w|), so every unit's pattern shows.
 */
export function drawWeightImages(canvas, firstLayer, { columns = 8 } = {}) {
  const tiles = firstLayer.images.map(decodeBytes);
  const side = firstLayer.side ?? 28;
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const gap = 2;
  const width = columns * (side + gap) - gap;
  const height = rows * (side + gap) - gap;
  const image = new ImageData(width, height);
  image.data.fill(255);
  tiles.forEach((tile, unit) => {
    const left = (unit % columns) * (side + gap);
    const top = Math.floor(unit / columns) * (side + gap);
    for (let i = 0; i < side * side; i += 1) {
      const at = ((top + Math.floor(i / side)) * width + left + (i % side)) * 4;
      image.data.set(divergingRgb((tile[i] - 128) / 127), at);
    }
  });
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(image, 0, 0);
}

/** One MNIST digit (784 bytes, ink high) as dark ink on white, on a 28×28 canvas. */
export function drawDigit(canvas, bytes) {
  paintGrid(canvas, toRows(Array.from(bytes, (value) => value / 255), 28), inkRgb);
}
