// The public HaloNet function: argument checks, then the `neighborhood.halo` primitive.
import { DTypeError, fmtShape, isFloat, runOp, ShapeError, type Tensor, ValueError } from '@attnkit/core';
import { perAxis } from '../api/options.js';
import { haloOp } from './halo-op.js';

/** Options of {@link haloAttention} (timm's `HaloAttn` names, camelCased). */
export interface HaloAttentionOptions {
  /** Block size `b`, scalar or per token axis; must divide every axis (as timm requires). */
  blockSize: number | readonly number[];
  /** Halo `h` (>= 0), scalar or per axis: each block's window is the block extended by `h` on both sides. */
  haloSize: number | readonly number[];
  /** Logit scale (default `headDim ** -0.5`). */
  scale?: number;
}

/**
 * HaloNet blocked local self-attention (Vaswani et al. 2021, as timm's `HaloAttn` without its relative position
 * term): the tokens of each block of `b` per axis attend the `(b + 2h)` window around their block. Keys and
 * values beyond the grid are zero padding that is not masked: each such position adds a logit of 0 to the
 * softmax and nothing to the output. Layout as {@link neighborhoodAttention}: `q`
 * `[batch, ...tokens (1 to 3 axes), heads, headDim]`, `k` / `v` with `kvHeads` dividing `heads`. On interior
 * blocks it equals GNA with `kernelSize = b + 2h`, `stride = b`; at borders GNA shifts its window inward instead.
 * Differentiable in q, k and v.
 *
 * @example
 * const out = haloAttention(q, k, v, { blockSize: 8, haloSize: 3 }); // q [1, 32, 32, 4, 16]
 */
export function haloAttention(q: Tensor, k: Tensor, v: Tensor, opts: HaloAttentionOptions): Tensor {
  const op = 'haloAttention';
  const named = [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const;
  for (const [arg, t] of named) {
    t.assertAlive(op, arg);
    if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
    if (t.dtype !== q.dtype) throw new DTypeError(op, arg, `${q.dtype} like q`, t.dtype);
  }
  if (q.rank < 4 || q.rank > 6) {
    throw new ShapeError(
      op,
      'q',
      'a tensor [batch, ...tokens (1 to 3 axes), heads, headDim]',
      fmtShape(q.shape),
    );
  }
  const lead = q.shape.slice(0, -2);
  if (k.rank !== q.rank || k.shape.slice(0, -2).some((d, i) => d !== lead[i])) {
    throw new ShapeError(
      op,
      'k',
      `of shape [${lead.join(', ')}, kvHeads, headDim] like q`,
      fmtShape(k.shape),
    );
  }
  const heads = q.shape[q.rank - 2];
  const kvHeads = k.shape[k.rank - 2];
  const headDim = q.shape[q.rank - 1];
  if (heads % kvHeads !== 0) {
    throw new ShapeError(op, 'k', `a number of heads dividing q's ${heads}`, `${kvHeads} heads`);
  }
  if (k.shape[k.rank - 1] !== headDim)
    throw new ShapeError(op, 'k', `headDim ${headDim} like q`, fmtShape(k.shape));
  if (v.rank !== k.rank || v.shape.slice(0, -1).some((d, i) => d !== k.shape[i])) {
    throw new ShapeError(
      op,
      'v',
      `of shape [${k.shape.slice(0, -1).join(', ')}, valueDim] like k`,
      fmtShape(v.shape),
    );
  }
  const tokens = q.shape.slice(1, -2);
  const blockSize = perAxis(op, 'blockSize', opts?.blockSize, tokens.length);
  const halo = perAxis(op, 'haloSize', opts?.haloSize, tokens.length);
  tokens.forEach((n, a) => {
    const at = tokens.length > 1 ? `[${a}]` : '';
    if (blockSize[a] < 1 || n % blockSize[a] !== 0) {
      throw new ValueError(
        op,
        `blockSize${at}`,
        `a positive divisor of the token axis size ${n}`,
        String(blockSize[a]),
      );
    }
    if (halo[a] < 0) throw new ValueError(op, `haloSize${at}`, 'at least 0', String(halo[a]));
  });
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ValueError(op, 'scale', 'a finite number', String(scale));
  }
  const [out, lse] = runOp(haloOp, [q, k, v], { blockSize, halo, scale });
  lse.dispose();
  return out;
}
