// What the multi-head layers around an attention function share (KroneckerAttentionLayer, LocalLinearAttention):
// the check that the heads split the width, square projections, and the forward that projects `x` into heads,
// attends, merges the heads and projects back.
import { type FactoryOptions, Linear, reshape, type Tensor, tidy, ValueError } from '@attnkit/core';
import { checkInt } from './check.js';

/**
 * Checks that the width `dim` and `numHeads` are positive integers and that `numHeads` divides `dim`; errors
 * name `op` and the width as `dimName` (the layer's own argument name, e.g. `embedDim`).
 */
export function checkHeads(op: string, dim: number, numHeads: number, dimName = 'dim'): void {
  checkInt(op, dimName, dim, 1);
  checkInt(op, 'numHeads', numHeads, 1);
  if (dim % numHeads !== 0) {
    throw new ValueError(op, 'numHeads', `a divisor of ${dimName} ${dim}`, String(numHeads));
  }
}

/** A maker of `Linear(dim, dim)` projections with the layer's dtype and backend, and bias (default `bias`). */
export function squareLinear(
  dim: number,
  opts: FactoryOptions & { bias?: boolean },
  bias: boolean,
): () => Linear {
  const f = { dtype: opts.dtype, backend: opts.backend, bias: opts.bias ?? bias };
  return () => new Linear(dim, dim, f);
}

/**
 * The forward of a multi-head layer: checks `x` `[batch, n, dim]` (errors name `op`), splits each of the
 * `projections` of `x` into `[batch, n, numHeads, dim / numHeads]`, hands them in order to `attend`, merges the
 * heads of its result and applies `output`. Intermediates are freed (tidy).
 */
export function multiHeadForward(
  op: string,
  x: Tensor,
  dim: number,
  numHeads: number,
  projections: Linear[],
  output: Linear,
  attend: (heads: Tensor[]) => Tensor,
): Tensor {
  if (x.rank !== 3 || x.shape[2] !== dim) {
    throw new ValueError(op, 'x', `[batch, n, ${dim}]`, `[${x.shape}]`);
  }
  const [b, n] = x.shape;
  const hd = dim / numHeads;
  return tidy(() => {
    const o = attend(projections.map((l) => reshape(l.forward(x), [b, n, numHeads, hd])));
    return output.forward(reshape(o, [b, n, dim]));
  });
}
