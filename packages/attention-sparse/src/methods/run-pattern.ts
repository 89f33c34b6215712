// Runs a host-built BlockPattern on the engine: uploads its block lists (and element mask) as tensors on
// q's backend, calls blockSparseAttention, and frees the uploads.
import { type Tensor, tensor } from '@attnkit/core';
import { type BlockLayout, blockSparseAttention } from '../engine/index.js';
import { type BlockPattern, queryBlocks } from './pattern.js';

/** The engine layout (int32 kvBlocks on `backend`) of a host pattern. */
export function layoutOf(p: BlockPattern, backend = 'cpu'): BlockLayout {
  return {
    blockQ: p.blockQ,
    blockK: p.blockK,
    kvBlocks: tensor(p.kvBlocks, {
      shape: [p.batch, p.heads, queryBlocks(p), p.maxBlocks],
      dtype: 'int32',
      backend,
    }),
  };
}

/**
 * Block-sparse attention of `q` `[batch, nq, heads, dim]`, `k`/`v` `[batch, nk, kvHeads, .]` over the host
 * pattern `p` (its causality and element mask included). Returns the output `[batch, nq, heads, valueDim]`.
 */
export function attendPattern(q: Tensor, k: Tensor, v: Tensor, p: BlockPattern, scale?: number): Tensor {
  const backend = q.backend.name;
  const layout = layoutOf(p, backend);
  const mask = p.mask ? tensor(p.mask.data, { shape: [...p.mask.shape], dtype: 'bool', backend }) : null;
  try {
    const { out, lse } = blockSparseAttention(q, k, v, layout, { causal: p.causal, mask, scale });
    lse.dispose();
    return out;
  } finally {
    layout.kvBlocks.dispose();
    mask?.dispose();
  }
}
