// Classic kernelised linear attention (Katharopoulos et al., "Transformers are RNNs", 2020, as in
// idiap/fast-transformers): softmax(q k^T) replaced by phi(q) phi(k)^T and a row normaliser. The causal form is
// one call of the decayed scan primitive with decay 0 on [v | 1]: its last output channel is the normaliser.
import { concat, div, einsum, narrow, ones, reshape, sum, type Tensor, tidy, unsqueeze } from '@attnkit/core';
import { decayCausal } from '../ops/decay-causal.js';
import { checkBool, checkNumber, checkQkv } from '../util/check.js';
import { applyFeatureMap, type FeatureMap } from './feature-maps.js';

/** Options of {@link linearAttention}. */
export interface LinearAttentionOptions {
  /** Feature map applied to q and k (default `'elu+1'`, as fast-transformers). */
  featureMap?: FeatureMap;
  /** Query `i` attends keys `j <= i` in row-major token order (default false). */
  causal?: boolean;
  /** Added to the normaliser `phi(q_i) . sum_j phi(k_j)` before dividing (default 1e-6, as fast-transformers). */
  eps?: number;
}

/**
 * Linear attention: `o_i = phi(q_i)^T sum_j phi(k_j) v_j^T / (phi(q_i)^T sum_j phi(k_j) + eps)`, over all keys
 * or (causal) keys `j <= i`. Layout `[batch, ...tokens, heads, dim]` (token axes flattened row-major); values
 * may have their own dim, and without causality keys and values their own token grid (cross-attention). No `1/sqrt(d)` scale (the feature map replaces the softmax). Time O(n d e), and the
 * causal form runs the `linear.decayCausal` scan (chunked on WebGPU). Differentiable in q, k and v.
 *
 * @example
 * const o = linearAttention(q, k, v, { causal: true }); // phi = elu + 1
 */
export function linearAttention(q: Tensor, k: Tensor, v: Tensor, opts: LinearAttentionOptions = {}): Tensor {
  const op = 'linearAttention';
  const causal = checkBool(op, 'causal', opts.causal ?? false);
  const s = checkQkv(op, q, k, v, { crossTokens: !causal });
  const eps = checkNumber(op, 'eps', opts.eps ?? 1e-6, 0);
  const featureMap = opts.featureMap ?? 'elu+1';
  return tidy(() => {
    const flat = (t: Tensor, n: number) => reshape(t, [s.batch, n, s.heads, t.shape[t.rank - 1]]);
    const fq = flat(applyFeatureMap(op, featureMap, q), s.n);
    const fk = flat(applyFeatureMap(op, featureMap, k), s.nk);
    const fv = flat(v, s.nk);
    let num: Tensor;
    let den: Tensor;
    if (causal) {
      // [v | 1]: the scan's last channel is then sum_{j<=i} phi(q_i) . phi(k_j), the causal normaliser.
      const one = ones([s.batch, s.n, s.heads, 1], { dtype: v.dtype, backend: v.backend.name });
      const o = decayCausal(fq, fk, concat([fv, one], 3));
      num = narrow(o, 3, 0, s.dv);
      den = narrow(o, 3, s.dv, 1);
    } else {
      const kv = einsum('bnhd,bnhe->bhde', fk, fv);
      num = einsum('bnhd,bhde->bnhe', fq, kv);
      den = unsqueeze(einsum('bnhd,bhd->bnh', fq, sum(fk, { axis: 1 })), 3);
    }
    return reshape(div(num, den.add(eps)), [s.batch, ...s.tokens, s.heads, s.dv]);
  });
}
