// The public neighborhood-attention functions: NATTEN's na1d / na2d / na3d in attnkit's heads-last layout,
// on the fused op by default, or on the unfused qk -> softmax -> av pair.
import {
  add,
  concat,
  logsumexp,
  matmul,
  reshape,
  runOp,
  runOp1,
  softmax,
  split,
  type Tensor,
  tidy,
} from '@attnkit/core';
import {
  type NeighborhoodAttrs,
  neighborhoodAvOp,
  neighborhoodForwardOp,
  neighborhoodForwardWithLseOp,
  neighborhoodQkOp,
} from '../ops/defs.js';
import {
  type CheckedCall,
  checkCall,
  type NeighborhoodAttentionOptions,
  type NeighborhoodAttentionResult,
} from './options.js';

/**
 * The logits of every query against the extra keys, `[B, ...tokens, H, E]`: a dense product per kv head, the
 * `H / kvH` query heads of a group stacked as extra rows.
 */
function extraLogits(q: Tensor, extraK: Tensor, scale: number): Tensor {
  const [b, e, kvh, d] = extraK.shape;
  const heads = q.shape[q.rank - 2];
  const n = q.size / (b * heads * d);
  const g = heads / kvh;
  const qg = reshape(q, [b, n, kvh, g, d])
    .permute([0, 2, 3, 1, 4])
    .reshape([b, kvh, g * n, d]);
  const s = matmul(qg, extraK.permute([0, 2, 3, 1])).mul(scale); // [b, kvh, g*n, e]
  return s
    .reshape([b, kvh, g, n, e])
    .permute([0, 3, 1, 2, 4])
    .reshape([...q.shape.slice(0, -1), e]);
}

/** The weighted sum of the extra values, `[B, ...tokens, H, Dv]`, from weights `[B, ...tokens, H, E]`. */
function extraValues(w: Tensor, extraV: Tensor): Tensor {
  const [b, e, kvh, dv] = extraV.shape;
  const heads = w.shape[w.rank - 2];
  const n = w.size / (b * heads * e);
  const g = heads / kvh;
  const wg = reshape(w, [b, n, kvh, g, e])
    .permute([0, 2, 3, 1, 4])
    .reshape([b, kvh, g * n, e]);
  const o = matmul(wg, extraV.permute([0, 2, 1, 3])); // [b, kvh, g*n, dv]
  return o
    .reshape([b, kvh, g, n, dv])
    .permute([0, 3, 1, 2, 4])
    .reshape([...w.shape.slice(0, -1), dv]);
}

/**
 * qk -> softmax (over the neighbors and the extra keys together) -> av; every step differentiable. The lse is
 * computed only when asked for.
 */
function unfused(q: Tensor, k: Tensor, v: Tensor, c: CheckedCall): { out: Tensor; lse: Tensor | null } {
  const plainAttrs: NeighborhoodAttrs = { ...c.attrs, hasRpb: false, numExtra: 0 };
  const logits = runOp1(neighborhoodQkOp, c.rpb ? [q, k, c.rpb] : [q, k], { ...c.attrs, numExtra: 0 });
  if (!c.extraK || !c.extraV) {
    const w = softmax(logits, -1);
    const lse = c.returnLse ? logsumexp(logits, { axis: -1 }) : null;
    return { out: runOp1(neighborhoodAvOp, [w, v], plainAttrs), lse };
  }
  const slots = logits.shape[logits.rank - 1];
  const all = concat([logits, extraLogits(q, c.extraK, c.attrs.scale)], -1);
  const [wn, we] = split(softmax(all, -1), [slots, c.attrs.numExtra], -1);
  const out = add(runOp1(neighborhoodAvOp, [wn, v], plainAttrs), extraValues(we, c.extraV));
  return { out, lse: c.returnLse ? logsumexp(all, { axis: -1 }) : null };
}

function run(
  op: string,
  rank: number,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult {
  const c = checkCall(op, rank, q, k, v, opts);
  const extra = [c.rpb, c.extraK, c.extraV].filter((t): t is Tensor => t !== null);
  if (c.kernel === 'unfused') {
    return tidy(() => {
      const { out, lse } = unfused(q, k, v, c);
      return lse ? { out, lse } : out;
    });
  }
  const def = c.returnLse ? neighborhoodForwardWithLseOp : neighborhoodForwardOp;
  const [out, lse] = runOp(def, [q, k, v, ...extra], c.attrs);
  if (c.returnLse) return { out, lse };
  lse.dispose();
  return out;
}

/** Token axes of `q` `[batch, ...tokens, heads, headDim]` when it has 1 to 3 of them, else 0. */
function tokenRankOf(q: Tensor): number {
  return q?.rank >= 4 && q.rank <= 6 ? q.rank - 3 : 0;
}

/**
 * Neighborhood attention with NATTEN's semantics over 1 to 3 token axes (taken from `q`'s rank):
 * `q` `[batch, ...tokens, heads, headDim]`, `k` `[batch, ...tokens, kvHeads, headDim]`, `v`
 * `[batch, ...tokens, kvHeads, valueDim]`; each query attends the `prod(kernelSize)` keys of its window
 * (shifted inward at the borders, never padded; dilated, strided and causal per axis), plus the
 * `additionalKeys` if given, in one softmax. Returns `[batch, ...tokens, heads, valueDim]`, or `{ out, lse }`
 * with `returnLse`. Differentiable in q, k, v, rpb and the additional keys and values.
 *
 * @example
 * const out = neighborhoodAttention(q, k, v, { kernelSize: 7, dilation: 2 }); // q [1, 32, 32, 4, 16]
 */
export function neighborhoodAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse: true },
): NeighborhoodAttentionResult;
/** Neighborhood attention returning the output only (see the first overload). */
export function neighborhoodAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse?: false },
): Tensor;
/** Neighborhood attention with `returnLse` known at run time only (see the first overload). */
export function neighborhoodAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult;
export function neighborhoodAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult {
  const rank = tokenRankOf(q);
  return run('neighborhoodAttention', rank || 1, q, k, v, opts);
}

/**
 * 1-D neighborhood attention (NATTEN's `na1d`): `q` `[batch, length, heads, headDim]`. See
 * {@link neighborhoodAttention} for the options and the result.
 *
 * @example
 * const out = na1d(q, k, v, { kernelSize: 9, isCausal: true });
 */
export function na1d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse: true },
): NeighborhoodAttentionResult;
/** 1-D neighborhood attention returning the output only. */
export function na1d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse?: false },
): Tensor;
/** 1-D neighborhood attention with `returnLse` known at run time only. */
export function na1d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult;
export function na1d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult {
  return run('na1d', 1, q, k, v, opts);
}

/**
 * 2-D neighborhood attention (NATTEN's `na2d`): `q` `[batch, height, width, heads, headDim]`. See
 * {@link neighborhoodAttention} for the options and the result.
 *
 * @example
 * const out = na2d(q, k, v, { kernelSize: [7, 5], dilation: [1, 2] });
 */
export function na2d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse: true },
): NeighborhoodAttentionResult;
/** 2-D neighborhood attention returning the output only. */
export function na2d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse?: false },
): Tensor;
/** 2-D neighborhood attention with `returnLse` known at run time only. */
export function na2d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult;
export function na2d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult {
  return run('na2d', 2, q, k, v, opts);
}

/**
 * 3-D neighborhood attention (NATTEN's `na3d`): `q` `[batch, depth, height, width, heads, headDim]`. See
 * {@link neighborhoodAttention} for the options and the result.
 *
 * @example
 * const out = na3d(q, k, v, { kernelSize: 3, isCausal: [true, false, false] });
 */
export function na3d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse: true },
): NeighborhoodAttentionResult;
/** 3-D neighborhood attention returning the output only. */
export function na3d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions & { returnLse?: false },
): Tensor;
/** 3-D neighborhood attention with `returnLse` known at run time only. */
export function na3d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult;
export function na3d(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: NeighborhoodAttentionOptions,
): Tensor | NeighborhoodAttentionResult {
  return run('na3d', 3, q, k, v, opts);
}
