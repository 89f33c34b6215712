import type { Tensor } from '@attnkit/core';
import { attendPattern } from '../run-pattern.js';
import { checkQkv } from '../select.js';
import { checkS2Coverage, type S2Options, s2AttentionPattern } from './pattern.js';

/** Options of {@link s2Attention}: the pattern's options without the head counts (read from q and k). */
export interface S2AttentionOptions extends Omit<S2Options, 'heads' | 'kvHeads'> {
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
  /** Throw unless the heads together cover every block (default false; see {@link checkS2Coverage}). */
  requireCoverage?: boolean;
}

/**
 * S2-Attention: each head attends its local blocks and every `vertStride`-th block, with a per-head phase
 * (see {@link s2AttentionPattern}). `q` `[batch, nq, heads, dim]`, `k`/`v` `[batch, nk, kvHeads, .]`; with
 * `nk > nq` the queries are the last `nq` positions (decoding with a cache). Differentiable in q, k, v.
 *
 * @example
 * const y = s2Attention(q, k, v, { blockSize: 64, localBlocks: 4, vertStride: 8 });
 */
export function s2Attention(q: Tensor, k: Tensor, v: Tensor, opts: S2AttentionOptions): Tensor {
  checkQkv('s2Attention', q, k, v);
  const full: S2Options = { ...opts, heads: q.shape[2], kvHeads: k.shape[2] };
  if (opts.requireCoverage) checkS2Coverage(Math.ceil(k.shape[1] / opts.blockSize), full);
  return attendPattern(q, k, v, s2AttentionPattern(q.shape[1], k.shape[1], full), opts.scale);
}
