// Argument checks of the public functions, following NATTEN's (utils/checks.py): k >= 2, k * d <= size,
// 1 <= s <= k, per-axis or scalar parameters, GQA heads, no relative bias with causal masking. Every error names
// the function, the argument, what was expected and what came.
import { DTypeError, fmtShape, isFloat, ShapeError, type Tensor, ValueError } from '@attnkit/core';
import type { NeighborhoodAttrs } from '../ops/defs.js';

/** Options of {@link neighborhoodAttention} and `na1d` / `na2d` / `na3d` (NATTEN's keyword names, camelCased). */
export interface NeighborhoodAttentionOptions {
  /** Window size, one for every token axis or one per axis: `2 <= k <= size` (odd and even). */
  kernelSize: number | readonly number[];
  /** Dilation (default 1), scalar or per axis: `k * d <= size`. */
  dilation?: number | readonly number[];
  /** Stride (default 1), scalar or per axis, `1 <= s <= k`: groups of `s` queries share one window (GNA). */
  stride?: number | readonly number[];
  /** Causal masking (default false), for every axis or per axis. */
  isCausal?: boolean | readonly boolean[];
  /** Logit scale (default `headDim ** -0.5`). */
  scale?: number;
  /**
   * Relative positional bias `[heads, 2k0 - 1, (2k1 - 1), (2k2 - 1)]` (NATTEN <= 0.17), added to the scaled
   * logits at `(key - query) / dilation + k - 1` per axis. Not with causal masking.
   */
  rpb?: Tensor | null;
  /** Keys `[batch, numExtra, kvHeads, headDim]` every query attends in addition to its neighborhood. */
  additionalKeys?: Tensor | null;
  /** Values `[batch, numExtra, kvHeads, valueDim]` of `additionalKeys`. */
  additionalValues?: Tensor | null;
  /** Also return the log-sum-exp of each query's logits (default false). */
  returnLse?: boolean;
  /**
   * `'fused'` (default): one op, online softmax, the weights never materialised. `'unfused'`: the
   * `neighborhood.qk` logits, a softmax, then `neighborhood.av` (NATTEN's pre-0.17 path; memory
   * `O(tokens * prod(k))`).
   */
  kernel?: 'fused' | 'unfused';
}

/** What the functions return with `returnLse: true`. */
export interface NeighborhoodAttentionResult {
  /** The output `[batch, ...tokens, heads, valueDim]`. */
  out: Tensor;
  /** Natural log-sum-exp of each query's logits, `[batch, ...tokens, heads]`. Differentiable. */
  lse: Tensor;
}

/** Everything the ops need, checked. */
export interface CheckedCall {
  attrs: NeighborhoodAttrs;
  rpb: Tensor | null;
  extraK: Tensor | null;
  extraV: Tensor | null;
  returnLse: boolean;
  kernel: 'fused' | 'unfused';
}

/** A scalar or per-axis integer parameter, as an array of `rank` entries. */
export function perAxis(op: string, arg: string, value: number | readonly number[], rank: number): number[] {
  const list = typeof value === 'number' ? new Array<number>(rank).fill(value) : value;
  if (!Array.isArray(list) || list.length !== rank || !list.every((x) => Number.isInteger(x))) {
    throw new ValueError(
      op,
      arg,
      rank === 1 ? 'an integer' : `an integer or ${rank} integers (one per token axis)`,
      JSON.stringify(value) ?? String(value),
    );
  }
  return [...list];
}

function perAxisBool(op: string, value: boolean | readonly boolean[], rank: number): boolean[] {
  const list = typeof value === 'boolean' ? new Array<boolean>(rank).fill(value) : value;
  if (!Array.isArray(list) || list.length !== rank || !list.every((x) => typeof x === 'boolean')) {
    throw new ValueError(
      op,
      'isCausal',
      rank === 1 ? 'a boolean' : `a boolean or ${rank} booleans (one per token axis)`,
      JSON.stringify(value) ?? String(value),
    );
  }
  return [...list];
}

/**
 * Checks the window parameters against the token grid `tokens` (NATTEN's rules) and returns them per axis.
 * Shared by the functions, the modules and the attention-op registry entries.
 */
export function checkWindow(
  op: string,
  tokens: readonly number[],
  o: Pick<NeighborhoodAttentionOptions, 'kernelSize' | 'dilation' | 'stride' | 'isCausal'>,
): Pick<NeighborhoodAttrs, 'kernelSize' | 'dilation' | 'stride' | 'causal'> {
  const rank = tokens.length;
  if (o.kernelSize === undefined) throw new ValueError(op, 'kernelSize', 'given', 'undefined');
  const kernelSize = perAxis(op, 'kernelSize', o.kernelSize, rank);
  const dilation = perAxis(op, 'dilation', o.dilation ?? 1, rank);
  const stride = perAxis(op, 'stride', o.stride ?? 1, rank);
  const causal = perAxisBool(op, o.isCausal ?? false, rank);
  for (let a = 0; a < rank; a++) {
    const k = kernelSize[a];
    const at = rank > 1 ? `[${a}]` : '';
    if (k < 2) throw new ValueError(op, `kernelSize${at}`, 'at least 2', String(k));
    if (dilation[a] < 1) throw new ValueError(op, `dilation${at}`, 'at least 1', String(dilation[a]));
    if (k * dilation[a] > tokens[a]) {
      throw new ValueError(
        op,
        `kernelSize${at} * dilation${at}`,
        `at most the token axis size ${tokens[a]}`,
        `${k} * ${dilation[a]} = ${k * dilation[a]}`,
      );
    }
    if (stride[a] < 1 || stride[a] > k) {
      throw new ValueError(op, `stride${at}`, `between 1 and kernelSize${at} = ${k}`, String(stride[a]));
    }
  }
  return { kernelSize, dilation, stride, causal };
}

function checkFloat(op: string, arg: string, t: Tensor, like: Tensor | null): void {
  t.assertAlive(op, arg);
  if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
  if (like && t.dtype !== like.dtype) throw new DTypeError(op, arg, `${like.dtype} like q`, t.dtype);
}

/**
 * Checks a call of the neighborhood functions: `q` `[batch, ...tokens, heads, headDim]` with `rank` token
 * axes (1 to 3), `k` and `v` over the same tokens with `kvHeads` dividing `heads`, the options.
 */
export function checkCall(
  op: string,
  rank: number,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: NeighborhoodAttentionOptions,
): CheckedCall {
  if (o === null || typeof o !== 'object') {
    throw new ValueError(op, 'opts', 'an options object with kernelSize', String(o));
  }
  checkFloat(op, 'q', q, null);
  checkFloat(op, 'k', k, q);
  checkFloat(op, 'v', v, q);
  const layout = `[batch, ${['x', 'y', 'z'].slice(0, rank).join(', ')}, heads, headDim]`;
  if (q.rank !== rank + 3)
    throw new ShapeError(op, 'q', `a ${rank + 3}-d tensor ${layout}`, fmtShape(q.shape));
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
  if (kvHeads < 1 || heads % kvHeads !== 0) {
    throw new ShapeError(op, 'k', `a number of heads dividing q's ${heads}`, `${kvHeads} heads`);
  }
  if (headDim < 1 || k.shape[k.rank - 1] !== headDim) {
    throw new ShapeError(op, 'k', `headDim ${headDim} like q`, fmtShape(k.shape));
  }
  if (v.rank !== k.rank || v.shape.slice(0, -1).some((d, i) => d !== k.shape[i]) || v.shape[v.rank - 1] < 1) {
    throw new ShapeError(
      op,
      'v',
      `of shape [${k.shape.slice(0, -1).join(', ')}, valueDim] like k`,
      fmtShape(v.shape),
    );
  }
  const tokens = q.shape.slice(1, -2);
  const window = checkWindow(op, tokens, o);
  const scale = o.scale ?? 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ValueError(op, 'scale', 'a finite number', String(scale));
  }
  const returnLse = o.returnLse ?? false;
  if (typeof returnLse !== 'boolean') throw new ValueError(op, 'returnLse', 'a boolean', String(returnLse));
  const kernel = o.kernel ?? 'fused';
  if (kernel !== 'fused' && kernel !== 'unfused') {
    throw new ValueError(op, 'kernel', "'fused' or 'unfused'", JSON.stringify(kernel));
  }
  const rpb = o.rpb ?? null;
  if (rpb) {
    checkFloat(op, 'rpb', rpb, q);
    if (window.causal.some(Boolean)) {
      throw new ValueError(op, 'rpb', 'absent when isCausal is set (NATTEN has no causal bias)', 'a tensor');
    }
    const want = [heads, ...window.kernelSize.map((x) => 2 * x - 1)];
    if (rpb.rank !== want.length || rpb.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(op, 'rpb', `[heads, 2k - 1 per axis] = ${fmtShape(want)}`, fmtShape(rpb.shape));
    }
  }
  const extraK = o.additionalKeys ?? null;
  const extraV = o.additionalValues ?? null;
  if ((extraK === null) !== (extraV === null)) {
    throw new ValueError(
      op,
      extraK ? 'additionalValues' : 'additionalKeys',
      'given together with the other of additionalKeys / additionalValues',
      'null',
    );
  }
  if (extraK && extraV) {
    checkFloat(op, 'additionalKeys', extraK, q);
    checkFloat(op, 'additionalValues', extraV, q);
    const want = [q.shape[0], extraK.shape[1], kvHeads, headDim];
    if (extraK.rank !== 4 || extraK.shape.some((d, i) => d !== want[i]) || extraK.shape[1] < 1) {
      throw new ShapeError(
        op,
        'additionalKeys',
        `[batch, numExtra, kvHeads, headDim] = [${q.shape[0]}, numExtra >= 1, ${kvHeads}, ${headDim}]`,
        fmtShape(extraK.shape),
      );
    }
    const wantV = [...want.slice(0, 3), v.shape[v.rank - 1]];
    if (extraV.rank !== 4 || extraV.shape.some((d, i) => d !== wantV[i])) {
      throw new ShapeError(op, 'additionalValues', fmtShape(wantV), fmtShape(extraV.shape));
    }
  }
  return {
    attrs: { ...window, scale, hasRpb: rpb !== null, numExtra: extraK ? extraK.shape[1] : 0 },
    rpb,
    extraK,
    extraV,
    returnLse,
    kernel,
  };
}
