// Small text helpers shared by the answer panel, the diagram and the unit explainer.

/** "0.8312" style fixed-precision number with a real minus sign. */
export function formatNumber(value, digits = 4) {
  if (!Number.isFinite(value)) return '—';
  const text = Math.abs(value).toFixed(digits);
  if (value < 0 && Number(text) !== 0) return `\u2212${text}`;
  return text;
}

/** Like formatNumber but always with a sign, for contributions that push up or down. */
export function formatSigned(value, digits = 3) {
  if (!Number.isFinite(value)) return '—';
  return value >= 0 ? `+${Math.abs(value).toFixed(digits)}` : `\u2212${Math.abs(value).toFixed(digits)}`;
}

/** A probability as a percentage that never rounds a non-zero value to "0.0%". */
export function formatPercent(probability) {
  if (!Number.isFinite(probability)) return '—';
  const percent = probability * 100;
  if (percent > 0 && percent < 0.1) return '<0.1%';
  if (percent < 100 && percent > 99.9) return '>99.9%';
  return `${percent.toFixed(1)}%`;
}

/** "(a×b)" with the multiplication sign the explanations use. */
export function shape(rows, columns) {
  return `(${rows}\u00d7${columns})`;
}

/** Human name of layer `index` in a network of `count` dense layers. */
export function layerTitle(index, count) {
  return index === count - 1 ? 'Output layer' : `Hidden layer ${index + 1}`;
}

/** Short unit tag like "h1·7" or "out·1" (units counted from 1 for people). */
export function unitTag(layerIndex, unitIndex, count) {
  const prefix = layerIndex === count - 1 ? 'out' : `h${layerIndex + 1}`;
  return `${prefix}\u00b7${unitIndex + 1}`;
}

/** "neither 0 nor 1" for two classes, "none of 0, 1, …, 9" for more. */
export function neitherOf(classes) {
  if (classes.length === 2) return `neither ${classes[0]} nor ${classes[1]}`;
  return `none of ${classes.join(', ')}`;
}
