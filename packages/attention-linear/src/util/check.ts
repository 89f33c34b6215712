// Argument checks shared by the attention functions of this package (layout [batch, ...tokens, heads, dim]).
import { DTypeError, fmtShape, isFloat, ShapeError, type Tensor, ValueError } from '@attnkit/core';

/** Sizes of a q/k/v triple laid out `[batch, ...tokens, heads, dim]`. */
export interface QkvSizes {
  /** Batch size. */
  batch: number;
  /** The token grid (one or more axes). */
  tokens: number[];
  /** Number of tokens (product of the grid). */
  n: number;
  /** Number of key/value tokens (= n unless `crossTokens`). */
  nk: number;
  /** Heads. */
  heads: number;
  /** Query/key head dim. */
  dk: number;
  /** Value head dim. */
  dv: number;
}

/**
 * Checks that q, k, v are float tensors of one dtype laid out `[batch, ...tokens, heads, dim]` with equal
 * batch, token grid and heads, q and k of one head dim (`sameDim`: v too). With `crossTokens`, k and v may have
 * their own token grid (cross-attention). Errors name `op` and the argument.
 */
export function checkQkv(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: { sameDim?: boolean; names?: [string, string, string]; crossTokens?: boolean } = {},
): QkvSizes {
  const names = opts.names ?? ['q', 'k', 'v'];
  const ts = [q, k, v];
  ts.forEach((t, i) => {
    t.assertAlive(op, names[i]);
    if (!isFloat(t.dtype)) throw new DTypeError(op, names[i], 'a float32 or float64 tensor', t.dtype);
    if (t.dtype !== q.dtype) throw new DTypeError(op, names[i], `${q.dtype} like ${names[0]}`, t.dtype);
    if (t.rank < 4) {
      throw new ShapeError(
        op,
        names[i],
        'a tensor [batch, ...tokens, heads, dim] with at least one token axis',
        fmtShape(t.shape),
      );
    }
  });
  const lead = q.shape.slice(0, -1);
  const same = (t: Tensor) => t.rank === q.rank && t.shape.slice(0, -1).every((d, i) => d === lead[i]);
  if (opts.crossTokens) {
    const h = q.shape[q.rank - 2];
    if (
      k.shape[0] !== q.shape[0] ||
      k.shape[k.rank - 2] !== h ||
      k.shape[k.rank - 1] !== q.shape[q.rank - 1]
    ) {
      throw new ShapeError(
        op,
        names[1],
        `[${q.shape[0]}, ...tokens, ${h}, ${q.shape[q.rank - 1]}]`,
        fmtShape(k.shape),
      );
    }
    const kLead = k.shape.slice(0, -1);
    if (v.rank !== k.rank || v.shape.slice(0, -1).some((d, i) => d !== kLead[i]) || v.shape[v.rank - 1] < 1) {
      throw new ShapeError(op, names[2], `${fmtShape(kLead).slice(0, -1)}, valueDim]`, fmtShape(v.shape));
    }
    const tokens = q.shape.slice(1, -2);
    const n = tokens.reduce((a, b) => a * b, 1);
    const nk = k.shape.slice(1, -2).reduce((a, b) => a * b, 1);
    return { batch: q.shape[0], tokens, n, nk, heads: h, dk: q.shape[q.rank - 1], dv: v.shape[v.rank - 1] };
  }
  if (!same(k) || k.shape[k.rank - 1] !== q.shape[q.rank - 1]) {
    throw new ShapeError(op, names[1], `the shape of ${names[0]} ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
  const dv = v.shape[v.rank - 1];
  if (!same(v) || (opts.sameDim && dv !== q.shape[q.rank - 1])) {
    const want = opts.sameDim ? fmtShape(q.shape) : `${fmtShape(lead).slice(0, -1)}, valueDim]`;
    throw new ShapeError(op, names[2], want, fmtShape(v.shape));
  }
  const tokens = q.shape.slice(1, -2);
  const sizes = {
    batch: q.shape[0],
    tokens,
    n: tokens.reduce((a, b) => a * b, 1),
    nk: tokens.reduce((a, b) => a * b, 1),
    heads: q.shape[q.rank - 2],
    dk: q.shape[q.rank - 1],
    dv,
  };
  if (sizes.dk < 1 || dv < 1 || sizes.n < 1) {
    throw new ShapeError(op, names[0], 'non-empty token, head and channel axes', fmtShape(q.shape));
  }
  return sizes;
}

/** Throws unless `x` is a finite number `>= min` (or `> min` when `strict`). */
export function checkNumber(op: string, arg: string, x: unknown, min: number, strict = false): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || (strict && x === min)) {
    throw new ValueError(op, arg, `a finite number ${strict ? '>' : '>='} ${min}`, String(x));
  }
  return x;
}

/** Throws unless `x` is an integer `>= min`. */
export function checkInt(op: string, arg: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
    throw new ValueError(op, arg, `an integer >= ${min}`, String(x));
  }
  return x;
}

/** Throws unless `x` is a boolean. */
export function checkBool(op: string, arg: string, x: unknown): boolean {
  if (typeof x !== 'boolean') throw new ValueError(op, arg, 'a boolean', String(x));
  return x;
}
