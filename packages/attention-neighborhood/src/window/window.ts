// Multi-axis neighborhoods: the Cartesian product of the per-axis windows of axis.ts (spec 1.2), with slots
// ordered row-major over the per-axis window offsets (axis 0 slowest), as NATTEN's unfused QK/AV ops order them.
import { type AxisTables, axisTables } from './axis.js';

/** The per-axis neighborhood parameters, as the ops' attributes carry them. */
export interface WindowParams {
  /** Window size per token axis. */
  readonly kernelSize: readonly number[];
  /** Dilation per token axis. */
  readonly dilation: readonly number[];
  /** Stride per token axis. */
  readonly stride: readonly number[];
  /** Causal masking per token axis. */
  readonly causal: readonly boolean[];
}

/** Lookup tables of a whole token grid, from which each query's neighbors are listed without a full mask. */
export interface WindowGeometry {
  /** The token grid. */
  readonly tokens: readonly number[];
  /** Number of tokens (product of `tokens`). */
  readonly numTokens: number;
  /** Number of neighbor slots per query (product of the kernel sizes). */
  readonly numSlots: number;
  /** Number of relative-bias entries per head (product of `2k - 1`). */
  readonly biasSize: number;
  /** Per-axis tables. */
  readonly axes: readonly AxisTables[];
}

/** The lookup tables of the grid `tokens` under `p` (one entry per token axis, in order). */
export function windowGeometry(tokens: readonly number[], p: WindowParams): WindowGeometry {
  const axes = tokens.map((size, a) =>
    axisTables({
      size,
      kernelSize: p.kernelSize[a],
      dilation: p.dilation[a],
      stride: p.stride[a],
      causal: p.causal[a],
    }),
  );
  let numTokens = 1;
  let numSlots = 1;
  let biasSize = 1;
  for (let a = 0; a < tokens.length; a++) {
    numTokens *= tokens[a];
    numSlots *= p.kernelSize[a];
    biasSize *= 2 * p.kernelSize[a] - 1;
  }
  return { tokens: [...tokens], numTokens, numSlots, biasSize, axes };
}

/**
 * Lists the neighbors of the query at flat (row-major) token index `query`: `keys[j]` is the flat key index in
 * slot `j`, or -1 where causal masking removes it; `bias[j]` (when given) the flat index of the pair in the
 * relative positional bias table `[2k0 - 1, 2k1 - 1, ...]` of one head. Both arrays have `numSlots` entries.
 */
export function fillNeighbors(g: WindowGeometry, query: number, keys: Int32Array, bias?: Int32Array): void {
  const rank = g.tokens.length;
  // Coordinates of the query, last axis fastest.
  const coords = new Array<number>(rank);
  for (let a = rank - 1, r = query; a >= 0; a--) {
    coords[a] = r % g.tokens[a];
    r = Math.floor(r / g.tokens[a]);
  }
  keys[0] = 0;
  if (bias) bias[0] = 0;
  let filled = 1;
  // Expand axis by axis; going from the last slot down lets the product overwrite the array in place.
  for (let a = 0; a < rank; a++) {
    const { kernelSize: k, key, bias: bt } = g.axes[a];
    const size = g.tokens[a];
    const span = 2 * k - 1;
    const base = coords[a] * k;
    for (let p = filled - 1; p >= 0; p--) {
      const prevKey = keys[p];
      const prevBias = bias ? bias[p] : 0;
      for (let j = k - 1; j >= 0; j--) {
        const c = key[base + j];
        keys[p * k + j] = prevKey < 0 || c < 0 ? -1 : prevKey * size + c;
        if (bias) bias[p * k + j] = prevBias * span + bt[base + j];
      }
    }
    filled *= k;
  }
}

/** The 0/1 mask over flat key positions of the keys the query at flat index `query` attends to. */
export function neighborMask(g: WindowGeometry, query: number): Uint8Array {
  const keys = new Int32Array(g.numSlots);
  fillNeighbors(g, query, keys);
  const mask = new Uint8Array(g.numTokens);
  for (const key of keys) if (key >= 0) mask[key] = 1;
  return mask;
}
