import { type Tensor, ValueError } from '@attnkit/core';
import { attendPattern } from '../run-pattern.js';
import { checkQkv } from '../select.js';
import { type PowerAttentionOptions, powerAttentionPattern } from './pattern.js';

/** Options of {@link powerAttention}. */
export interface PowerAttentionCallOptions extends PowerAttentionOptions {
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

/**
 * PowerAttention, causal: query block `i` attends blocks `i - 2^m` and itself (see
 * {@link powerAttentionPattern}). `q`, `k`, `v` `[batch, n, heads or kvHeads, .]`. Differentiable in q, k, v.
 *
 * @example
 * const y = powerAttention(q, k, v, { blockSize: 64 });
 */
export function powerAttention(q: Tensor, k: Tensor, v: Tensor, opts: PowerAttentionCallOptions): Tensor {
  checkQkv('powerAttention', q, k, v);
  if (k.shape[1] !== q.shape[1]) {
    throw new ValueError('powerAttention', 'k', `${q.shape[1]} tokens like q`, String(k.shape[1]));
  }
  return attendPattern(q, k, v, powerAttentionPattern(q.shape[1], opts), opts.scale);
}
