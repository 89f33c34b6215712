import type { TypedArray } from '../dtype.js';
import { fmtShape, ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionInputs } from './inputs.js';
import { type AttentionShape, tokenCount } from './workload.js';

/**
 * An attention output computed by a reference for some query rows only: `values` is laid out
 * `[batch, rows.length, heads, dim]` (the `shape`), in float64.
 */
export interface AttentionReference {
  /** The query positions (flat token indices) that were computed, in the order of `values`. */
  readonly rows: readonly number[];
  /** The outputs of those rows. */
  readonly values: Float64Array;
  /** `[batch, rows.length, heads, dim]`. */
  readonly shape: readonly number[];
}

/** What a softmax-attention oracle computes beyond plain dense attention. */
export interface SoftmaxReferenceOptions {
  /** Logit scale (default `1 / sqrt(headDim)`). */
  scale?: number;
  /**
   * The keys query `query` attends to, as a 0/1 mask over flat key positions (default: all keys). A query
   * that attends to none gets zero outputs, as from core's `sdpa` (PyTorch gives NaN there).
   */
  keyMask?: (query: number) => Uint8Array;
  /** A term added to the scaled logit of (batch, head, query, key), e.g. a relative positional bias. */
  bias?: (batch: number, head: number, query: number, key: number) => number;
}

interface Qkv {
  q: TypedArray;
  k: TypedArray;
  v: TypedArray;
  n: number;
  heads: number;
  dim: number;
  valueDim: number;
  scale: number;
}

function readQkv(op: string, inputs: AttentionInputs, shape: AttentionShape, scale?: number): Qkv {
  const expected = [shape.batch, ...shape.tokens, shape.heads, shape.headDim];
  for (const name of ['q', 'k', 'v'] as const) {
    const t: Tensor = inputs[name];
    t.assertAlive(op, name);
    if (!t.backend.readSync) {
      throw new ValueError(
        op,
        name,
        'a tensor on a backend with synchronous readback (e.g. cpu)',
        t.backend.name,
      );
    }
    const want = name === 'v' ? [...expected.slice(0, -1), t.shape[t.rank - 1]] : expected;
    if (t.rank !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(op, name, fmtShape(want), fmtShape(t.shape));
    }
  }
  const s = scale ?? 1 / Math.sqrt(shape.headDim);
  if (!Number.isFinite(s)) throw new ValueError(op, 'scale', 'a finite number', String(scale));
  return {
    q: inputs.q.dataSync(),
    k: inputs.k.dataSync(),
    v: inputs.v.dataSync(),
    n: tokenCount(shape),
    heads: shape.heads,
    dim: shape.headDim,
    valueDim: inputs.v.shape[inputs.v.rank - 1],
    scale: s,
  };
}

/**
 * Softmax weights of one (batch, head, query) over every key, in float64, into `out` (0 for masked keys);
 * returns false when the query attends to no key. Plain loops with the maximum subtracted before `exp`.
 */
function weightsInto(
  x: Qkv,
  b: number,
  h: number,
  query: number,
  opts: SoftmaxReferenceOptions,
  out: Float64Array,
): boolean {
  const { q, k, n, heads, dim, scale } = x;
  const mask = opts.keyMask?.(query);
  const qOff = ((b * n + query) * heads + h) * dim;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    if (mask && !mask[j]) {
      out[j] = Number.NEGATIVE_INFINITY;
      continue;
    }
    const kOff = ((b * n + j) * heads + h) * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += q[qOff + d] * k[kOff + d];
    const logit = dot * scale + (opts.bias ? opts.bias(b, h, query, j) : 0);
    out[j] = logit;
    if (logit > max) max = logit;
  }
  if (max === Number.NEGATIVE_INFINITY) return false;
  let total = 0;
  for (let j = 0; j < n; j++) {
    const e = out[j] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(out[j] - max);
    out[j] = e;
    total += e;
  }
  for (let j = 0; j < n; j++) out[j] /= total;
  return true;
}

/**
 * The exact output of softmax attention `softmax(scale * q k^T + bias, masked) v` for the query positions
 * `rows` (default: every position), computed from CPU inputs with plain float64 loops. Written independently
 * of every attention kernel, so that it can serve as their oracle: ops whose pattern is a key mask
 * (dense, causal, neighborhood, block-sparse) get their reference by passing `keyMask`.
 */
export function softmaxAttentionReference(
  inputs: AttentionInputs,
  shape: AttentionShape,
  opts: SoftmaxReferenceOptions & { rows?: readonly number[] } = {},
): AttentionReference {
  const op = 'softmaxAttentionReference';
  const x = readQkv(op, inputs, shape, opts.scale);
  const rows = opts.rows ?? Array.from({ length: x.n }, (_, i) => i);
  for (let r = 0; r < rows.length; r++) {
    if (!(Number.isInteger(rows[r]) && rows[r] >= 0 && rows[r] < x.n)) {
      throw new ValueError(op, `rows[${r}]`, `a token index in [0, ${x.n})`, String(rows[r]));
    }
  }
  const { v, n, heads, valueDim } = x;
  const values = new Float64Array(shape.batch * rows.length * heads * valueDim);
  const w = new Float64Array(n);
  for (let b = 0; b < shape.batch; b++) {
    for (let r = 0; r < rows.length; r++) {
      for (let h = 0; h < heads; h++) {
        const outOff = ((b * rows.length + r) * heads + h) * valueDim;
        if (!weightsInto(x, b, h, rows[r], opts, w)) continue; // no key: the output stays 0
        for (let j = 0; j < n; j++) {
          if (w[j] === 0) continue;
          const vOff = ((b * n + j) * heads + h) * valueDim;
          for (let d = 0; d < valueDim; d++) values[outOff + d] += w[j] * v[vOff + d];
        }
      }
    }
  }
  return { rows: [...rows], values, shape: [shape.batch, rows.length, heads, valueDim] };
}

/**
 * The softmax attention weights of one query over every key (flat key positions; 0 for masked keys), in
 * float64, for pictures and for checking an op's weights. Same formula as {@link softmaxAttentionReference}.
 * All zeros when the query attends to no key.
 */
export function softmaxAttentionWeights(
  inputs: AttentionInputs,
  shape: AttentionShape,
  opts: SoftmaxReferenceOptions & { query: number; batch?: number; head?: number },
): Float64Array {
  const op = 'softmaxAttentionWeights';
  const x = readQkv(op, inputs, shape, opts.scale);
  const b = opts.batch ?? 0;
  const h = opts.head ?? 0;
  const check = (arg: string, v: number, limit: number) => {
    if (!(Number.isInteger(v) && v >= 0 && v < limit)) {
      throw new ValueError(op, arg, `an integer in [0, ${limit})`, String(v));
    }
  };
  check('query', opts.query, x.n);
  check('batch', b, shape.batch);
  check('head', h, x.heads);
  const w = new Float64Array(x.n);
  if (!weightsInto(x, b, h, opts.query, opts, w)) w.fill(0);
  return w;
}
