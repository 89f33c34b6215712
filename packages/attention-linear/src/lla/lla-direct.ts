// Local Linear Attention (Zuo et al., "Local Linear Attention", arXiv 2510.01450; FlashLLA): each query fits a
// weighted local linear model of the values around itself (weights exp(q.k scale), ridge lambda on the slope) and
// returns the fitted intercept. This file is the direct O(n^2 d^2) closed form in float64: per query, build the
// d x d weighted second moment and solve for u; it is the oracle of the blockwise form.
import { type Tensor, tensor, ValueError } from '@attnkit/core';
import { checkBool, checkNumber, checkQkv } from '../util/check.js';

/** Options of the LLA functions. */
export interface LlaOptions {
  /**
   * Ridge `lambda > 0` added to the weighted second moment: `Sigma~ = Sigma + lambda I` (objective
   * `sum_j w_j |v_j - b - W (k_j - q)|^2 + lambda |W|_F^2`, no 1/2; FlashLLA's `ridge_lambda` convention is not
   * published). Default 10, FlashLLA's default value. As lambda grows LLA tends to softmax attention.
   */
  lambda?: number;
  /** Logit scale of the weights `w_j = exp(scale q . k_j)` (default `1 / sqrt(headDim)`). */
  scale?: number;
  /** Query i fits keys j <= i only (default true, as FlashLLA). */
  causal?: boolean;
}

/** Resolved LLA options. */
export function llaOptions(
  op: string,
  dk: number,
  opts: LlaOptions,
): {
  /** Ridge strength. */
  lambda: number;
  /** Logit scale. */
  scale: number;
  /** Whether queries see only earlier keys. */
  causal: boolean;
} {
  return {
    lambda: checkNumber(op, 'lambda', opts.lambda ?? 10, 0, true),
    scale: checkNumber(op, 'scale', opts.scale ?? 1 / Math.sqrt(dk), 0),
    causal: checkBool(op, 'causal', opts.causal ?? true),
  };
}

/** Solves `A x = b` (A `n x n` row-major, overwritten) by Gaussian elimination with partial pivoting. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = b.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    if (p !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[p * n + j]] = [A[p * n + j], A[c * n + j]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[r * n + j] -= f * A[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let j = c + 1; j < n; j++) s -= A[c * n + j] * x[j];
    x[c] = s / A[c * n + c];
  }
  return x;
}

/**
 * LLA's closed form, directly (O(n^2 d^2) time, a d x d matrix per query), in float64 loops on CPU tensors, for
 * the query rows `rows` (default all; flat token indices). With `D_j = k_j - q_i`, `w_j = exp(scale q_i . k_j)`,
 * `m = sum_j w_j D_j`, `Sigma = sum_j w_j D_j D_j^T` and `u = (Sigma + lambda I)^-1 m`:
 * `s_j = w_j (1 - D_j . u)`, `o_i = sum_j s_j v_j / sum_j s_j`. Weights are shifted by the row's maximum logit
 * and lambda scaled by the same factor, which leaves u and o unchanged. Returns float64
 * `[batch, rows.length, heads, dv]`. Not differentiable (the oracle); use {@link llaAttention} to train.
 */
export function llaDirect(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LlaOptions & { rows?: readonly number[] } = {},
): Tensor {
  const op = 'llaDirect';
  const s = checkQkv(op, q, k, v);
  const { lambda, scale, causal } = llaOptions(op, s.dk, opts);
  if (!q.backend.readSync) throw new ValueError(op, 'q', 'a tensor on the CPU', q.backend.name);
  const rows = opts.rows ?? Array.from({ length: s.n }, (_, i) => i);
  const Q = q.dataSync();
  const K = k.dataSync();
  const V = v.dataSync();
  const { batch, n, heads, dk: d, dv } = s;
  const out = new Float64Array(batch * rows.length * heads * dv);
  const w = new Float64Array(n);
  const D = new Float64Array(n * d);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      if (!(Number.isInteger(i) && i >= 0 && i < n))
        throw new ValueError(op, `rows[${r}]`, `a token index in [0, ${n})`, String(i));
      const last = causal ? i : n - 1;
      for (let h = 0; h < heads; h++) {
        const qo = ((b * n + i) * heads + h) * d;
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j <= last; j++) {
          const ko = ((b * n + j) * heads + h) * d;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += Q[qo + c] * K[ko + c];
          w[j] = dot * scale;
          mx = Math.max(mx, w[j]);
          for (let c = 0; c < d; c++) D[j * d + c] = K[ko + c] - Q[qo + c];
        }
        const m = new Float64Array(d);
        const S = new Float64Array(d * d);
        for (let j = 0; j <= last; j++) {
          w[j] = Math.exp(w[j] - mx);
          for (let a = 0; a < d; a++) {
            m[a] += w[j] * D[j * d + a];
            for (let c = 0; c < d; c++) S[a * d + c] += w[j] * D[j * d + a] * D[j * d + c];
          }
        }
        const ridge = lambda * Math.exp(-mx);
        for (let a = 0; a < d; a++) S[a * d + a] += ridge;
        const u = solve(S, m, d);
        let total = 0;
        const oo = ((b * rows.length + r) * heads + h) * dv;
        for (let j = 0; j <= last; j++) {
          let du = 0;
          for (let c = 0; c < d; c++) du += D[j * d + c] * u[c];
          const sj = w[j] * (1 - du);
          total += sj;
          const vo = ((b * n + j) * heads + h) * dv;
          for (let e = 0; e < dv; e++) out[oo + e] += sj * V[vo + e];
        }
        for (let e = 0; e < dv; e++) out[oo + e] /= total;
      }
    }
  }
  return tensor(out, { shape: [batch, rows.length, heads, dv], dtype: 'float64', backend: 'cpu' });
}
