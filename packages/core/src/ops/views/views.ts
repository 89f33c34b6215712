import { getBackend } from '../../backend/registry.js';
import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import { checkShape, isRowMajor, normalizeAxis, sizeOf, stridesOf } from '../../shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineOp, moveTensor, runOp1 } from '../op.js';
import { sumToShape } from '../reduce/reduce.js';

const view = (x: Tensor, shape: readonly number[], strides: readonly number[], offset: number) =>
  new Tensor(x.storage, shape, strides, offset);

/** Resolves a shape with at most one -1 against a number of elements. */
function inferShape(op: string, shape: readonly number[], size: number, from: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(op, 'shape', 'non-negative integers with at most one -1', fmtShape(shape));
  }
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(
      op,
      'shape',
      `a shape with ${size} elements (input ${fmtShape(from)})`,
      fmtShape(shape),
    );
  }
  return out;
}

const contiguousOp = defineOp<Record<string, never>>({
  name: 'contiguous',
  vjp: ([g]) => [g],
});

/** A packed (row-major, offset 0) copy of `x`, recorded for autograd. */
export function contiguous(x: Tensor): Tensor {
  return runOp1(contiguousOp, [x], {});
}

/** A copy of `x` with its own storage. */
export function clone(x: Tensor): Tensor {
  return runOp1(contiguousOp, [x], {});
}

const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  direct: (x, { shape }) => view(x, shape, stridesOf(shape), x.offset),
  vjp: ([g], [x]) => [reshape(g!, x.shape)],
});

/**
 * Gives `x` a new shape with the same number of elements (one size may be -1). A view when `x` is contiguous,
 * else a contiguous copy first, as in PyTorch.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.assertAlive('reshape', 'x');
  const target = inferShape('reshape', shape, x.size, x.shape);
  const src = x.isContiguous ? x : contiguous(x);
  const out = runOp1(reshapeOp, [src], { shape: target });
  if (src !== x) src.dispose();
  return out;
}

const permuteOp = defineOp<{ axes: number[] }>({
  name: 'permute',
  direct: (x, { axes }) =>
    view(
      x,
      axes.map((a) => x.shape[a]),
      axes.map((a) => x.strides[a]),
      x.offset,
    ),
  vjp: ([g], _x, _y, { axes }) => {
    const inv = new Array<number>(axes.length);
    axes.forEach((a, i) => {
      inv[a] = i;
    });
    return [permute(g!, inv)];
  },
});

/** Reorders the axes of `x`: output axis i is input axis `axes[i]` (a view). */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  x.assertAlive('permute', 'x');
  if (axes.length !== x.rank) {
    throw new ShapeError(
      'permute',
      'axes',
      `${x.rank} axes (a permutation of 0..${x.rank - 1})`,
      fmtShape(axes),
    );
  }
  const norm = axes.map((a) => normalizeAxis('permute', a, x.rank, 'axes'));
  if (new Set(norm).size !== norm.length)
    throw new ValueError('permute', 'axes', 'a permutation', fmtShape(axes));
  return runOp1(permuteOp, [x], { axes: norm });
}

/** Swaps axes `a` and `b` of `x` (a view). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const axes = Array.from({ length: x.rank }, (_, i) => i);
  const na = normalizeAxis('transpose', a, x.rank, 'a');
  const nb = normalizeAxis('transpose', b, x.rank, 'b');
  axes[na] = nb;
  axes[nb] = na;
  return permute(x, axes);
}

const expandOp = defineOp<{ shape: number[] }>({
  name: 'expand',
  direct: (x, { shape }) => {
    const off = shape.length - x.rank;
    const strides = shape.map((d, i) =>
      i < off || (x.shape[i - off] === 1 && d !== 1) ? 0 : x.strides[i - off],
    );
    return view(x, shape, strides, x.offset);
  },
  vjp: ([g], [x]) => [sumToShape(g!, x.shape)],
});

/**
 * Broadcasts `x` to `shape` (NumPy rules; -1 keeps a size) as a view with stride 0 on broadcast axes.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  x.assertAlive('expand', 'x');
  const off = shape.length - x.rank;
  if (off < 0) throw new ShapeError('expand', 'shape', `at least ${x.rank} axes`, fmtShape(shape));
  const target = shape.map((d, i) => (d === -1 && i >= off ? x.shape[i - off] : d));
  checkShape('expand', 'shape', target);
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i];
    if (d !== 1 && d !== target[i + off]) {
      throw new ShapeError('expand', 'shape', `compatible with ${fmtShape(x.shape)}`, fmtShape(shape));
    }
  }
  return runOp1(expandOp, [x], { shape: target });
}

/** Alias of {@link expand}. */
export const broadcastTo = expand;

/** One axis of a {@link slice}: an index (drops the axis), a range `[start, end?, step?]`, or null (all). */
export type SliceSpec = number | readonly [number, number?, number?] | null;

interface SliceAttrs {
  starts: number[];
  sizes: number[];
  steps: number[];
  drop: boolean[];
}

const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  direct: (x, { starts, sizes, steps, drop }) => {
    let offset = x.offset;
    const shape: number[] = [];
    const strides: number[] = [];
    for (let i = 0; i < x.rank; i++) {
      offset += starts[i] * x.strides[i];
      if (drop[i]) continue;
      shape.push(sizes[i]);
      strides.push(x.strides[i] * steps[i]);
    }
    return view(x, shape, strides, offset);
  },
  vjp: ([g], [x], _y, attrs) => [runOp1(unsliceOp, [g!], { ...attrs, inputShape: [...x.shape] })],
});

/** @internal The gradient of slice: `g` written into zeros of the input's shape. Has a kernel per backend. */
export const unsliceOp = defineOp<SliceAttrs & { inputShape: number[] }>({
  name: 'unslice',
  vjp: ([g], _x, _y, attrs) => {
    const specs: SliceSpec[] = attrs.starts.map((s, i) =>
      attrs.drop[i] ? s : [s, s + attrs.sizes[i] * attrs.steps[i], attrs.steps[i]],
    );
    return [slice(g!, specs)];
  },
});

/**
 * A view of part of `x`, one spec per leading axis (missing trailing specs take the whole axis). A number
 * picks one index and drops the axis (negative counts from the end); `[start, end, step]` is a Python-style
 * range with a positive step (end exclusive and clamped, negatives count from the end); null takes all.
 *
 * @example
 * slice(x, [null, [1, 5, 2], 0]) // x[:, 1:5:2, 0]
 */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  x.assertAlive('slice', 'x');
  if (specs.length > x.rank)
    throw new ShapeError('slice', 'specs', `at most ${x.rank} entries`, String(specs.length));
  const attrs: SliceAttrs = { starts: [], sizes: [], steps: [], drop: [] };
  for (let i = 0; i < x.rank; i++) {
    const n = x.shape[i];
    const s = i < specs.length ? specs[i] : null;
    if (typeof s === 'number') {
      if (!Number.isInteger(s) || s < -n || s >= n) {
        throw new ValueError('slice', `index on axis ${i}`, `an integer in [${-n}, ${n - 1}]`, String(s));
      }
      attrs.starts.push(s < 0 ? s + n : s);
      attrs.sizes.push(1);
      attrs.steps.push(1);
      attrs.drop.push(true);
      continue;
    }
    const [rs, re, rstep] = s ?? [0, n, 1];
    const step = rstep ?? 1;
    if (!Number.isInteger(step) || step < 1) {
      throw new ValueError('slice', `step on axis ${i}`, 'a positive integer', String(step));
    }
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = clamp(rs ?? 0);
    const end = clamp(re ?? n);
    attrs.starts.push(start);
    attrs.sizes.push(Math.max(0, Math.ceil((end - start) / step)));
    attrs.steps.push(step);
    attrs.drop.push(false);
  }
  return runOp1(sliceOp, [x], attrs);
}

/** `length` elements of axis `axis` starting at `start` (a view), as `torch.narrow`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis('narrow', axis, x.rank);
  if (start < 0 || length < 0 || start + length > x.shape[a]) {
    throw new ValueError(
      'narrow',
      'start/length',
      `a range inside [0, ${x.shape[a]})`,
      `[${start}, ${start + length})`,
    );
  }
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[a] = [start, start + length, 1];
  return slice(x, specs);
}

/** Removes axes of size 1 (all of them, or those listed). A view. */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  const axes =
    axis === undefined
      ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : (typeof axis === 'number' ? [axis] : [...axis]).map((a) => normalizeAxis('squeeze', a, x.rank));
  for (const a of axes) {
    if (x.shape[a] !== 1)
      throw new ShapeError('squeeze', 'axis', 'an axis of size 1', `axis ${a} of size ${x.shape[a]}`);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** Inserts an axis of size 1 at `axis` (which may be -1 for last). A view. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Merges axes `start..end` (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis('flatten', start, x.rank, 'start');
  const e = normalizeAxis('flatten', end, x.rank, 'end');
  if (e < s) throw new ValueError('flatten', 'end', `>= start (${s})`, String(e));
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

const toOp = defineOp<{ backend: string }>({
  name: 'to',
  direct: (x, { backend }) => moveTensor(x, getBackend(backend)),
  vjp: ([g], [x]) => [toBackend(g!, x.backend.name)],
});

/** A copy of `x` on `backend` (a plain copy when it is there already). Differentiable. */
export function toBackend(x: Tensor, backend: string): Tensor {
  x.assertAlive('to', 'x');
  getBackend(backend);
  return x.backend.name === backend ? clone(x) : runOp1(toOp, [x], { backend });
}

/** Whether `x` is a row-major view (possibly at an offset). */
export function isContiguousView(x: Tensor): boolean {
  return isRowMajor(x.shape, x.strides);
}
