// Small SVG builders for the report: everything is inline markup (no ids, no external assets), so several
// pictures can share one HTML page and the file opens anywhere.

/** Escapes text for XML/HTML content and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Colour of a cell a query attends to. */
export const ATTENDED = '#3d6fb4';
/** Colour of a cell it does not attend to. */
export const BACKGROUND = '#e9edf3';
/** Colour of the query's own position. */
export const QUERY = '#e4572e';

// A light-to-dark sequential scale (chosen for this report), so that larger weights read as darker.
const STOPS: [number, number, number][] = [
  [246, 248, 251],
  [190, 212, 234],
  [108, 160, 210],
  [47, 98, 168],
  [12, 42, 91],
];

/** The colour of `t` in [0, 1] on the report's sequential scale. */
export function heatColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const mix = (k: number) => Math.round(STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f);
  return `#${[0, 1, 2].map((k) => mix(k).toString(16).padStart(2, '0')).join('')}`;
}

/** A picture made of square cells. */
export interface Grid {
  rows: number;
  cols: number;
  /** Side of a cell, in px. */
  cell: number;
  /** Colour of cell (r, c), or null for the background. */
  fill(r: number, c: number): string | null;
  /** Cells to mark as the query position. */
  marks?: readonly (readonly [number, number])[];
  /** Accessible name of the picture. */
  title: string;
}

/**
 * Draws a grid, merging horizontal runs of equal colour into one rectangle: a window or a causal mask on a
 * 56x56 grid becomes a few dozen rectangles instead of 3136.
 */
export function gridSvg(g: Grid): string {
  const w = g.cols * g.cell;
  const h = g.rows * g.cell;
  const parts: string[] = [`<rect width="${w}" height="${h}" fill="${BACKGROUND}"/>`];
  for (let r = 0; r < g.rows; r++) {
    let c = 0;
    while (c < g.cols) {
      const color = g.fill(r, c);
      let end = c + 1;
      while (end < g.cols && g.fill(r, end) === color) end++;
      if (color !== null) {
        parts.push(
          `<rect x="${c * g.cell}" y="${r * g.cell}" width="${(end - c) * g.cell}" height="${g.cell}" fill="${color}"/>`,
        );
      }
      c = end;
    }
  }
  // A query mark stays visible on small cells: at least 7 px, centred on its cell.
  const size = Math.max(g.cell, 7);
  for (const [r, c] of g.marks ?? []) {
    const x = c * g.cell + (g.cell - size) / 2;
    const y = r * g.cell + (g.cell - size) / 2;
    parts.push(
      `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="${QUERY}" stroke="#fff" stroke-width="1"/>`,
    );
  }
  return svg(w, h, g.title, parts);
}

/** A filled line chart of `values` over their index (e.g. attention weights over key positions). */
export function lineChartSvg(opts: {
  values: ArrayLike<number>;
  width: number;
  height: number;
  /** Index to mark with a vertical line (the query position). */
  mark?: number;
  title: string;
}): string {
  const { values, width, height } = opts;
  const n = values.length;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, values[i]);
  const x = (i: number) => ((i + 0.5) / n) * width;
  const y = (v: number) => height - (max > 0 ? (v / max) * (height - 4) : 0);
  // One point per pixel column at most (the largest value in it), so long sequences keep their peaks.
  const cols = Math.min(n, width);
  const pts: string[] = [];
  for (let c = 0; c < cols; c++) {
    const lo = Math.floor((c * n) / cols);
    const hi = Math.floor(((c + 1) * n) / cols);
    let v = 0;
    for (let i = lo; i < hi; i++) v = Math.max(v, values[i]);
    pts.push(`${x((lo + hi - 1) / 2).toFixed(1)},${y(v).toFixed(1)}`);
  }
  const parts = [
    `<rect width="${width}" height="${height}" fill="${BACKGROUND}"/>`,
    `<polygon points="${x(0).toFixed(1)},${height} ${pts.join(' ')} ${x(n - 1).toFixed(1)},${height}" fill="${heatColor(0.45)}" stroke="${heatColor(0.8)}" stroke-width="1"/>`,
  ];
  if (opts.mark !== undefined) {
    parts.push(
      `<line x1="${x(opts.mark)}" x2="${x(opts.mark)}" y1="0" y2="${height}" stroke="${QUERY}" stroke-width="1.5"/>`,
    );
  }
  return svg(width, height, opts.title, parts, false);
}

/** A row of `levels` swatches from 0 to `max`, labelled at both ends: the key of a heat map. */
export function legendSvg(levels: number, max: string, label: string): string {
  const sw = 14;
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    parts.push(
      `<rect x="${24 + i * sw}" y="2" width="${sw}" height="10" fill="${heatColor(i / (levels - 1))}"/>`,
    );
  }
  parts.push(`<text x="0" y="11" font-size="10">0</text>`);
  parts.push(`<text x="${28 + levels * sw}" y="11" font-size="10">${esc(max)}</text>`);
  return svg(28 + levels * sw + 8 * max.length, 14, label, parts);
}

function svg(width: number, height: number, title: string, parts: string[], crisp = true): string {
  // Grids of cells must not get anti-aliased seams between rectangles; curves look better smoothed.
  const rendering = crisp ? ' shape-rendering="crispEdges"' : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img"${rendering}><title>${esc(title)}</title>${parts.join('')}</svg>`
  );
}
