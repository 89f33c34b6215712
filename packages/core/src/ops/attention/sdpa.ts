import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { shapesEqual, sizeOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp } from '../op.js';
import { reshape } from '../views/views.js';

/**
 * Attributes of the `sdpa` and `sdpaBackward` primitives. Inputs arrive contiguous in the caller's shapes and
 * are read as `q` `[batch, nq, heads, headDim]`, `k` `[batch, nk, kvHeads, headDim]` and `v`
 * `[batch, nk, kvHeads, valueDim]` (token axes flattened row-major), then the mask and the bias when present,
 * each read in its shape padded to four axes (`maskShape`/`biasShape`, each axis 1 or the size of
 * `[batch, heads, nq, nk]`) and broadcast over the rest. `sdpa`'s outputs are `out`
 * `[batch, ...queryTokenAxes, heads, valueDim]` and `lse` `[batch, ...queryTokenAxes, heads]` in q's dtype.
 */
export interface SdpaAttrs {
  /** Batch size. */
  batch: number;
  /** Query tokens (product of the query token axes). */
  nq: number;
  /** Key/value tokens (product of the key token axes). */
  nk: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads; query head `h` reads kv head `floor(h / (heads / kvHeads))`. */
  kvHeads: number;
  /** Size of each query/key vector. */
  headDim: number;
  /** Size of each value vector. */
  valueDim: number;
  /** Multiplies `q . k` before the bias is added. */
  scale: number;
  /** Query `i` attends only keys `j <= i` (top-left aligned). */
  causal: boolean;
  /** The bool mask's shape padded to 4-D, or null without a mask. */
  maskShape: number[] | null;
  /** The bias's shape padded to 4-D, or null without a bias. */
  biasShape: number[] | null;
}

/**
 * Attributes of the `sdpaBackward` primitive, which a GPU backend may implement as one fused kernel. Inputs:
 * `q, k, v, out, lse, gOut, gLse` (the last two the gradients of `out` and `lse`), then the mask and bias as
 * for `sdpa`. Outputs: `dq, dk, dv` (shapes of q, k, v), and `dbias` of shape `biasShape` (summed over the
 * bias's broadcast axes) when `biasGrad`.
 */
export interface SdpaBackwardAttrs extends SdpaAttrs {
  /** Whether to return the bias gradient (shape `biasShape`); false spares materialising it. */
  biasGrad: boolean;
}

// Inputs and outputs as SdpaBackwardAttrs describes. It has no vjp (the engine has no double backward).
const sdpaBackwardOp = defineOp<SdpaBackwardAttrs>({ name: 'sdpaBackward' });

const sdpaOp = defineOp<SdpaAttrs>({
  name: 'sdpa',
  vjp: ([gOut, gLse], [q, k, v, ...rest], [out, lse], attrs) => {
    const bias = attrs.biasShape ? rest[rest.length - 1] : null;
    const biasGrad = bias?.requiresGrad ?? false;
    const [dq, dk, dv, dbias] = runOp(sdpaBackwardOp, [q, k, v, out, lse, gOut!, gLse!, ...rest], {
      ...attrs,
      biasGrad,
    });
    return [
      dq,
      dk,
      dv,
      ...(attrs.maskShape ? [null] : []),
      ...(bias ? [biasGrad ? reshape(dbias, bias.shape) : null] : []),
    ];
  },
});

/** Options of {@link sdpa}. */
export interface SdpaOptions {
  /**
   * Bool tensor broadcastable to `[batch, heads, nq, nk]` (at most 4 axes, aligned right); true means
   * "may attend". Token axes are flattened in row-major order to give `nq` and `nk`.
   */
  mask?: Tensor | null;
  /** Float tensor (q's dtype) broadcastable to `[batch, heads, nq, nk]`, added to the scaled scores. */
  bias?: Tensor | null;
  /**
   * Query `i` attends only keys `j <= i` (flattened token indices), top-left aligned as PyTorch's `is_causal`:
   * with `nq != nk` query 0 still sees key 0 only. For bottom-right alignment (decoding with a KV cache) pass a
   * `mask` instead. Combines with `mask` (both must allow a key).
   */
  causal?: boolean;
  /** Multiplies the scores `q . k` (default `1 / sqrt(headDim)`). */
  scale?: number;
  /** Also return the log-sum-exp of each query's scores (default false). */
  returnLse?: boolean;
}

/** What {@link sdpa} returns with `returnLse: true`. */
export interface SdpaResult {
  /** The attention output `[batch, ...queryTokenAxes, heads, valueDim]`. */
  out: Tensor;
  /**
   * Natural-log sum of `exp(score)` over the attended keys of each query, `[batch, ...queryTokenAxes, heads]`;
   * `-Infinity` for a query that attends no key. Differentiable.
   */
  lse: Tensor;
}

function checkQkv(q: Tensor, k: Tensor, v: Tensor): void {
  const named = [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const;
  for (const [arg, t] of named) {
    t.assertAlive('sdpa', arg);
    if (!isFloat(t.dtype)) throw new DTypeError('sdpa', arg, 'a float32 or float64 tensor', t.dtype);
    if (t.dtype !== q.dtype) throw new DTypeError('sdpa', arg, `${q.dtype} like q`, t.dtype);
    if (t.rank < 3) {
      throw new ShapeError(
        'sdpa',
        arg,
        'a tensor [batch, ...tokenAxes, heads, headDim] with at least one token axis',
        fmtShape(t.shape),
      );
    }
  }
  if (k.shape[0] !== q.shape[0]) {
    throw new ShapeError('sdpa', 'k', `batch ${q.shape[0]} like q ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
  if (!shapesEqual(v.shape.slice(0, -1), k.shape.slice(0, -1))) {
    throw new ShapeError(
      'sdpa',
      'v',
      `of shape ${fmtShape(k.shape.slice(0, -1)).slice(0, -1)}, valueDim] like k`,
      fmtShape(v.shape),
    );
  }
  const heads = q.shape[q.rank - 2];
  const kvHeads = k.shape[k.rank - 2];
  if (kvHeads < 1 || heads % kvHeads !== 0) {
    throw new ShapeError('sdpa', 'k', `a number of heads dividing q's ${heads}`, `${kvHeads} heads`);
  }
  const headDim = q.shape[q.rank - 1];
  if (headDim < 1) throw new ShapeError('sdpa', 'q', 'a headDim of at least 1', fmtShape(q.shape));
  if (k.shape[k.rank - 1] !== headDim) {
    throw new ShapeError('sdpa', 'k', `headDim ${headDim} like q ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
}

/** Checks a mask or bias against `[batch, heads, nq, nk]`; returns its shape padded to four axes. */
function broadcastShape4(arg: string, t: Tensor, target: number[]): number[] {
  t.assertAlive('sdpa', arg);
  const padded = [...new Array<number>(Math.max(0, 4 - t.rank)).fill(1), ...t.shape];
  if (t.rank > 4 || padded.some((d, i) => d !== 1 && d !== target[i])) {
    throw new ShapeError(
      'sdpa',
      arg,
      `broadcastable to [batch, heads, nq, nk] = ${fmtShape(target)}`,
      fmtShape(t.shape),
    );
  }
  return padded;
}

/**
 * Dense scaled-dot-product attention in attnkit's layout: `q` `[batch, ...tokenAxes, heads, headDim]`,
 * `k` `[batch, ...kvTokenAxes, kvHeads, headDim]`, `v` `[batch, ...kvTokenAxes, kvHeads, valueDim]`, with any
 * number (at least one) of token axes, flattened row-major into `nq` and `nk` tokens. Each query attends
 * `softmax(scale * q . k + bias)` over the keys its `mask` and `causal` allow, and returns the weighted sum of
 * values: `[batch, ...tokenAxes, heads, valueDim]`. Grouped-query attention: `heads` must be a multiple of
 * `kvHeads`, and query head `h` uses kv head `floor(h / (heads / kvHeads))`.
 *
 * A query that may attend no key (fully masked) gets output 0 and lse `-Infinity` (where PyTorch gives NaN),
 * and no gradient. Gradients flow to q, k, v and the bias (not the mask), through the fused `sdpaBackward` op
 * (which computes the bias gradient only when the bias requires one). Computed in float64 on the CPU.
 *
 * @example
 * const y = sdpa(q, k, v, { causal: true });
 * const { out, lse } = sdpa(q, k, v, { returnLse: true });
 */
export function sdpa(q: Tensor, k: Tensor, v: Tensor, opts: SdpaOptions & { returnLse: true }): SdpaResult;
/** Dense scaled-dot-product attention, returning the output only (see the first overload). */
export function sdpa(q: Tensor, k: Tensor, v: Tensor, opts?: SdpaOptions & { returnLse?: false }): Tensor;
/** Dense scaled-dot-product attention, with `returnLse` known only at run time (see the first overload). */
export function sdpa(q: Tensor, k: Tensor, v: Tensor, opts?: SdpaOptions): Tensor | SdpaResult;
export function sdpa(q: Tensor, k: Tensor, v: Tensor, opts: SdpaOptions = {}): Tensor | SdpaResult {
  checkQkv(q, k, v);
  const { mask, bias, causal = false, returnLse = false } = opts;
  if (typeof causal !== 'boolean') throw new ValueError('sdpa', 'causal', 'a boolean', String(causal));
  if (typeof returnLse !== 'boolean')
    throw new ValueError('sdpa', 'returnLse', 'a boolean', String(returnLse));
  const batch = q.shape[0];
  const heads = q.shape[q.rank - 2];
  const headDim = q.shape[q.rank - 1];
  const nq = sizeOf(q.shape.slice(1, -2));
  const nk = sizeOf(k.shape.slice(1, -2));
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ValueError('sdpa', 'scale', 'a finite number', String(scale));
  }
  const target = [batch, heads, nq, nk];
  if (mask != null && mask.dtype !== 'bool')
    throw new DTypeError('sdpa', 'mask', 'a bool tensor', mask.dtype);
  if (bias != null && bias.dtype !== q.dtype)
    throw new DTypeError('sdpa', 'bias', `${q.dtype} like q`, bias.dtype);
  const attrs: SdpaAttrs = {
    batch,
    nq,
    nk,
    heads,
    kvHeads: k.shape[k.rank - 2],
    headDim,
    valueDim: v.shape[v.rank - 1],
    scale,
    causal,
    maskShape: mask != null ? broadcastShape4('mask', mask, target) : null,
    biasShape: bias != null ? broadcastShape4('bias', bias, target) : null,
  };
  const extra = [mask, bias].filter((t): t is Tensor => t != null);
  const [out, lse] = runOp(sdpaOp, [q, k, v, ...extra], attrs);
  if (returnLse) return { out, lse };
  lse.dispose();
  return out;
}
