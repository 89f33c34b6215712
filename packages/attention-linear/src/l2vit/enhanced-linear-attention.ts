// L2ViT's enhanced linear attention (Zheng et al., "The Linear Attention Resurrection in Vision Transformer";
// ChuanyangZheng/L2ViT `classification/models/l2vit.py`, class LinearAttention): ReLU kernel, a learnable
// per-head temperature on the kv product, and the normaliser clamped from below (min 100 in the released code).
import {
  clamp,
  div,
  einsum,
  mul,
  relu,
  reshape,
  sum,
  type Tensor,
  tidy,
  unsqueeze,
  ValueError,
} from '@attnkit/core';
import { checkNumber, checkQkv } from '../util/check.js';

/** Options of {@link enhancedLinearAttention}. */
export interface EnhancedLinearAttentionOptions {
  /**
   * Per-head temperature multiplying `relu(k)^T v`: a tensor `[heads]` (learnable in the layer) or a number
   * (default `headDim^-0.5`, the layer's initial value).
   */
  temperature?: Tensor | number;
  /** Lower clamp of the normaliser `relu(q_i) . sum_j relu(k_j)` (default 100, as the released code). */
  denomMin?: number;
}

/**
 * Enhanced linear attention: `o_i = relu(q_i)^T (tau_h relu(K)^T V) / max(relu(q_i) . sum_j relu(k_j), denomMin)`.
 * Non-causal, kv-first (O(N d e)); layout `[batch, ...tokens, heads, dim]`. The clamp keeps outputs small
 * while few keys are active (its gradient is 0 there). Differentiable in q, k, v and a tensor temperature.
 */
export function enhancedLinearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: EnhancedLinearAttentionOptions = {},
): Tensor {
  const op = 'enhancedLinearAttention';
  const s = checkQkv(op, q, k, v);
  const denomMin = checkNumber(op, 'denomMin', opts.denomMin ?? 100, 0);
  const t = opts.temperature ?? 1 / Math.sqrt(s.dk);
  if (typeof t === 'number') checkNumber(op, 'temperature', t, 0);
  else if (t.rank !== 1 || t.shape[0] !== s.heads) {
    throw new ValueError(op, 'temperature', `a number or a tensor [${s.heads}]`, `[${t.shape.join(', ')}]`);
  }
  return tidy(() => {
    const flat = (x: Tensor) => reshape(x, [s.batch, s.n, s.heads, x.shape[x.rank - 1]]);
    const rq = relu(flat(q));
    const rk = relu(flat(k));
    let kv = einsum('bnhd,bnhe->bhde', rk, flat(v));
    kv = typeof t === 'number' ? mul(kv, t) : mul(kv, reshape(t, [1, s.heads, 1, 1]));
    const denom = clamp(einsum('bnhd,bhd->bnh', rq, sum(rk, { axis: 1 })), denomMin);
    const out = div(einsum('bnhd,bhde->bnhe', rq, kv), unsqueeze(denom, 3));
    return reshape(out, [s.batch, ...s.tokens, s.heads, s.dv]);
  });
}
