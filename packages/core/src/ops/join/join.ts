import { isFloat, promoteTypes } from '../../dtype.js';
import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import { normalizeAxis, shapesEqual } from '../../shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { cast } from '../elementwise/cast.js';
import { defineOp, runOp1 } from '../op.js';
import { narrow, slice, unsqueeze } from '../views/views.js';

const concatOp = defineOp<{ axis: number; shape: number[] }>({
  name: 'concat',
  // Each input gets its own stretch of g along the axis (views: no copy until a kernel needs one).
  vjp: ([g], xs, _y, { axis }) => {
    let start = 0;
    return xs.map((x) => {
      const part = isFloat(x.dtype) && x.requiresGrad ? narrow(g!, axis, start, x.shape[axis]) : null;
      start += x.shape[axis];
      return part;
    });
  },
});

function checkList(op: string, xs: readonly Tensor[]): void {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ValueError(op, 'xs', 'a non-empty array of tensors', Array.isArray(xs) ? '[]' : typeof xs);
  }
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new ValueError(op, `xs[${i}]`, 'a tensor', typeof x);
    x.assertAlive(op, `xs[${i}]`);
  });
}

/**
 * Joins tensors along an existing axis, as `torch.cat`: every input has the same rank and the same sizes on
 * every other axis. Inputs of different dtypes are promoted to a common one first (bool < int32 < float32 <
 * float64, as PyTorch's type promotion); all must live on one backend. Always returns a new tensor (also for a
 * single input). Differentiable: each input gets its own part of the gradient.
 *
 * @example
 * concat([tensor([[1, 2]]), tensor([[3, 4], [5, 6]])], 0) // shape [3, 2]
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  checkList('concat', xs);
  const first = xs[0];
  if (first.rank === 0)
    throw new ShapeError('concat', 'xs[0]', 'a tensor with at least one axis', 'a 0-d tensor');
  const a = normalizeAxis('concat', axis, first.rank);
  let total = 0;
  xs.forEach((x, i) => {
    const fits = x.rank === first.rank && x.shape.every((d, k) => k === a || d === first.shape[k]);
    if (!fits) {
      throw new ShapeError(
        'concat',
        `xs[${i}]`,
        `of shape ${fmtShape(first.shape)} except along axis ${a}, like xs[0]`,
        fmtShape(x.shape),
      );
    }
    total += x.shape[a];
  });
  const dtype = xs.map((x) => x.dtype).reduce(promoteTypes);
  const ins = xs.map((x) => cast(x, dtype));
  try {
    return runOp1(concatOp, ins, { axis: a, shape: first.shape.map((d, k) => (k === a ? total : d)) });
  } finally {
    ins.forEach((t, i) => {
      if (t !== xs[i]) t.dispose();
    });
  }
}

/** Alias of {@link concat}, as `torch.cat`. */
export const cat = concat;

/**
 * Joins tensors of one shape along a new axis `axis` (0..rank; negative counts from the end), as `torch.stack`.
 * Dtypes are promoted as in {@link concat}. Differentiable.
 *
 * @example
 * stack([q, k, v], 0) // shape [3, ...q.shape]
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  checkList('stack', xs);
  const shape = xs[0].shape;
  xs.forEach((x, i) => {
    if (!shapesEqual(x.shape, shape)) {
      throw new ShapeError('stack', `xs[${i}]`, `shape ${fmtShape(shape)} like xs[0]`, fmtShape(x.shape));
    }
  });
  const a = normalizeAxis('stack', axis, shape.length + 1);
  const parts = xs.map((x) => unsqueeze(x, a));
  try {
    return concat(parts, a);
  } finally {
    for (const p of parts) p.dispose();
  }
}

function checkSplitInput(op: string, x: Tensor, axis: number): number {
  x.assertAlive(op, 'x');
  if (x.rank === 0) throw new ShapeError(op, 'x', 'a tensor with at least one axis', 'a 0-d tensor');
  return normalizeAxis(op, axis, x.rank);
}

/**
 * Splits `x` along `axis` into views, as `torch.split`: a number is the size of every piece (the last may be
 * smaller); an array lists the sizes, which must add up to `x.shape[axis]`. Differentiable.
 *
 * @example
 * split(x, 2, 0)         // pieces of 2 rows (the last has 1 if x has an odd number)
 * split(qkv, [d, d, d], -1) // q, k, v
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], axis = 0): Tensor[] {
  const a = checkSplitInput('split', x, axis);
  const n = x.shape[a];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    const size = sizeOrSections;
    if (!Number.isInteger(size) || size < 1) {
      throw new ValueError(
        'split',
        'sizeOrSections',
        'a positive integer or an array of sizes',
        String(size),
      );
    }
    sizes = [];
    for (let s = 0; s < n; s += size) sizes.push(Math.min(size, n - s));
    if (n === 0) sizes.push(0);
  } else {
    sizes = [...sizeOrSections];
    const sum = sizes.reduce((p, d) => p + d, 0);
    if (sizes.some((d) => !Number.isInteger(d) || d < 0) || sum !== n) {
      throw new ValueError(
        'split',
        'sizeOrSections',
        `non-negative integers adding up to ${n} (the size of x along axis ${a})`,
        fmtShape(sizes),
      );
    }
  }
  let start = 0;
  return sizes.map((d) => {
    const piece = narrow(x, a, start, d);
    start += d;
    return piece;
  });
}

/**
 * Splits `x` along `axis` into at most `chunks` views of equal size (the last may be smaller), as
 * `torch.chunk`: each piece has `ceil(n / chunks)` elements along the axis, so fewer pieces may come back
 * (`chunk` of 5 rows into 4 gives 3 pieces of 2, 2 and 1). Differentiable.
 */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  const a = checkSplitInput('chunk', x, axis);
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new ValueError('chunk', 'chunks', 'a positive integer', String(chunks));
  }
  const n = x.shape[a];
  return split(x, Math.max(1, Math.ceil(n / chunks)), a);
}

/**
 * The slices of `x` along `axis`, with that axis removed, as `torch.unbind` (views). Differentiable.
 *
 * @example
 * const [q, k, v] = unbind(qkv, 0);
 */
export function unbind(x: Tensor, axis = 0): Tensor[] {
  const a = checkSplitInput('unbind', x, axis);
  return Array.from({ length: x.shape[a] }, (_, i) => slice(x, [...x.shape.slice(0, a).map(() => null), i]));
}
