// S2-Attention (DKernel) heterogeneous context sharding: each head keeps its local blocks plus every V-th
// block, with the V-th-block phase shifted per head, so that heads together cover the whole context.
// Rule from dkernel's get_sparse_attn_mask (spec section 5).
import { ValueError } from '@attnkit/core';
import { type BlockPattern, patternFromLists } from '../pattern.js';

/** Options of {@link s2AttentionPattern}. */
export interface S2Options {
  /** Tokens per block, for queries and keys (dkernel: at least 16; any positive size here). */
  blockSize: number;
  /**
   * Local blocks, the current one included: a number, or `[left, right]` for the bidirectional form
   * (default 1).
   */
  localBlocks?: number | readonly [number, number];
  /** Vertical stride V: every V-th block is kept (V = 1 keeps every block). */
  vertStride: number;
  /** Causal (absolute vertical positions, default) or bidirectional (relative positions). */
  causal?: boolean;
  /** Number of query heads. */
  heads: number;
  /** Number of key/value heads (default `heads`); the pattern is per kv head, repeated for its query heads. */
  kvHeads?: number;
  /** Every head uses the phase of head 0 (default false). */
  homoHead?: boolean;
  /** The last `numDenseHeads` kv heads attend to every (causal) block (default 0). */
  numDenseHeads?: number;
  /** Phase shift per head (default `max(1, floor(V / heads))`). */
  headSlidingStep?: number;
  /** Phase offset of every head (default 0; Phi-3-small uses 1). */
  headSlidingOffset?: number;
}

interface S2Resolved {
  blockSize: number;
  left: number;
  right: number;
  local: number;
  vert: number;
  causal: boolean;
  heads: number;
  kvHeads: number;
  homo: boolean;
  dense: number;
  step: number;
  offset: number;
}

const OP = 's2AttentionPattern';

function posInt(arg: string, v: unknown, min = 1): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
    throw new ValueError(OP, arg, `an integer >= ${min}`, String(v));
  }
  return v;
}

function resolve(o: S2Options): S2Resolved {
  const heads = posInt('heads', o.heads);
  const kvHeads = posInt('kvHeads', o.kvHeads ?? heads);
  if (heads % kvHeads !== 0)
    throw new ValueError(OP, 'kvHeads', `a divisor of heads (${heads})`, String(kvHeads));
  const vert = posInt('vertStride', o.vertStride);
  const lb = o.localBlocks ?? 1;
  const [left, right] = typeof lb === 'number' ? [lb, lb] : [lb[0], lb[1]];
  posInt('localBlocks', left);
  posInt('localBlocks', right);
  return {
    blockSize: posInt('blockSize', o.blockSize),
    left,
    right,
    local: left,
    vert,
    causal: o.causal ?? true,
    heads,
    kvHeads,
    homo: o.homoHead ?? false,
    dense: posInt('numDenseHeads', o.numDenseHeads ?? 0, 0),
    step: posInt('headSlidingStep', o.headSlidingStep ?? Math.max(1, Math.floor(vert / heads)), 0),
    offset: posInt('headSlidingOffset', o.headSlidingOffset ?? 0, 0),
  };
}

/**
 * Whether kv head `h` of an S2 layer attends from query block `qb` to key block `kb` (absolute block
 * indices). Causal: `qb >= kb` and (`qb - kb < local` or `(kb + h * step + offset) % V == 0`); bidirectional:
 * `(max(qb - kb - left + 1, 0) + max(kb - qb - right + 1, 0)) % V == 0`, the same for every head.
 */
export function s2BlockAllowed(opts: S2Options, h: number, qb: number, kb: number): boolean {
  return allowed(resolve(opts), h, qb, kb);
}

function allowed(r: S2Resolved, h: number, qb: number, kb: number): boolean {
  if (r.causal) {
    if (kb > qb) return false;
    if (h >= r.kvHeads - r.dense) return true;
    const hh = r.homo ? 0 : h;
    return qb - kb < r.local || (kb + hh * r.step + r.offset) % r.vert === 0;
  }
  if (h >= r.kvHeads - r.dense) return true;
  const left = Math.max(qb - kb - r.left + 1, 0);
  const right = Math.max(kb - qb - r.right + 1, 0);
  return (left + right) % r.vert === 0;
}

/**
 * The S2-Attention pattern for `nq` queries and `nk` keys, per query head (`[1, heads, nQB, nKB]`). Query
 * block `qb` sits at absolute block `qb + (nk - nq) / blockSize` (decoding with a KV cache of `nk - nq` past
 * tokens; causal patterns need that offset to be a multiple of the block size). Causality is applied per
 * element on top (within the diagonal block), so no row is empty.
 */
export function s2AttentionPattern(nq: number, nk: number, opts: S2Options): BlockPattern {
  const r = resolve(opts);
  posInt('nq', nq);
  posInt('nk', nk);
  if (nk < nq) throw new ValueError(OP, 'nk', `at least nq (${nq})`, String(nk));
  if ((nk - nq) % r.blockSize !== 0) {
    throw new ValueError(OP, 'nk - nq', `a multiple of blockSize ${r.blockSize}`, String(nk - nq));
  }
  const shift = (nk - nq) / r.blockSize;
  const nKB = Math.ceil(nk / r.blockSize);
  const group = r.heads / r.kvHeads;
  return patternFromLists(
    OP,
    { nq, nk, blockQ: r.blockSize, blockK: r.blockSize, batch: 1, heads: r.heads, causal: r.causal },
    (_b, h, qb) => {
      const out: number[] = [];
      for (let kb = 0; kb < nKB; kb++) if (allowed(r, Math.floor(h / group), qb + shift, kb)) out.push(kb);
      return out;
    },
  );
}

/**
 * The (query block, key block) pairs of the causal lower triangle (or the whole square when bidirectional)
 * that no kv head of the layer attends to: empty when the heads together cover the context, as S2-Attention's
 * sharding intends (it needs at least V heads with distinct phases).
 */
export function s2UncoveredBlocks(nBlocks: number, opts: S2Options): Array<[number, number]> {
  const r = resolve(opts);
  const out: Array<[number, number]> = [];
  for (let qb = 0; qb < nBlocks; qb++) {
    for (let kb = 0; kb < (r.causal ? qb + 1 : nBlocks); kb++) {
      let covered = false;
      for (let h = 0; h < r.kvHeads && !covered; h++) covered = allowed(r, h, qb, kb);
      if (!covered) out.push([qb, kb]);
    }
  }
  return out;
}

/**
 * Throws a clear error when the heads of an S2 layer leave some block of the context unread (see
 * {@link s2UncoveredBlocks}); returns nothing otherwise.
 */
export function checkS2Coverage(nBlocks: number, opts: S2Options): void {
  const gaps = s2UncoveredBlocks(nBlocks, opts);
  if (gaps.length > 0) {
    const [qb, kb] = gaps[0];
    throw new ValueError(
      's2Attention',
      'heads / vertStride / headSlidingStep',
      'heads whose vertical phases together cover every block',
      `${gaps.length} uncovered block pair(s), first: query block ${qb}, key block ${kb}`,
    );
  }
}
