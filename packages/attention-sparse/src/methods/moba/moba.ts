// MoBA (MoonshotAI/MoBA, spec 6.1): causal mixture of block attention. Each query token scores every key
// block by <q_t, mean of the block's keys>; it attends its own block (causally) plus the k - 1 best blocks
// lying fully in its past. Selection is per token and per head, so the layout has one query row per block
// (blockQ = 1) and lists the chosen key blocks.
import { einsum, noGrad, type Tensor, tidy, topk, ValueError, where } from '@attnkit/core';
import { type BlockLayout, blockSparseAttention } from '../../engine/index.js';
import { boolGrid, checkInt, checkQkv, chunkMeans, dropUnselectable, expandKvHeads } from '../select.js';

/** Options of {@link mobaAttention}. */
export interface MobaOptions {
  /** Key block (chunk) size B (`moba_chunk_size`). */
  chunkSize: number;
  /**
   * Blocks per query, its own block included (`moba_topk`). `topk = 1` means own-block-only attention, as
   * MoBA's naive reference; its efficient kernel gives full causal attention there instead (we follow the
   * naive one, see the README).
   */
  topk: number;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

const OP = 'mobaAttention';

/**
 * MoBA's routing as a block layout (`blockQ = 1`, `blockK = chunkSize`, kvBlocks `[batch, heads, nq,
 * min(topk, nBlocks)]`), computed on q's backend without gradient. For token `t` the gate of block `i` is
 * `<q_t, mean(k over block i)>`, `-Infinity` unless block `i` ends at or before `t`, `+Infinity` for `t`'s own
 * block; the top `topk` gates are kept (unselectable ones dropped).
 */
export function mobaLayout(q: Tensor, k: Tensor, opts: MobaOptions): BlockLayout {
  const chunk = checkInt(OP, 'chunkSize', opts.chunkSize);
  const kTop = checkInt(OP, 'topk', opts.topk);
  const n = k.shape[1];
  const nb = Math.ceil(n / chunk);
  const kvBlocks = noGrad(() =>
    tidy(() => {
      const means = expandKvHeads(chunkMeans(k, chunk), q.shape[2]);
      const gate = einsum('bthd,bchd->bhtc', q, means);
      const past = boolGrid(q.shape[1], nb, q.backend.name, (t, c) => (c + 1) * chunk <= t);
      const own = boolGrid(q.shape[1], nb, q.backend.name, (t, c) => c === Math.floor(t / chunk));
      const g = where(own, Number.POSITIVE_INFINITY, where(past, gate, Number.NEGATIVE_INFINITY));
      const { values, indices } = topk(g, Math.min(kTop, nb));
      return dropUnselectable(values, indices);
    }),
  );
  return { blockQ: 1, blockK: chunk, kvBlocks };
}

/**
 * MoBA causal attention (prefill: `nq == nk`): `q` `[batch, n, heads, dim]`, `k`/`v` `[batch, n, kvHeads, .]`.
 * Each token attends its own block (keys up to itself) and its `topk - 1` best fully-past blocks. Gradients
 * flow to q, k, v through the attention (the gate is a hard, non-differentiable choice, as in MoBA).
 */
export function mobaAttention(q: Tensor, k: Tensor, v: Tensor, opts: MobaOptions): Tensor {
  checkQkv(OP, q, k, v);
  if (k.shape[1] !== q.shape[1]) {
    throw new ValueError(
      OP,
      'k',
      `as many tokens as q (${q.shape[1]}; MoBA is causal prefill)`,
      String(k.shape[1]),
    );
  }
  const layout = mobaLayout(q, k, opts);
  try {
    const { out, lse } = blockSparseAttention(q, k, v, layout, { causal: true, scale: opts.scale });
    lse.dispose();
    return out;
  } finally {
    layout.kvBlocks.dispose();
  }
}
