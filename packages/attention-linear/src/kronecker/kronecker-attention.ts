// Kronecker (tensor, third-order) attention (Alman & Song, "How to Capture Higher-order Correlations?
// Generalizing Matrix Softmax Attention to Kronecker Computation", ICLR 2024): each query attends to pairs of
// keys (j1, j2) with logit sum_l q_l k1_{j1 l} k2_{j2 l} and reads v1_{j1} * v2_{j2}. Exact, O(n^3 d): small n.
import {
  add,
  div,
  einsum,
  exp,
  max,
  maximum,
  mul,
  narrow,
  permute,
  reshape,
  softmax,
  sub,
  sum,
  type Tensor,
  tidy,
  unsqueeze,
  ValueError,
} from '@attnkit/core';
import { checkInt, checkNumber, checkQkv } from '../util/check.js';

/** Options of {@link kroneckerAttention}. */
export interface KroneckerAttentionOptions {
  /** Multiplies the logits (default 1: the paper's formula has no scale). */
  scale?: number;
  /**
   * Keys `j1` per chunk (default: all at once). With a chunk, the weights of one chunk (`[batch, heads, n, chunk,
   * n]`) are formed at a time and the chunks merged with their log-sum-exps, as flash attention merges key blocks.
   */
  chunk?: number;
}

/**
 * Kronecker attention: `q`, `k1`, `k2` `[batch, n, heads, d]`, `v1`, `v2` `[batch, n, heads, e]` give
 * `o_i = sum_{j1,j2} softmax_{(j1,j2)}(scale sum_l q_il k1_{j1 l} k2_{j2 l}) (v1_{j1} * v2_{j2})`,
 * `[batch, n, heads, e]` (one token axis; non-causal). With `k2 = v2 = 1` it is softmax attention of
 * (q, k1, v1) with the same scale. Materialises `[batch, heads, n, n, n]` weights: keep n small.
 * Differentiable in all five inputs.
 */
export function kroneckerAttention(
  q: Tensor,
  k1: Tensor,
  k2: Tensor,
  v1: Tensor,
  v2: Tensor,
  opts: KroneckerAttentionOptions = {},
): Tensor {
  const op = 'kroneckerAttention';
  const s = checkQkv(op, q, k1, v1, { names: ['q', 'k1', 'v1'] });
  checkQkv(op, q, k2, v2, { names: ['q', 'k2', 'v2'] });
  if (v2.shape[3] !== s.dv) {
    throw new ValueError(op, 'v2', `value dim ${s.dv} like v1`, String(v2.shape[3]));
  }
  if (s.tokens.length !== 1) {
    throw new ValueError(op, 'q', 'one token axis [batch, n, heads, dim]', `${s.tokens.length} token axes`);
  }
  const scale = checkNumber(op, 'scale', opts.scale ?? 1, 0);
  const n = s.n;
  const chunk = checkInt(op, 'chunk', opts.chunk ?? n, 1);
  return tidy(() => {
    if (chunk >= n) {
      const logits = mul(einsum('bihl,bjhl,bkhl->bhijk', q, k1, k2), scale);
      const flat = softmax(reshape(logits, [s.batch, s.heads, n, n * n]), -1);
      return einsum('bhijk,bjhe,bkhe->bihe', reshape(flat, [s.batch, s.heads, n, n, n]), v1, v2);
    }
    // Per chunk c of keys j1: its row maxima m_c (constants), unnormalised sums l_c and outputs o_c; then
    // o = sum_c e^(m_c - m) o_c / sum_c e^(m_c - m) l_c with m the overall maximum.
    const parts: { m: Tensor; l: Tensor; o: Tensor }[] = [];
    for (let start = 0; start < n; start += chunk) {
      const len = Math.min(chunk, n - start);
      const k1c = narrow(k1, 1, start, len);
      const logits = reshape(mul(einsum('bihl,bjhl,bkhl->bhijk', q, k1c, k2), scale), [
        s.batch,
        s.heads,
        n,
        len * n,
      ]);
      const m = max(logits, { axis: -1, keepDims: true }).detach(); // [b, h, n, 1]
      const p = reshape(exp(sub(logits, m)), [s.batch, s.heads, n, len, n]);
      const l = sum(p, { axis: [3, 4] }); // [b, h, n]
      const o = einsum('bhijk,bjhe,bkhe->bihe', p, narrow(v1, 1, start, len), v2); // [b, n, h, e]
      parts.push({ m: reshape(m, [s.batch, s.heads, n]), l, o });
    }
    const mAll = parts.map((x) => x.m).reduce((a, b) => maximum(a, b));
    let num: Tensor | null = null;
    let den: Tensor | null = null;
    for (const x of parts) {
      const f = exp(sub(x.m, mAll)); // [b, h, n]
      const w = unsqueeze(permute(f, [0, 2, 1]), 3); // [b, n, h, 1]
      num = num ? add(num, mul(x.o, w)) : mul(x.o, w);
      den = den ? add(den, mul(x.l, f)) : mul(x.l, f);
    }
    return div(num as Tensor, unsqueeze(permute(den as Tensor, [0, 2, 1]), 3));
  });
}
