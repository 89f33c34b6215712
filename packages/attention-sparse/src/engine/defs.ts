import { defineOp, runOp } from '@attnkit/core';

/**
 * Attributes of the `sparse.blockForward` and `sparse.blockBackward` primitives (plain data: GPU kernels bake
 * them into their WGSL and pipeline keys). Inputs arrive contiguous and are read as `q` `[batch, nq, heads,
 * headDim]`, `k` `[batch, nk, kvHeads, headDim]`, `v` `[batch, nk, kvHeads, valueDim]`, `kvBlocks` (int32)
 * `layoutShape` = `[batch or 1, heads or 1, ceil(nq / blockQ), maxBlocks]`, and the bool mask (when `hasMask`)
 * in `maskShape` (padded to four axes, each 1 or the size of `[batch, heads, nq, nk]`, broadcast over the rest).
 *
 * Query `i` of head `h` attends key `j` when the key block `floor(j / blockK)` is listed in
 * `kvBlocks[b, h, floor(i / blockQ), :]` (entries `-1` are padding), and, when `causal`, `j <= i + nk - nq`,
 * and, with a mask, `mask[b, h, i, j]`.
 */
export interface BlockSparseAttrs {
  /** Batch size. */
  batch: number;
  /** Query tokens. */
  nq: number;
  /** Key/value tokens. */
  nk: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads; query head `h` reads kv head `floor(h / (heads / kvHeads))`. */
  kvHeads: number;
  /** Size of each query/key vector. */
  headDim: number;
  /** Size of each value vector. */
  valueDim: number;
  /** Query rows per query block (the last block may be partial). */
  blockQ: number;
  /** Keys per key block (the last block may be partial). */
  blockK: number;
  /** Multiplies `q . k`. */
  scale: number;
  /** Element-level causality, bottom-right aligned: key `j` is allowed for query `i` when `j <= i + nk - nq`. */
  causal: boolean;
  /** Whether the last input is a bool element mask. */
  hasMask: boolean;
  /** The mask's shape padded to 4-D, or null without a mask. */
  maskShape: number[] | null;
  /** Shape of `kvBlocks`: `[1 or batch, 1 or heads, ceil(nq / blockQ), maxBlocks]`. */
  layoutShape: [number, number, number, number];
}

/**
 * The backward primitive `sparse.blockBackward`. Inputs: `q, k, v, kvBlocks, out, lse, gOut, gLse` (the last
 * two the gradients of `out` and `lse`), then the mask when `hasMask`. Outputs: `dq, dk, dv` in the shapes of
 * `q, k, v`. With `p = softmax(s)` over the allowed keys, `ds_ij = p_ij (gOut_i . v_j - gOut_i . out_i + gLse_i)`.
 * A kernel must be deterministic: dk and dv are summed per key block over the query blocks that list it, in a
 * fixed order, without atomics. It has no vjp (no double backward), as core's `sdpaBackward`.
 */
export const blockBackwardOp = defineOp<BlockSparseAttrs>({ name: 'sparse.blockBackward' });

/**
 * The forward primitive `sparse.blockForward`: inputs `q, k, v, kvBlocks` and the mask when `hasMask`; outputs
 * `out` `[batch, nq, heads, valueDim]` and `lse` `[batch, nq, heads]` in q's dtype. A query with no allowed
 * key gets `out = 0` and `lse = -Infinity`, and no gradient.
 */
export const blockForwardOp = defineOp<BlockSparseAttrs>({
  name: 'sparse.blockForward',
  vjp: ([gOut, gLse], [q, k, v, kvBlocks, ...rest], [out, lse], attrs) => {
    // Float outputs without a gradient arrive as zeros, so both are present.
    const [dq, dk, dv] = runOp(
      blockBackwardOp,
      [
        q,
        k,
        v,
        kvBlocks,
        out,
        lse,
        gOut as NonNullable<typeof gOut>,
        gLse as NonNullable<typeof gLse>,
        ...rest,
      ],
      attrs,
    );
    return [dq, dk, dv, null, ...(attrs.hasMask ? [null] : [])];
  },
});
