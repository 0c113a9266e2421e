// Where everything sits in the network diagram: the input image, the image slot under it, and
// every dense layer's units, in CSS pixels of a diagram `width` wide. Pure geometry: no DOM.
//
// API: computeLayout(width, sizes) → {width, height, narrow, input: {x, size, imageY, weightY},
//   layers: [{x, radius, units: [{x, y}, …]}, …]} for layer sizes like [25, 15, 1].
// Layers of more than MAX_ROWS_PER_COLUMN units wrap into side-by-side columns.

const MAX_ROWS_PER_COLUMN = 32;
const TITLE_SPACE = 46;
const BOTTOM_SPACE = 14;
const OUTPUT_LABEL_SPACE = 96;
const OUTPUT_LABEL_SPACE_NARROW = 64;
// Below this width the column titles stack and the images shrink (phones).
const NARROW_WIDTH = 520;

/** Positions for the input images and every unit, in CSS pixels of a `width`-wide diagram. */
export function computeLayout(width, sizes) {
  const rowsOf = (units) => Math.ceil(units / Math.ceil(units / MAX_ROWS_PER_COLUMN));
  const maxRows = Math.max(...sizes.map(rowsOf), 1);
  const narrow = width < NARROW_WIDTH;
  // Wide screens get taller columns (bigger, easier units); phones keep the diagram short.
  const plotHeight = Math.max(260, Math.min(narrow ? 440 : 520, maxRows * (narrow ? 17 : 21)));
  const top = TITLE_SPACE + (narrow ? 12 : 0);
  const imageSize = Math.round(
    narrow ? 60 : Math.max(72, Math.min(132, width * 0.16, (plotHeight - 56) / 2)),
  );
  const left = 6;
  const firstLayerLeft = left + imageSize + (narrow ? 34 : Math.max(44, width * 0.1));
  const lastX = width - (narrow ? OUTPUT_LABEL_SPACE_NARROW : OUTPUT_LABEL_SPACE) - 12;
  // A layer's columns may take up to 70% of the room between two layers' centres: wide layers
  // (512 units: 16 columns) get smaller units rather than run into their neighbours.
  const room = (0.7 * (lastX - firstLayerLeft)) / Math.max(1, sizes.length - 1);
  const shapes = sizes.map((units, index) => {
    const columns = Math.ceil(units / MAX_ROWS_PER_COLUMN);
    const rows = Math.ceil(units / columns);
    const spacing = Math.min(34, plotHeight / rows);
    const isOutput = index === sizes.length - 1;
    const radius = Math.min(
      Math.max(3, Math.min(isOutput ? 13 : 9, spacing * 0.38)),
      room / (columns * 2.6),
    );
    return { columns, rows, spacing, radius };
  });
  // The first layer's columns start right of the images, however many columns it has.
  const firstX = firstLayerLeft + ((shapes[0].columns - 1) / 2) * shapes[0].radius * 2.6;
  const middle = top + plotHeight / 2;
  const layers = shapes.map(({ columns, rows, spacing, radius }, index) => {
    const x = sizes.length === 1 ? lastX : firstX + ((lastX - firstX) * index) / (sizes.length - 1);
    const positions = [];
    for (let i = 0; i < sizes[index]; i += 1) {
      const row = Math.floor(i / columns);
      const column = i % columns;
      positions.push({
        x: x + (column - (columns - 1) / 2) * radius * 2.6,
        y: middle + (row - (rows - 1) / 2) * spacing,
      });
    }
    return { x, radius, units: positions };
  });
  return {
    width,
    narrow,
    height: top + plotHeight + BOTTOM_SPACE,
    input: {
      x: left,
      size: imageSize,
      imageY: middle - imageSize - 14,
      weightY: middle + 14,
    },
    layers,
  };
}
