// The unfused pair as public functions, NATTEN's legacy `na*d_qk` / `na*d_av`: for code that needs the attention
// weights themselves (dropout on them, inspection, a custom normalisation) between the two products.
import { DTypeError, fmtShape, isFloat, runOp1, ShapeError, type Tensor } from '@attnkit/core';
import { neighborhoodAvOp, neighborhoodQkOp } from '../ops/defs.js';
import { checkCall, checkWindow, type NeighborhoodAttentionOptions } from './options.js';

/** Options of {@link neighborhoodQk} and {@link neighborhoodAv}. */
export type NeighborhoodUnfusedOptions = Pick<
  NeighborhoodAttentionOptions,
  'kernelSize' | 'dilation' | 'stride' | 'isCausal' | 'rpb'
> & {
  /** Multiplies `q . k` (default 1, as NATTEN's `na*d_qk`, which expects a pre-scaled query). */
  scale?: number;
};

function tokenRank(op: string, arg: string, x: Tensor): number {
  if (x?.rank < 4 || x?.rank > 6) {
    throw new ShapeError(
      op,
      arg,
      'a tensor [batch, ...tokens (1 to 3 axes), heads, dim]',
      fmtShape(x?.shape ?? []),
    );
  }
  return x.rank - 3;
}

/**
 * The neighborhood logits `[batch, ...tokens, heads, prod(kernelSize)]`: `scale * q_i . k_j (+ rpb)` for each
 * neighbor `j` of query `i`, slots ordered row-major over the per-axis window offsets (axis 0 slowest); slots
 * removed by causal masking are -Infinity. `q` `[batch, ...tokens, heads, dim]`, `k` with `kvHeads` dividing
 * `heads`. Differentiable in q, k and rpb.
 *
 * @example
 * const w = softmax(neighborhoodQk(q, k, { kernelSize: 7, scale: q.shape[4] ** -0.5 }), -1);
 * const out = neighborhoodAv(dropout(w, 0.1), v, { kernelSize: 7 });
 */
export function neighborhoodQk(q: Tensor, k: Tensor, opts: NeighborhoodUnfusedOptions): Tensor {
  const op = 'neighborhoodQk';
  const c = checkCall(op, tokenRank(op, 'q', q), q, k, k, { ...opts, scale: opts?.scale ?? 1 });
  return runOp1(neighborhoodQkOp, c.rpb ? [q, k, c.rpb] : [q, k], c.attrs);
}

/**
 * The weighted sum of the neighbors' values, `[batch, ...tokens, heads, valueDim]`: `sum_j w_ij v_j` over the
 * slots of {@link neighborhoodQk} (masked slots are skipped). `weights` `[batch, ...tokens, heads, prod(k)]`,
 * `v` `[batch, ...tokens, kvHeads, valueDim]`. Differentiable in both.
 */
export function neighborhoodAv(
  weights: Tensor,
  v: Tensor,
  opts: Omit<NeighborhoodUnfusedOptions, 'rpb' | 'scale'>,
): Tensor {
  const op = 'neighborhoodAv';
  const rank = tokenRank(op, 'weights', weights);
  for (const [arg, t] of [
    ['weights', weights],
    ['v', v],
  ] as const) {
    t.assertAlive(op, arg);
    if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
  }
  if (v.dtype !== weights.dtype) throw new DTypeError(op, 'v', `${weights.dtype} like weights`, v.dtype);
  const lead = weights.shape.slice(0, -2);
  if (v.rank !== weights.rank || v.shape.slice(0, -2).some((d, i) => d !== lead[i])) {
    throw new ShapeError(op, 'v', `of shape [${lead.join(', ')}, kvHeads, valueDim]`, fmtShape(v.shape));
  }
  const heads = weights.shape[weights.rank - 2];
  const kvHeads = v.shape[v.rank - 2];
  if (kvHeads < 1 || heads % kvHeads !== 0) {
    throw new ShapeError(op, 'v', `a number of heads dividing the weights' ${heads}`, `${kvHeads} heads`);
  }
  const win = checkWindow(op, weights.shape.slice(1, 1 + rank), opts);
  const slots = win.kernelSize.reduce((a, b) => a * b, 1);
  if (weights.shape[weights.rank - 1] !== slots) {
    throw new ShapeError(op, 'weights', `[..., heads, prod(kernelSize) = ${slots}]`, fmtShape(weights.shape));
  }
  return runOp1(neighborhoodAvOp, [weights, v], { ...win, scale: 1, hasRpb: false, numExtra: 0 });
}
