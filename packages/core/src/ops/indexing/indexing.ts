import type { DType } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { normalizeAxis, stridesOf } from '../../shape.js';
import { arange, full, zeros } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';
import { eq } from '../elementwise/binary.js';
import { cast } from '../elementwise/cast.js';
import { defineOp, runOp1 } from '../op.js';
import { expand, reshape, slice } from '../views/views.js';

// Index conventions shared by every op here (as PyTorch): indices are int32 and must lie in [0, size); negative
// (Python-style) indices are rejected rather than wrapped, so an off-by-one never silently reads the last row.

const gatherOp = defineOp<{ axis: number }>({
  name: 'gather',
  vjp: ([g], [x, index], _y, { axis }) => [scatterAddIntoZeros(x.shape, axis, index, g!), null],
});

const indexSelectOp = defineOp<{ axis: number }>({
  name: 'indexSelect',
  // The gradient is an index-add: row j of g goes back to row index[j] of x (summed over repeats). The index is
  // broadcast to g's shape so scatterAdd can do it; expand is a view, so this costs no extra op.
  vjp: ([g], [x, index], _y, { axis }) => {
    const row = reshape(
      index,
      x.shape.map((_, i) => (i === axis ? index.size : 1)),
    );
    return [scatterAddIntoZeros(x.shape, axis, expand(row, g!.shape), g!), null];
  },
});

const scatterAddOp = defineOp<{ axis: number }>({
  name: 'scatterAdd',
  vjp: ([g], [x, index, src], _y, { axis }) => [
    x.requiresGrad ? g! : null,
    null,
    src.requiresGrad ? runOp1(gatherOp, [g!, index], { axis }) : null,
  ],
});

const scatterOp = defineOp<{ axis: number }>({
  name: 'scatter',
  // Overwritten elements of x get no gradient; each src element gets the gradient of where it landed (with
  // repeated indices only the element that won the write really did, which PyTorch does not track either).
  vjp: ([g], [x, index, src], _y, { axis }) => [
    x.requiresGrad ? scatterRaw(g!, axis, index, zerosOf(src.shape, g!)) : null,
    null,
    src.requiresGrad ? runOp1(gatherOp, [g!, index], { axis }) : null,
  ],
});

/** @internal `gather` without argument checks, for ops whose indices are valid by construction (sort, topk). */
export function gatherTrusted(x: Tensor, axis: number, index: Tensor): Tensor {
  return runOp1(gatherOp, [x, index], { axis });
}

const zerosOf = (shape: readonly number[], like: Tensor) =>
  zeros(shape, { dtype: like.dtype, backend: like.backend.name });

function scatterAddIntoZeros(shape: readonly number[], axis: number, index: Tensor, src: Tensor): Tensor {
  const z = zerosOf(shape, src);
  const out = runOp1(scatterAddOp, [z, index, src], { axis });
  z.dispose();
  return out;
}

function scatterRaw(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  return runOp1(scatterOp, [x, index, src], { axis });
}

/** Row-major position of flat element `i` of `shape`, for error messages. */
function unravel(i: number, shape: readonly number[]): number[] {
  return stridesOf(shape).map((s, a) => Math.floor(i / s) % shape[a]);
}

function checkIndexDType(op: string, index: Tensor): void {
  index.assertAlive(op, 'index');
  if (index.dtype !== 'int32') throw new DTypeError(op, 'index', 'an int32 tensor', index.dtype);
}

/**
 * Throws on the first index outside [0, bound), naming its value and position. Only on backends that can read
 * back synchronously (the CPU): a GPU backend cannot stop to look, and its kernels define what happens.
 */
function checkIndexValues(op: string, index: Tensor, bound: number, what: string): void {
  if (!index.backend.readSync) return;
  const v = index.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= bound) {
      const at = index.rank === 0 ? '' : ` at index${fmtShape(unravel(i, index.shape))}`;
      throw new ValueError(op, 'index values', `in [0, ${bound}) (${what})`, `${v[i]}${at}`);
    }
  }
}

function checkRank(op: string, arg: string, t: Tensor, rank: number, like: string): void {
  if (t.rank !== rank) {
    throw new ShapeError(op, arg, `of rank ${rank} like ${like}`, `shape ${fmtShape(t.shape)}`);
  }
}

function checkAxisInput(op: string, x: Tensor, axis: number): number {
  x.assertAlive(op, 'x');
  if (x.rank === 0) throw new ShapeError(op, 'x', 'a tensor with at least one axis', 'a 0-d tensor');
  return normalizeAxis(op, axis, x.rank);
}

/**
 * Picks values along `axis` by index, as `torch.gather`: `out[i][j][k] = x[index[i][j][k]][j][k]` for axis 0
 * (likewise for other axes). `index` is int32 with x's rank; on every other axis it may be smaller than `x`.
 * The output has index's shape and x's dtype. Indices must lie in [0, x.shape[axis]) (negative ones are
 * rejected; the CPU backend checks and names the first bad one). Differentiable in `x`.
 *
 * @example
 * gather(tensor([[1, 2], [3, 4]]), 1, tensor([[0, 0], [1, 0]], { dtype: 'int32' })) // [[1, 1], [4, 3]]
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = checkAxisInput('gather', x, axis);
  checkIndexDType('gather', index);
  checkRank('gather', 'index', index, x.rank, 'x');
  for (let d = 0; d < x.rank; d++) {
    if (d !== a && index.shape[d] > x.shape[d]) {
      throw new ShapeError(
        'gather',
        'index',
        `no larger than x ${fmtShape(x.shape)} on every axis but ${a}`,
        `shape ${fmtShape(index.shape)}`,
      );
    }
  }
  checkIndexValues('gather', index, x.shape[a], `the size of x along axis ${a}`);
  return runOp1(gatherOp, [x, index], { axis: a });
}

/**
 * The slices of `x` along `axis` listed in the 1-D int32 `index` (repeats allowed; a 0-d index counts as one),
 * as `torch.index_select`: the output has x's shape with `index.size` in place of `x.shape[axis]`. Indices must
 * lie in [0, x.shape[axis]). The gradient adds each selected slice back where it came from.
 *
 * @example
 * indexSelect(embeddings, 0, tokenIds) // rows of an embedding table
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = checkAxisInput('indexSelect', x, axis);
  checkIndexDType('indexSelect', index);
  if (index.rank > 1) {
    throw new ShapeError('indexSelect', 'index', 'a 1-D tensor', `shape ${fmtShape(index.shape)}`);
  }
  checkIndexValues('indexSelect', index, x.shape[a], `the size of x along axis ${a}`);
  const idx = index.rank === 0 ? reshape(index, [1]) : index;
  try {
    return runOp1(indexSelectOp, [x, idx], { axis: a });
  } finally {
    if (idx !== index) idx.dispose();
  }
}

/** Checks the arguments shared by scatter and scatterAdd; returns the axis and src cut to index's shape. */
function scatterArgs(op: string, x: Tensor, axis: number, index: Tensor, src: Tensor) {
  const a = checkAxisInput(op, x, axis);
  checkIndexDType(op, index);
  src.assertAlive(op, 'src');
  if (src.dtype !== x.dtype) throw new DTypeError(op, 'src', `of x's dtype ${x.dtype}`, src.dtype);
  checkRank(op, 'index', index, x.rank, 'x');
  checkRank(op, 'src', src, x.rank, 'x');
  for (let d = 0; d < x.rank; d++) {
    if (index.shape[d] > src.shape[d] || (d !== a && index.shape[d] > x.shape[d])) {
      throw new ShapeError(
        op,
        'index',
        `no larger than src ${fmtShape(src.shape)} on every axis and than x ${fmtShape(x.shape)} on every axis but ${a}`,
        `shape ${fmtShape(index.shape)}`,
      );
    }
  }
  checkIndexValues(op, index, x.shape[a], `the size of x along axis ${a}`);
  // As in PyTorch only the index-shaped corner of src is used; a view keeps the kernels to equal shapes.
  const fits = src.shape.every((d, i) => d === index.shape[i]);
  const cut = fits
    ? src
    : slice(
        src,
        index.shape.map((d) => [0, d] as const),
      );
  return { a, cut };
}

/**
 * `x` with `src` added at `index` along `axis`, out of place, as `torch.Tensor.scatter_add`: for axis 0,
 * `out[index[i][j][k]][j][k] += src[i][j][k]`; repeated indices accumulate. `index` (int32) and `src` have x's
 * rank, `src` x's dtype (float32, float64 or int32); index may be smaller than src on any axis (only that
 * corner of src is used) and than x on every axis but `axis`. Indices must lie in [0, x.shape[axis]).
 * Differentiable in `x` and `src`.
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  x.assertAlive('scatterAdd', 'x');
  if (x.dtype === 'bool')
    throw new DTypeError('scatterAdd', 'x', 'a float32, float64 or int32 tensor', 'bool');
  const { a, cut } = scatterArgs('scatterAdd', x, axis, index, src);
  try {
    return runOp1(scatterAddOp, [x, index, cut], { axis: a });
  } finally {
    if (cut !== src) cut.dispose();
  }
}

/**
 * `x` with elements replaced by `src` at `index` along `axis`, out of place, as `torch.scatter`: for axis 0,
 * `out[index[i][j][k]][j][k] = src[i][j][k]`. `src` may be a number (written everywhere index points). Shapes
 * and indices as {@link scatterAdd}. Where an index repeats, the CPU writes in row-major order of index (the
 * last write wins); other backends may pick any of the writes, as in PyTorch. Differentiable in `x` and `src`.
 */
export function scatter(x: Tensor, axis: number, index: Tensor, src: Tensor | number): Tensor {
  x.assertAlive('scatter', 'x');
  index.assertAlive('scatter', 'index');
  const s = src instanceof Tensor ? src : full(index.shape, src, { dtype: x.dtype, backend: x.backend.name });
  try {
    const { a, cut } = scatterArgs('scatter', x, axis, index, s);
    try {
      return scatterRaw(x, a, index, cut);
    } finally {
      if (cut !== s) cut.dispose();
    }
  } finally {
    if (s !== src) s.dispose();
  }
}

/**
 * One-hot encoding, as `torch.nn.functional.one_hot`: int32 class indices of any shape become a tensor of
 * shape `[...index.shape, numClasses]` with a 1 at each index (float32 by default; `dtype` picks another).
 * Indices must lie in [0, numClasses).
 */
export function oneHot(index: Tensor, numClasses: number, opts: { dtype?: DType } = {}): Tensor {
  checkIndexDType('oneHot', index);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new ValueError('oneHot', 'numClasses', 'a positive integer', String(numClasses));
  }
  checkIndexValues('oneHot', index, numClasses, 'numClasses');
  const backend = index.backend.name;
  const classes = arange(0, numClasses, 1, { dtype: 'int32', backend });
  const col = reshape(index, [...index.shape, 1]);
  const hit = eq(col, classes);
  const out = cast(hit, opts.dtype ?? 'float32');
  for (const t of [classes, col, hit]) if (t !== out) t.dispose();
  return out;
}
