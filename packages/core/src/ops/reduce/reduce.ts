import { isFloat } from '../../dtype.js';
import { DTypeError, ValueError } from '../../errors.js';
import { normalizeAxes, normalizeAxis, shapesEqual, sizeOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { div, eq, mul, sub } from '../elementwise/binary.js';
import { cast } from '../elementwise/cast.js';
import { exp, sqrt } from '../elementwise/unary.js';
import { defineOp, runOp1 } from '../op.js';
import { expand, reshape } from '../views/views.js';

/** Options of the reductions. */
export interface ReduceOptions {
  /** Axis or axes to reduce (negative counts from the end); all axes when omitted. */
  axis?: number | readonly number[];
  /** Keep reduced axes with size 1 (default false). */
  keepDims?: boolean;
}

/** Attributes every reduction kernel receives: sorted axes, and the output shape. */
export interface ReduceAttrs {
  /** The reduced axes, sorted and non-negative. */
  axes: number[];
  /** Whether reduced axes stay with size 1. */
  keepDims: boolean;
  /** Output shape as computed (with keepDims applied). */
  shape: number[];
}

function reduceAttrs(op: string, x: Tensor, o: ReduceOptions | undefined): ReduceAttrs {
  x.assertAlive(op, 'x');
  const axes = normalizeAxes(op, o?.axis, x.rank);
  const keepDims = o?.keepDims ?? false;
  const shape = keepDims
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
  return { axes, keepDims, shape };
}

/** `g` (the gradient of a reduction's output) reshaped with kept axes and broadcast back to `shape`. */
function unreduce(g: Tensor, shape: readonly number[], attrs: ReduceAttrs): Tensor {
  const kept = shape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
  const r = reshape(g, kept);
  return expand(r, shape);
}

const sumOp = defineOp<ReduceAttrs>({ name: 'sum', vjp: ([g], [x], _y, a) => [unreduce(g!, x.shape, a)] });

/** Sum over axes (float64 accumulation on the CPU). Integer and bool input sum to int32. */
export function sum(x: Tensor, o?: ReduceOptions): Tensor {
  const attrs = reduceAttrs('sum', x, o);
  const src = x.dtype === 'bool' ? cast(x, 'int32') : x;
  try {
    return runOp1(sumOp, [src], attrs);
  } finally {
    if (src !== x) src.dispose();
  }
}

/** Mean over axes; integer input gives float32. */
export function mean(x: Tensor, o?: ReduceOptions): Tensor {
  const attrs = reduceAttrs('mean', x, o);
  const count = attrs.axes.reduce((n, a) => n * x.shape[a], 1);
  const s = sum(isFloat(x.dtype) ? x : cast(x, 'float32'), o);
  const r = div(s, count);
  s.dispose();
  return r;
}

function extremum(name: 'max' | 'min') {
  const op = defineOp<ReduceAttrs>({
    name,
    // The gradient is shared equally among tied extrema (as torch.amax).
    vjp: ([g], [x], [y], a) => {
      const hit = cast(eq(x, unreduce(y, x.shape, a)), x.dtype);
      const count = unreduce(sumRaw(hit, a), x.shape, a);
      return [div(mul(hit, unreduce(g!, x.shape, a)), count)];
    },
  });
  return (x: Tensor, o?: ReduceOptions): Tensor => {
    const attrs = reduceAttrs(name, x, o);
    if (x.size === 0) throw new ValueError(name, 'x', 'a non-empty tensor', 'an empty one');
    return runOp1(op, [x], attrs);
  };
}

const sumRaw = (x: Tensor, a: ReduceAttrs) =>
  runOp1(sumOp, [x], { ...a, keepDims: true, shape: x.shape.map((d, i) => (a.axes.includes(i) ? 1 : d)) });

/** Maximum over axes (the values; see {@link argmax} for indices). */
export const max = extremum('max');
/** Minimum over axes (the values; see {@link argmin} for indices). */
export const min = extremum('min');

const logsumexpOp = defineOp<ReduceAttrs>({
  name: 'logsumexp',
  vjp: ([g], [x], [y], a) => [mul(unreduce(g!, x.shape, a), exp(sub(x, unreduce(y, x.shape, a))))],
});

/** `log(sum(exp(x)))` over axes, computed stably (max subtracted first). */
export function logsumexp(x: Tensor, o?: ReduceOptions): Tensor {
  const attrs = reduceAttrs('logsumexp', x, o);
  if (!isFloat(x.dtype)) throw new DTypeError('logsumexp', 'x', 'a floating-point tensor', x.dtype);
  return runOp1(logsumexpOp, [x], attrs);
}

/** Variance over axes with Bessel's `correction` (default 1, as `torch.var`). */
export function variance(x: Tensor, o?: ReduceOptions & { correction?: number }): Tensor {
  const attrs = reduceAttrs('variance', x, o);
  const n = attrs.axes.reduce((k, a) => k * x.shape[a], 1);
  const correction = o?.correction ?? 1;
  const m = mean(x, { axis: attrs.axes, keepDims: true });
  const d = sub(x, m);
  const sq = mul(d, d);
  const s = sum(sq, { axis: attrs.axes, keepDims: attrs.keepDims });
  const r = div(s, Math.max(n - correction, 0));
  for (const t of [m, d, sq, s]) t.dispose();
  return r;
}

/** Standard deviation over axes (sqrt of {@link variance}). */
export function std(x: Tensor, o?: ReduceOptions & { correction?: number }): Tensor {
  const v = variance(x, o);
  const r = sqrt(v);
  v.dispose();
  return r;
}

function argExtremum(name: 'argmax' | 'argmin') {
  const op = defineOp<ReduceAttrs>({ name });
  return (x: Tensor, o?: { axis?: number; keepDims?: boolean }): Tensor => {
    x.assertAlive(name, 'x');
    if (x.size === 0) throw new ValueError(name, 'x', 'a non-empty tensor', 'an empty one');
    if (o?.axis === undefined) {
      const flat = reshape(x, [x.size]);
      const r = runOp1(op, [flat], { axes: [0], keepDims: false, shape: [] });
      flat.dispose();
      return r;
    }
    const axis = normalizeAxis(name, o.axis, x.rank);
    return runOp1(op, [x], reduceAttrs(name, x, { axis, keepDims: o.keepDims }));
  };
}

/** Index of the first maximum along `axis` (of the flattened tensor when omitted); int32. */
export const argmax = argExtremum('argmax');
/** Index of the first minimum along `axis` (of the flattened tensor when omitted); int32. */
export const argmin = argExtremum('argmin');

/**
 * Sums `g` down to `shape` (undoing broadcasting): what every broadcasting op's gradient needs.
 * Returns `g` itself when the shapes already match.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, { axis: axes, keepDims: true });
  if (sizeOf(s.shape) !== sizeOf(shape)) throw new Error('sumToShape: internal shape mismatch');
  const r = reshape(s, shape);
  if (r !== s) s.dispose();
  return r;
}
