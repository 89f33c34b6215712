// LLA's memory-efficient form: queries in blocks, and for each query the ridge system (Sigma_i + lambda I) u = m_i
// solved by conjugate gradients whose mat-vecs are computed from the keys directly,
// Sigma_i x = sum_j w_ij D_j (D_j . x) with D_j = k_j - q_i, expanded so that no n x n x d difference tensor
// and no d x d matrix per query is ever formed (the spec's GUESS at FlashLLA's primitives). Memory
// O(block * n) per block; time O(n^2 d * iterations). Written with core ops: differentiable by autograd.
import {
  add,
  cast,
  concat,
  div,
  exp,
  matmul,
  max,
  maximum,
  mul,
  narrow,
  neg,
  permute,
  reshape,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  where,
  zerosLike,
} from '@attnkit/core';
import { checkInt, checkQkv } from '../util/check.js';
import { type LlaOptions, llaOptions } from './lla-direct.js';

/** Options of {@link llaAttention}. */
export interface LlaBlockwiseOptions extends LlaOptions {
  /** Queries per block (default 64). */
  blockSize?: number;
  /**
   * Conjugate-gradient iterations per query (default `2 * headDim`; `headDim` solves exactly in exact
   * arithmetic, the rest absorbs rounding in float32).
   */
  cgIterations?: number;
}

// Floor of CG's divisors (a residual can reach exactly 0): large enough that its square, which the gradient of a
// division takes, does not underflow to 0 (0/0 would poison the gradient).
const TINY = { float32: 1e-18, float64: 1e-150 } as const;

/**
 * Local Linear Attention, blockwise: the same output as {@link llaDirect} (`o_i = sum_j s_j v_j / sum_j s_j`,
 * `s_j = w_j (1 - D_j . u_i)`, `u_i = (Sigma_i + lambda I)^-1 m_i`), with u found by `cgIterations` steps of
 * conjugate gradients on matrix-free products. Layout `[batch, ...tokens, heads, dim]` (flattened row-major for
 * causality). Logits are shifted by their row maximum and lambda scaled to match, so exp never overflows.
 * Differentiable in q, k and v (through the unrolled iterations). On the CPU, float32 inputs are solved in float64.
 */
export function llaAttention(q: Tensor, k: Tensor, v: Tensor, opts: LlaBlockwiseOptions = {}): Tensor {
  const op = 'llaAttention';
  const s = checkQkv(op, q, k, v);
  const { lambda, scale, causal } = llaOptions(op, s.dk, opts);
  const blockSize = checkInt(op, 'blockSize', opts.blockSize ?? 64, 1);
  const iters = checkInt(op, 'cgIterations', opts.cgIterations ?? 2 * s.dk, 1);
  // The iterated solve amplifies per-op rounding: where the backend stores float64 (the CPU), float32 inputs
  // are solved in float64 and the result rounded once.
  const wide = q.dtype === 'float32' && q.backend.dtypes.includes('float64');
  const tiny = TINY[wide ? 'float64' : (q.dtype as 'float32' | 'float64')];
  return tidy(() => {
    const heads = (t: Tensor) =>
      permute(
        reshape(wide ? cast(t, 'float64') : t, [s.batch, s.n, s.heads, t.shape[t.rank - 1]]),
        [0, 2, 1, 3],
      );
    const qh = heads(q);
    const kh = heads(k);
    const vh = heads(v);
    const dotLast = (a: Tensor, b: Tensor) => sum(mul(a, b), { axis: -1, keepDims: true });
    const outs: Tensor[] = [];
    for (let start = 0; start < s.n; start += blockSize) {
      const len = Math.min(blockSize, s.n - start);
      const nk = causal ? start + len : s.n;
      const Qb = narrow(qh, 2, start, len); // [B, H, bq, d]
      const Kc = narrow(kh, 2, 0, nk); // [B, H, nk, d]
      const Kt = transpose(Kc);
      let logits = mul(matmul(Qb, Kt), scale); // [B, H, bq, nk]
      if (causal) {
        const allowed = new Uint8Array(len * nk);
        for (let a = 0; a < len; a++)
          for (let j = 0; j < nk; j++) allowed[a * nk + j] = j <= start + a ? 1 : 0;
        const mask = tensor(allowed, { shape: [len, nk], dtype: 'bool', backend: q.backend.name });
        logits = where(mask, logits, Number.NEGATIVE_INFINITY);
      }
      const mx = max(logits, { axis: -1, keepDims: true }).detach();
      const w = exp(sub(logits, mx)); // masked keys: exp(-inf) = 0
      const ridge = mul(exp(neg(mx)), lambda); // lambda e^{-max}: the same u as lambda with unshifted weights
      const omega = sum(w, { axis: -1, keepDims: true });
      const m = sub(matmul(w, Kc), mul(omega, Qb)); // sum_j w_j (k_j - q)
      // Sigma x + ridge x, with D_j . x = k_j . x - q . x.
      const apply = (x: Tensor) => {
        const wp = mul(w, sub(matmul(x, Kt), dotLast(x, Qb)));
        return add(sub(matmul(wp, Kc), mul(sum(wp, { axis: -1, keepDims: true }), Qb)), mul(ridge, x));
      };
      let u = zerosLike(m);
      let r = m;
      let p = m;
      let rs = dotLast(r, r);
      for (let it = 0; it < iters; it++) {
        const ap = apply(p);
        const alpha = div(rs, maximum(dotLast(p, ap), tiny));
        u = add(u, mul(alpha, p));
        r = sub(r, mul(alpha, ap));
        const rsNext = dotLast(r, r);
        p = add(r, mul(div(rsNext, maximum(rs, tiny)), p));
        rs = rsNext;
      }
      const sw = mul(w, sub(1, sub(matmul(u, Kt), dotLast(u, Qb))));
      outs.push(div(matmul(sw, narrow(vh, 2, 0, nk)), sum(sw, { axis: -1, keepDims: true })));
    }
    const o = reshape(permute(concat(outs, 2), [0, 2, 1, 3]), [s.batch, ...s.tokens, s.heads, s.dv]);
    return wide ? cast(o, 'float32') : o;
  });
}
