// The GNA analytical tool (spec 1.7; NATTEN's "NATTENSim", unreleased there): for a problem and tile shapes,
// how much a tiled kernel can skip compared with dense attention. Our reconstruction, decided where the spec
// says GUESS (and written down in the README):
// - FLOP-bound speedup = N^2 / (attended (query, key) pairs); causal windows count only their real keys.
// - A (Q tile, KV tile) pair is visited when any of its pairs is attended; it is dense when all of its real
//   pairs are (padding is neither); the tile-level speedup = all tile pairs / visited ones.
// - 'multi-dim' tiling is NATTEN's token-permuted tiling: each axis is split into its dilation groups, each
//   group tiled separately (padded to a whole tile), tiles are per-axis boxes. The mask and the tiles are then
//   both products over axes, so every count is a product of per-axis counts: exact and cheap at any size.
// - 'flatten' tiling is 1-D tiling of the row-major flattened tokens (the "curse of multi-dimensionality"):
//   tiles of `prod(tile)` consecutive tokens, counted by enumerating every attended pair (O(N * prod(k))).
import { ValueError } from '@attnkit/core';
import { checkWindow, perAxis } from '../api/options.js';
import { axisWindow } from '../window/axis.js';
import { fillNeighbors, windowGeometry } from '../window/window.js';

/** A problem and tile shapes for {@link gnaAnalysis}. */
export interface GnaProblem {
  /** The token grid (1 to 3 axes). */
  tokens: readonly number[];
  /** Window size, scalar or per axis. */
  kernelSize: number | readonly number[];
  /** Dilation (default 1). */
  dilation?: number | readonly number[];
  /** Stride (default 1). */
  stride?: number | readonly number[];
  /** Causal masking (default false). */
  isCausal?: boolean | readonly boolean[];
  /** Query tile shape, scalar or per axis. */
  qTile: number | readonly number[];
  /** Key/value tile shape, scalar or per axis. */
  kvTile: number | readonly number[];
  /** `'multi-dim'` (default: per-axis boxes after token permutation) or `'flatten'` (1-D tiles of the flattened tokens). */
  tiling?: 'multi-dim' | 'flatten';
}

/** What {@link gnaAnalysis} finds. */
export interface GnaAnalysis {
  /** Number of tokens N. */
  tokens: number;
  /** Attended (query, key) pairs. */
  attendedPairs: number;
  /** `N^2 / attendedPairs`: the FLOP-bound speedup over dense attention. */
  flopSpeedup: number;
  /** Query tiles. */
  qTiles: number;
  /** Key/value tiles. */
  kvTiles: number;
  /** Tile pairs holding at least one attended pair (the work of a block-sparse kernel). */
  visitedTiles: number;
  /** Visited tile pairs that are not fully attended, so need the element-wise mask. */
  maskedTiles: number;
  /** `maskedTiles / visitedTiles`. */
  maskedTileFraction: number;
  /** `qTiles * kvTiles / visitedTiles`: the speedup bound of a kernel that skips whole tiles. */
  tileSpeedup: number;
  /** Whether every visited tile is fully attended (no fine-grained masking at all). */
  perfectlyBlockSparse: boolean;
}

interface Counts {
  pairs: number;
  qTiles: number;
  kvTiles: number;
  visited: number;
  dense: number;
}

/** Tile index of every position of one axis, and tile sizes: dilation groups tiled separately, or plain. */
function axisTiling(n: number, d: number, t: number, permute: boolean) {
  const tileOf = new Int32Array(n);
  const sizes: number[] = [];
  const groups = permute ? d : 1;
  const step = permute ? d : 1;
  for (let g = 0; g < groups; g++) {
    const first = sizes.length;
    for (let x = g, ip = 0; x < n; x += step, ip++) {
      const tile = first + Math.floor(ip / t);
      if (tile === sizes.length) sizes.push(0);
      sizes[tile]++;
      tileOf[x] = tile;
    }
  }
  return { tileOf, sizes };
}

function countTilePairs(
  pairs: Map<number, number>,
  qSizes: readonly number[],
  kvSizes: readonly number[],
): number {
  let dense = 0;
  for (const [key, count] of pairs) {
    const qt = Math.floor(key / kvSizes.length);
    if (count === qSizes[qt] * kvSizes[key % kvSizes.length]) dense++;
  }
  return dense;
}

function axisCounts(
  n: number,
  w: { kernelSize: number; dilation: number; stride: number; causal: boolean },
  tq: number,
  tkv: number,
): Counts {
  const q = axisTiling(n, w.dilation, tq, true);
  const kv = axisTiling(n, w.dilation, tkv, true);
  const tilePairs = new Map<number, number>();
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const win = axisWindow(i, { size: n, ...w });
    const g = i % w.dilation;
    // The window is a run of group coordinates [lo, hi]: add its overlap with each key tile it crosses.
    const lo = win.groupStart;
    const hi = lo + win.valid - 1;
    for (let t = Math.floor(lo / tkv); t <= Math.floor(hi / tkv); t++) {
      const overlap = Math.min(hi, (t + 1) * tkv - 1) - Math.max(lo, t * tkv) + 1;
      const key = q.tileOf[i] * kv.sizes.length + kv.tileOf[g + t * tkv * w.dilation];
      tilePairs.set(key, (tilePairs.get(key) ?? 0) + overlap);
    }
    pairs += win.valid;
  }
  return {
    pairs,
    qTiles: q.sizes.length,
    kvTiles: kv.sizes.length,
    visited: tilePairs.size,
    dense: countTilePairs(tilePairs, q.sizes, kv.sizes),
  };
}

const FLATTEN_LIMIT = 2e8;

/**
 * The GNA analytical model: the FLOP-bound speedup of a neighborhood problem over dense attention, and, for
 * the given query and key/value tile shapes, how many tile pairs a block-sparse kernel visits, how many of
 * those need element-wise masking, the tile-level speedup bound, and whether the tiling is perfectly
 * block-sparse. Parameters are checked as in {@link neighborhoodAttention}.
 *
 * @example
 * // NATTEN's docs: (30, 48, 80), window (18, 24, 24), stride (16, 8, 8), tiles (2, 8, 8): perfectly block-sparse.
 * const r = gnaAnalysis({ tokens: [30, 48, 80], kernelSize: [18, 24, 24], stride: [16, 8, 8], qTile: [2, 8, 8], kvTile: [2, 8, 8] });
 */
export function gnaAnalysis(p: GnaProblem): GnaAnalysis {
  const op = 'gnaAnalysis';
  const tokens = p?.tokens;
  if (
    !Array.isArray(tokens) ||
    tokens.length < 1 ||
    tokens.length > 3 ||
    !tokens.every((x) => Number.isInteger(x) && x > 0)
  ) {
    throw new ValueError(
      op,
      'tokens',
      'one to three positive integer sizes',
      JSON.stringify(tokens) ?? String(tokens),
    );
  }
  const w = checkWindow(op, tokens, p);
  const qTile = perAxis(op, 'qTile', p.qTile, tokens.length);
  const kvTile = perAxis(op, 'kvTile', p.kvTile, tokens.length);
  for (const [arg, t] of [
    ['qTile', qTile],
    ['kvTile', kvTile],
  ] as const) {
    if (t.some((x) => x < 1)) throw new ValueError(op, arg, 'positive sizes', JSON.stringify(t));
  }
  const tiling = p.tiling ?? 'multi-dim';
  if (tiling !== 'multi-dim' && tiling !== 'flatten') {
    throw new ValueError(op, 'tiling', "'multi-dim' or 'flatten'", JSON.stringify(tiling));
  }
  const n = tokens.reduce((x, y) => x * y, 1);
  let c: Counts;
  if (tiling === 'multi-dim') {
    c = { pairs: 1, qTiles: 1, kvTiles: 1, visited: 1, dense: 1 };
    tokens.forEach((size, a) => {
      const axis = axisCounts(
        size,
        { kernelSize: w.kernelSize[a], dilation: w.dilation[a], stride: w.stride[a], causal: w.causal[a] },
        qTile[a],
        kvTile[a],
      );
      c = {
        pairs: c.pairs * axis.pairs,
        qTiles: c.qTiles * axis.qTiles,
        kvTiles: c.kvTiles * axis.kvTiles,
        visited: c.visited * axis.visited,
        dense: c.dense * axis.dense,
      };
    });
  } else {
    const g = windowGeometry(tokens, w);
    if (n * g.numSlots > FLATTEN_LIMIT) {
      throw new ValueError(
        op,
        'tiling',
        `'multi-dim' for problems over ${FLATTEN_LIMIT} pairs`,
        `'flatten' with ${n * g.numSlots}`,
      );
    }
    const tq = qTile.reduce((x, y) => x * y, 1);
    const tkv = kvTile.reduce((x, y) => x * y, 1);
    const q = axisTiling(n, 1, tq, false);
    const kv = axisTiling(n, 1, tkv, false);
    const tilePairs = new Map<number, number>();
    const keys = new Int32Array(g.numSlots);
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      fillNeighbors(g, i, keys);
      for (const key of keys) {
        if (key < 0) continue;
        const t = q.tileOf[i] * kv.sizes.length + kv.tileOf[key];
        tilePairs.set(t, (tilePairs.get(t) ?? 0) + 1);
        pairs++;
      }
    }
    c = {
      pairs,
      qTiles: q.sizes.length,
      kvTiles: kv.sizes.length,
      visited: tilePairs.size,
      dense: countTilePairs(tilePairs, q.sizes, kv.sizes),
    };
  }
  const masked = c.visited - c.dense;
  return {
    tokens: n,
    attendedPairs: c.pairs,
    flopSpeedup: (n * n) / c.pairs,
    qTiles: c.qTiles,
    kvTiles: c.kvTiles,
    visitedTiles: c.visited,
    maskedTiles: masked,
    maskedTileFraction: masked / c.visited,
    tileSpeedup: (c.qTiles * c.kvTiles) / c.visited,
    perfectlyBlockSparse: masked === 0,
  };
}
