// The neighborhood-attention primitives: one fused forward/backward pair and the unfused QK / AV / scatter
// triple (the "naive" BMM formulation of the Faster-NA paper, whose members are each other's gradients).
// Kernels (CPU here in ./cpu, WGSL in ../webgpu) are registered under these names; every backend reads the
// same attributes, and derives sizes from the input shapes.
import {
  concat,
  defineOp,
  expand,
  mul,
  narrow,
  neg,
  type OpDef,
  ones,
  reshape,
  runOp,
  runOp1,
  scatterAdd,
  sum,
  type Tensor,
  tensor,
  unsqueeze,
  where,
  zeros,
} from '@attnkit/core';
import { fillNeighbors, windowGeometry } from '../window/window.js';

/**
 * Attributes shared by every neighborhood primitive. Tensors are laid out `[batch, ...tokens, heads, dim]`
 * with 1 to 3 token axes (the length of `kernelSize`); sizes come from the input shapes. Query head `h`
 * reads kv head `floor(h / (heads / kvHeads))`.
 */
export interface NeighborhoodAttrs {
  /** Window size per token axis: `2 <= k <= size` (odd and even allowed). */
  kernelSize: number[];
  /** Dilation per token axis: `>= 1`, `k * d <= size`. */
  dilation: number[];
  /** Stride per token axis (Generalized Neighborhood Attention): `1 <= s <= k`. */
  stride: number[];
  /** Causal masking per token axis. */
  causal: boolean[];
  /** Logits are `scale * q . k` (plus the relative positional bias). */
  scale: number;
  /** A relative positional bias input `[heads, 2k0 - 1, (2k1 - 1), (2k2 - 1)]` follows `v` (qk and forward/backward only). */
  hasRpb: boolean;
  /**
   * When above 0, `extraK` and `extraV` inputs `[batch, numExtra, kvHeads, dim]` follow (after the bias): keys
   * every query attends to in addition to its neighborhood, in the same softmax (forward/backward only).
   */
  numExtra: number;
}

/** Op names, as kernels are registered under them. */
export const NEIGHBORHOOD_OPS = {
  /** The fused forward: output and log-sum-exp. */
  forward: 'neighborhood.forward',
  /** The fused backward: dq, dk, dv (and the bias and extra keys' gradients). */
  backward: 'neighborhood.backward',
  /** Unfused logits of each query over its neighbors. */
  qk: 'neighborhood.qk',
  /** Unfused weighted sum of each query's neighbor values. */
  av: 'neighborhood.av',
  /** The transpose of `av`: each key gathers from the queries that see it. */
  scatter: 'neighborhood.scatter',
} as const;

/** The unfused ops carry no bias and no extra keys. */
function plain(a: NeighborhoodAttrs, scale = a.scale): NeighborhoodAttrs {
  return { ...a, scale, hasRpb: false, numExtra: 0 };
}

/**
 * `neighborhood.backward`: inputs `[q, k, v, out, lse, dOut, (rpb), (extraK, extraV)]`, outputs
 * `[dq, dk, dv, (dRpb), (dExtraK, dExtraV)]`, each of its input's shape. Deterministic (fixed
 * accumulation order, no atomics). No vjp: core's autograd has no double backward.
 */
export const neighborhoodBackwardOp = defineOp<NeighborhoodAttrs>({ name: NEIGHBORHOOD_OPS.backward });

/** Runs the fused backward; `out`, `lse` are the forward's outputs and `dOut` the output gradient. */
function fusedBackward(
  inputs: Tensor[],
  out: Tensor,
  lse: Tensor,
  dOut: Tensor,
  a: NeighborhoodAttrs,
): (Tensor | null)[] {
  const [q, k, v, ...rest] = inputs;
  return runOp(neighborhoodBackwardOp, [q, k, v, out, lse, dOut, ...rest], a);
}

/**
 * `neighborhood.forward`: inputs `[q, k, v, (rpb), (extraK, extraV)]`, outputs `[out [B, ...tok, H, Dv],
 * lse [B, ...tok, H]]`, lse the natural log-sum-exp of the logits (neighbors and extra keys). This definition's
 * gradient ignores the lse's gradient: use it when the lse is not handed to the caller.
 */
export const neighborhoodForwardOp = defineOp<NeighborhoodAttrs>({
  name: NEIGHBORHOOD_OPS.forward,
  vjp: ([gOut], inputs, [out, lse], a) => fusedBackward(inputs, out, lse, gOut!, a),
});

/**
 * The same op (same kernels) as {@link neighborhoodForwardOp}, whose gradient also carries the lse's. The fused
 * backward knows only `dOut`: with `p = softmax(logits)` the logit gradient is `p_j (dOut . v_j - dOut . out)`
 * and the lse adds `p_j gLse`. Appending a column to the value vectors (0), to `out` (`-gLse`) and to `dOut`
 * (1) turns the first form into the sum, so the one backward kernel serves both.
 */
export const neighborhoodForwardWithLseOp = defineOp<NeighborhoodAttrs>({
  name: NEIGHBORHOOD_OPS.forward,
  vjp: ([gOut, gLse], inputs, [out, lse], a) => {
    // x with one more entry on its last axis: `value` (a tensor of x's shape without the last axis, or 0/1).
    const column = (x: Tensor, value: Tensor | 0 | 1) => {
      const shape = [...x.shape.slice(0, -1), 1];
      const c = value === 0 ? zeros(shape, opts(x)) : value === 1 ? ones(shape, opts(x)) : value;
      return concat([x, c], -1);
    };
    const [q, k, v, ...rest] = inputs;
    const extra = a.numExtra > 0 ? rest.slice(rest.length - 2) : [];
    const rpb = a.hasRpb ? [rest[0]] : [];
    const vAug = column(v, 0);
    const extraAug = extra.length ? [extra[0], column(extra[1], 0)] : [];
    const grads = fusedBackward(
      [q, k, vAug, ...rpb, ...extraAug],
      column(out, neg(unsqueeze(gLse!, -1))),
      lse,
      column(gOut!, 1),
      a,
    );
    const dropLast = (g: Tensor | null) => (g ? narrow(g, -1, 0, g.shape[g.rank - 1] - 1) : null);
    grads[2] = dropLast(grads[2]);
    if (a.numExtra > 0) grads[grads.length - 1] = dropLast(grads[grads.length - 1]);
    return grads;
  },
});

function opts(x: Tensor) {
  return { dtype: x.dtype, backend: x.backend.name };
}

/** The token grid of a `[batch, ...tokens, heads, dim]` tensor. */
function tokensOf(x: Tensor): number[] {
  return x.shape.slice(1, -2);
}

/**
 * A bool tensor `[1, ...tokens, 1, K]`, true where a neighbor slot is attended; null when no axis is causal
 * (then every slot is).
 */
function slotMask(tokens: number[], a: NeighborhoodAttrs, backend: string): Tensor | null {
  if (!a.causal.some(Boolean)) return null;
  const g = windowGeometry(tokens, a);
  const values = new Uint8Array(g.numTokens * g.numSlots);
  const keys = new Int32Array(g.numSlots);
  for (let i = 0; i < g.numTokens; i++) {
    fillNeighbors(g, i, keys);
    for (let j = 0; j < g.numSlots; j++) values[i * g.numSlots + j] = keys[j] >= 0 ? 1 : 0;
  }
  return tensor(values, { dtype: 'bool', shape: [1, ...tokens, 1, g.numSlots], backend });
}

/** A qk-shaped product whose masked slots are 0 instead of -Infinity (a gradient, not logits). */
function maskedProduct(x: Tensor, y: Tensor, a: NeighborhoodAttrs): Tensor {
  const logits = runOp1(neighborhoodQkOp, [x, y], plain(a, 1));
  const mask = slotMask(tokensOf(x), a, x.backend.name);
  return mask ? where(mask, logits, 0) : logits;
}

/**
 * The relative-bias gradient: `dRpb[h, r]` is the sum of `dLogits[b, i, h, j]` over every batch item and
 * (query, slot) pair whose bias index is `r`. A scatter-add over an index table built from the window rule.
 */
function rpbGrad(dLogits: Tensor, rpb: Tensor, a: NeighborhoodAttrs): Tensor {
  const tokens = tokensOf(dLogits);
  const g = windowGeometry(tokens, a);
  const heads = rpb.shape[0];
  const index = new Int32Array(g.numTokens * g.numSlots);
  const keys = new Int32Array(g.numSlots);
  const bias = new Int32Array(g.numSlots);
  for (let i = 0; i < g.numTokens; i++) {
    fillNeighbors(g, i, keys, bias);
    index.set(bias, i * g.numSlots);
  }
  // [B, ...tok, H, K] -> [H, N * K] with the batch summed out.
  const summed = reshape(sum(dLogits, { axis: 0 }), [g.numTokens, heads, g.numSlots]);
  const src = reshape(summed.permute([1, 0, 2]).contiguous(), [heads, g.numTokens * g.numSlots]);
  const idx = expand(
    tensor(index, { dtype: 'int32', shape: [1, index.length], backend: dLogits.backend.name }),
    [heads, index.length],
  );
  const flat = scatterAdd(zeros([heads, g.biasSize], opts(dLogits)), 1, idx, src);
  return reshape(flat, rpb.shape);
}

/**
 * `neighborhood.qk`: inputs `[q, k, (rpb)]`, output logits `[B, ...tokens, H, K]` with `K = prod(kernelSize)`:
 * `scale * q_i . k_n(i,j) (+ rpb)`, slots row-major over the per-axis window offsets, masked (causal) slots
 * -Infinity. Gradient: `dq = scale * av(dL, k)`, `dk = scale * scatter(dL, q)`, the bias's by summation.
 */
export const neighborhoodQkOp: OpDef<NeighborhoodAttrs> = defineOp<NeighborhoodAttrs>({
  name: NEIGHBORHOOD_OPS.qk,
  vjp: ([g], [q, k, rpb], _out, a) => [
    q.requiresGrad ? mul(runOp1(neighborhoodAvOp, [g!, k], plain(a)), a.scale) : null,
    k.requiresGrad ? mul(runScatter(g!, q, kvHeadsOf(k), a), a.scale) : null,
    ...(a.hasRpb ? [rpb.requiresGrad ? rpbGrad(g!, rpb, a) : null] : []),
  ],
});

/**
 * `neighborhood.av`: inputs `[weights [B, ...tokens, H, K], v [B, ...tokens, kvH, Dv]]`, output
 * `[B, ...tokens, H, Dv]`: `out_i = sum_j w_ij v_n(i,j)` over the attended slots (masked slots are skipped,
 * whatever their weight). Gradient: `dW` = the qk product of `dOut` with `v` (no scale, 0 on masked slots),
 * `dv = scatter(w, dOut)`.
 */
export const neighborhoodAvOp: OpDef<NeighborhoodAttrs> = defineOp<NeighborhoodAttrs>({
  name: NEIGHBORHOOD_OPS.av,
  vjp: ([g], [w, v], _out, a) => [
    w.requiresGrad ? maskedProduct(g!, v, a) : null,
    v.requiresGrad ? runScatter(w, g!, kvHeadsOf(v), a) : null,
  ],
});

/**
 * Attributes of `neighborhood.scatter`: the shared ones plus the number of heads of its output, which its
 * inputs do not show (they have the query heads).
 */
export interface NeighborhoodScatterAttrs extends NeighborhoodAttrs {
  /** Heads of the output `y` (the kv heads); divides the heads of `weights` and `x`. */
  kvHeads: number;
}

/**
 * `neighborhood.scatter`, the transpose of av: inputs `[weights [B, ...tokens, H, K], x [B, ...tokens, H, D]]`,
 * output `y [B, ...tokens, kvHeads, D]`: `y_m = sum over (i, j, h in m's head group) with n(i,j) = m of
 * w_ij x_i`; masked slots contribute nothing. Gradient: `dW` = the qk product of `x` with `dY` (0 on masked
 * slots), `dx = av(w, dY)`.
 */
export const neighborhoodScatterOp: OpDef<NeighborhoodScatterAttrs> = defineOp<NeighborhoodScatterAttrs>({
  name: NEIGHBORHOOD_OPS.scatter,
  vjp: ([g], [w, x], _out, a) => [
    w.requiresGrad ? maskedProduct(x, g!, a) : null,
    x.requiresGrad ? runOp1(neighborhoodAvOp, [w, g!], plain(a)) : null,
  ],
});

function kvHeadsOf(x: Tensor): number {
  return x.shape[x.rank - 2];
}

/** Runs `neighborhood.scatter` of `weights` and `x` into `kvHeads` heads (no bias, no extra keys). */
export function runScatter(weights: Tensor, x: Tensor, kvHeads: number, a: NeighborhoodAttrs): Tensor {
  return runOp1(neighborhoodScatterOp, [weights, x], { ...plain(a), kvHeads });
}
