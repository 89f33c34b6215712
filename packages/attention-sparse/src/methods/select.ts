// Device-side building blocks of content-based patterns. Selection runs as core tensor ops on the backend
// the inputs live on (no synchronous read-back, so it works on WebGPU), and produces the engine's int32
// `kvBlocks` directly. Every helper runs without gradient recording: routing decisions are not differentiable.
import {
  arange,
  cast,
  einsum,
  gt,
  indexSelect,
  noGrad,
  type Tensor,
  tensor,
  tidy,
  topk,
  ValueError,
  where,
} from '@attnkit/core';

/**
 * The true positions along the last axis of the bool `sel` `[..., C]`, ascending, padded with -1 to `width`
 * entries (int32 `[..., width]`), i.e. a `kvBlocks` row per leading index. `width` must hold every row's
 * count (callers pass a bound: the number selected, or `C`).
 */
export function listsFromSelection(sel: Tensor, width: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const c = sel.shape[sel.rank - 1];
      // Score C - c for a selected position c and 0 otherwise: topk then returns the selected ones in
      // ascending position order, followed by unselected ones (score 0) that become -1.
      const rank = arange(c, 0, -1, { dtype: 'float32', backend: sel.backend.name });
      const score = where(sel, rank, 0);
      const { values, indices } = topk(score, Math.min(width, c));
      return where(gt(values, 0), indices, -1);
    }),
  );
}

/** Replaces entries of `kvBlocks` whose selection value is -Infinity (not selectable) by -1. */
export function dropUnselectable(values: Tensor, indices: Tensor): Tensor {
  return noGrad(() => where(gt(values, Number.NEGATIVE_INFINITY), indices, -1));
}

/**
 * Means of consecutive chunks of `chunk` tokens of `x` `[batch, n, heads, dim]` (the last chunk may be
 * partial and is averaged over its real tokens): `[batch, ceil(n / chunk), heads, dim]`. Computed as one
 * product with a constant averaging matrix.
 */
export function chunkMeans(x: Tensor, chunk: number): Tensor {
  const n = x.shape[1];
  const nc = Math.ceil(n / chunk);
  const avg = new Float32Array(nc * n);
  for (let c = 0; c < nc; c++) {
    const end = Math.min(n, (c + 1) * chunk);
    for (let j = c * chunk; j < end; j++) avg[c * n + j] = 1 / (end - c * chunk);
  }
  return tidy(() => {
    const p = tensor(avg, { shape: [nc, n], backend: x.backend.name });
    return einsum('cn,bnhd->bchd', cast(p, x.dtype), x);
  });
}

/** Repeats kv heads for grouped-query attention: `[b, n, kvHeads, d]` to `[b, n, heads, d]`. */
export function expandKvHeads(x: Tensor, heads: number): Tensor {
  const kvHeads = x.shape[2];
  if (kvHeads === heads) return x;
  const group = heads / kvHeads;
  const map = Int32Array.from({ length: heads }, (_, h) => Math.floor(h / group));
  return tidy(() => indexSelect(x, 2, tensor(map, { dtype: 'int32', backend: x.backend.name })));
}

/** A bool constant `[rows, cols]` on `backend`, true where `f(r, c)`. */
export function boolGrid(
  rows: number,
  cols: number,
  backend: string,
  f: (r: number, c: number) => boolean,
): Tensor {
  const data = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = f(r, c) ? 1 : 0;
  return tensor(data, { shape: [rows, cols], dtype: 'bool', backend });
}

/** Throws unless `v` is an integer >= `min`. */
export function checkInt(op: string, arg: string, v: unknown, min = 1): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
    throw new ValueError(op, arg, `an integer >= ${min}`, String(v));
  }
  return v;
}

// Methods check their q, k, v with the engine's checks, under their own name.
export { checkQkv } from '../engine/block-sparse.js';
