// What the CPU kernels share: sizes read from the input shapes, float64 scratch, and output allocation.
import { cpuTensor, type Tensor, type TypedArray } from '@attnkit/core';
import { type WindowGeometry, windowGeometry } from '../../window/window.js';
import type { NeighborhoodAttrs } from '../defs.js';

/** Sizes of a `[batch, ...tokens, heads, dim]` tensor. */
export interface Dims {
  batch: number;
  tokens: number[];
  heads: number;
  dim: number;
}

/** Reads the sizes of a `[batch, ...tokens, heads, dim]` tensor. */
export function dimsOf(x: Tensor): Dims {
  return {
    batch: x.shape[0],
    tokens: x.shape.slice(1, -2),
    heads: x.shape[x.rank - 2],
    dim: x.shape[x.rank - 1],
  };
}

/** The window lookup tables of the grid `tokens` under the op's attributes. */
export function geometryOf(tokens: number[], a: NeighborhoodAttrs): WindowGeometry {
  return windowGeometry(tokens, a);
}

/** A float64 accumulator rounded once into a new CPU tensor of `dtype` (float32 or float64) and `shape`. */
export function output(acc: Float64Array, dtype: string, shape: readonly number[]): Tensor {
  const values: TypedArray = dtype === 'float64' ? Float64Array.from(acc) : Float32Array.from(acc);
  return cpuTensor(values, shape);
}

/** `sum_c a[ao + c] * b[bo + c]` for `c < n`, in float64. */
export function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += a[ao + c] * b[bo + c];
  return s;
}

/**
 * Calls `row(b, h, qr, kh)` for every query row `qr` of a `[batch, numTokens, heads]` grid, token-major (the
 * order every CPU kernel here accumulates in, so the sums stay deterministic), after `token(i)` has prepared
 * token `i` (its neighbor tables). `kh` is the row's key/value head (GQA: `group` query heads share one).
 */
export function forEachQueryRow(
  numTokens: number,
  batch: number,
  heads: number,
  group: number,
  token: (i: number) => void,
  row: (b: number, h: number, qr: number, kh: number) => void,
): void {
  for (let i = 0; i < numTokens; i++) {
    token(i);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) row(b, h, (b * numTokens + i) * heads + h, Math.floor(h / group));
    }
  }
}
