import {
  type AttentionOpEntry,
  type AttentionWorkload,
  disposeAttentionInputs,
  landmarkQueries,
  tokenCoords,
  tokenCount,
} from '@attnkit/core';
import { ATTENDED, type Grid, gridSvg, heatColor, legendSvg, lineChartSvg } from './svg.js';

/** One picture of the report with its caption. */
export interface Figure {
  caption: string;
  /** Inline SVG markup (one or more `<svg>` elements). */
  svg: string;
}

/** Largest side of a picture of a 2-D grid, in px. */
const GRID_PX = 224;
/** Video grids show at most this many frames, centred on the query's. */
const MAX_FRAMES = 5;
/** A 1-D op's query x key matrix is drawn with at most this many blocks per side. */
const MATRIX_BLOCKS = 128;
/** Colour levels of heat maps (fewer levels merge more cells into one rectangle). */
const HEAT_LEVELS = 12;

/** Where each token of a 2-D or 3-D grid is drawn, for one query. */
interface View {
  rows: number;
  cols: number;
  cell: number;
  /** Flat token index drawn at (r, c), or -1 for the gap between video frames. */
  token(r: number, c: number): number;
  /** The query's cell. */
  query: readonly [number, number];
  /** What the picture shows, when it is not obvious (which frames). */
  note: string;
}

function gridView(tokens: readonly number[], query: number): View {
  const q = tokenCoords(tokens, query);
  if (tokens.length === 2) {
    const [h, w] = tokens;
    const cell = Math.max(1, Math.min(16, Math.floor(GRID_PX / Math.max(h, w))));
    return { rows: h, cols: w, cell, token: (r, c) => r * w + c, query: [q[0], q[1]], note: '' };
  }
  const [t, h, w] = tokens;
  const count = Math.min(t, MAX_FRAMES);
  const first = Math.min(Math.max(0, q[0] - (count >> 1)), t - count);
  const cols = count * (w + 1) - 1;
  const cell = Math.max(1, Math.min(16, Math.floor((2.2 * GRID_PX) / cols), Math.floor(GRID_PX / h)));
  return {
    rows: h,
    cols,
    cell,
    token: (r, c) => {
      const x = c % (w + 1);
      return x === w ? -1 : ((first + Math.floor(c / (w + 1))) * h + r) * w + x;
    },
    query: [q[1], (q[0] - first) * (w + 1) + q[2]],
    note: count < t ? `; frames ${first}-${first + count - 1} of ${t}` : `; frames 0-${t - 1}, left to right`,
  };
}

/** Key masks of a corner, an edge and the centre query (2-D and 3-D grids), or the query x key matrix (1-D). */
export function patternFigures(entry: AttentionOpEntry, w: AttentionWorkload): Figure[] {
  if (w.tokens.length === 1) return [matrixFigure(entry, w)];
  const n = tokenCount(w);
  return landmarkQueries(w.tokens).map(({ label, index }) => {
    const mask = entry.pattern(w, index);
    const v = gridView(w.tokens, index);
    let attended = 0;
    for (let j = 0; j < n; j++) attended += mask[j] ? 1 : 0;
    const grid: Grid = {
      rows: v.rows,
      cols: v.cols,
      cell: v.cell,
      fill: (r, c) => {
        const t = v.token(r, c);
        return t < 0 ? '#ffffff' : mask[t] ? ATTENDED : null;
      },
      marks: [v.query],
      title: `${entry.name}: keys of the ${label} query`,
    };
    const where = tokenCoords(w.tokens, index).join(', ');
    return { caption: `${label} query (${where}): ${attended} of ${n} keys${v.note}`, svg: gridSvg(grid) };
  });
}

function matrixFigure(entry: AttentionOpEntry, w: AttentionWorkload): Figure {
  const n = tokenCount(w);
  // Square blocks of `per` x `per` (query, key) pairs; the last row and column of blocks may be smaller.
  const per = Math.ceil(n / MATRIX_BLOCKS);
  const blocks = Math.ceil(n / per);
  const blockOf = (i: number) => Math.floor(i / per);
  const size = new Float64Array(blocks);
  for (let i = 0; i < n; i++) size[blockOf(i)]++;
  const keyBlock = Int32Array.from({ length: n }, (_, j) => blockOf(j));
  const counts = new Float64Array(blocks * blocks);
  let attended = 0;
  for (let i = 0; i < n; i++) {
    const mask = entry.pattern(w, i);
    const row = blockOf(i) * blocks;
    for (let j = 0; j < n; j++) {
      if (mask[j]) {
        counts[row + keyBlock[j]]++;
        attended++;
      }
    }
  }
  const levels = 8;
  const grid: Grid = {
    rows: blocks,
    cols: blocks,
    cell: Math.max(2, Math.floor(GRID_PX / blocks)),
    fill: (r, c) => {
      const share = counts[r * blocks + c] / (size[r] * size[c]);
      return share === 0 ? null : heatColor(0.3 + (0.7 * Math.ceil(share * levels)) / levels);
    },
    title: `${entry.name}: query x key mask`,
  };
  const unit =
    per === 1
      ? 'each cell one (query, key) pair'
      : `each cell ${per}x${per} pairs, darker = more of them attended`;
  return {
    caption: `query (down) x key (across) mask, ${unit}; ${((100 * attended) / (n * n)).toFixed(1)}% of pairs attended`,
    svg: gridSvg(grid),
  };
}

/**
 * The softmax weights of the centre query (batch 0, head 0) as a heat map (2-D, 3-D) or a curve over key
 * positions (1-D), for ops that expose their weights. Computed from CPU inputs made with `seed`.
 */
export function weightFigures(entry: AttentionOpEntry, w: AttentionWorkload, seed: number): Figure[] {
  if (!entry.weights) return [];
  const { index: query } = landmarkQueries(w.tokens)[2];
  const inputs = entry.makeInputs(w, { backend: 'cpu', seed });
  let weights: Float64Array;
  try {
    weights = entry.weights(inputs, w, { query, batch: 0, head: 0 });
  } finally {
    disposeAttentionInputs(inputs);
  }
  let max = 0;
  for (const v of weights) max = Math.max(max, v);
  const where = tokenCoords(w.tokens, query).join(', ');
  const caption = `softmax weights of the centre query (${where}), batch 0, head 0; largest ${max.toPrecision(3)}`;
  if (w.tokens.length === 1) {
    const svg = lineChartSvg({
      values: weights,
      width: 448,
      height: 120,
      mark: query,
      title: `${entry.name}: weights`,
    });
    return [{ caption: `${caption} (red line: the query)`, svg }];
  }
  const v = gridView(w.tokens, query);
  const grid: Grid = {
    rows: v.rows,
    cols: v.cols,
    cell: v.cell,
    fill: (r, c) => {
      const t = v.token(r, c);
      if (t < 0) return '#ffffff';
      if (weights[t] === 0) return null;
      return heatColor(Math.round((weights[t] / max) * (HEAT_LEVELS - 1)) / (HEAT_LEVELS - 1));
    },
    title: `${entry.name}: attention weights of the centre query`,
  };
  // No mark on the heat map: it would hide the weight of the query's own key; the caption gives the position.
  const svg = `${gridSvg(grid)}<br>${legendSvg(HEAT_LEVELS, max.toPrecision(3), 'colour key: weight')}`;
  return [{ caption: `${caption}${v.note}`, svg }];
}
