// The quadratic form of linear.decayCausal on plain arrays: an oracle independent of the recurrent CPU kernel
// and of every chunked kernel (tests and the attention-bench references use it).
import { ShapeError } from '@attnkit/core';

/**
 * The exact output of `linear.decayCausal` by its quadratic (masked) form, in float64:
 * `o[b,t,h,:] = sum_{s<=t} exp(-decay[h] (t-s)) (q[b,t,h,:] . k[b,s,h,:]) v[b,s,h,:]`. Arrays are row-major
 * `[batch, n, heads, dk]` (q, k) and `[batch, n, heads, dv]` (v); `rows` picks the query positions to compute
 * (default all). Returns `[batch, rows.length, heads, dv]` values.
 */
export function decayCausalQuadratic(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  shape: { batch: number; n: number; heads: number; dk: number; dv: number },
  decay: readonly number[],
  rows?: readonly number[],
): Float64Array {
  const { batch, n, heads, dk, dv } = shape;
  if (q.length !== batch * n * heads * dk || k.length !== q.length || v.length !== batch * n * heads * dv) {
    throw new ShapeError(
      'decayCausalQuadratic',
      'q, k, v',
      `${batch * n * heads * dk}, ${batch * n * heads * dk} and ${batch * n * heads * dv} values`,
      `${q.length}, ${k.length} and ${v.length}`,
    );
  }
  const rs = rows ?? Array.from({ length: n }, (_, i) => i);
  const out = new Float64Array(batch * rs.length * heads * dv);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rs.length; r++) {
      const t = rs[r];
      for (let h = 0; h < heads; h++) {
        const qo = ((b * n + t) * heads + h) * dk;
        const oo = ((b * rs.length + r) * heads + h) * dv;
        for (let s = 0; s <= t; s++) {
          const ko = ((b * n + s) * heads + h) * dk;
          let dot = 0;
          for (let c = 0; c < dk; c++) dot += q[qo + c] * k[ko + c];
          const w = Math.exp(-decay[h] * (t - s)) * dot;
          const vo = ((b * n + s) * heads + h) * dv;
          for (let e = 0; e < dv; e++) out[oo + e] += w * v[vo + e];
        }
      }
    }
  }
  return out;
}
