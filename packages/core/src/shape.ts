import { fmtShape, ShapeError, ValueError } from './errors.js';

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Whether strides describe a row-major layout of `shape` (axes of size 1 may have any stride). */
export function isRowMajor(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/** Checks that a shape is a list of non-negative integers. */
export function checkShape(op: string, arg: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(op, arg, 'a list of non-negative integers', String(JSON.stringify(shape)));
  }
}

/** Turns a possibly negative axis into 0..rank-1, with a clear error when it is out of range. */
export function normalizeAxis(op: string, axis: number, rank: number, arg = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ValueError(op, arg, `an integer in [${-rank}, ${Math.max(rank, 1) - 1}]`, String(axis));
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Normalises an axis argument for reductions: undefined means all axes; a number or list is normalised,
 * sorted and checked for repeats.
 */
export function normalizeAxes(
  op: string,
  axis: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(out).size !== out.length) {
    throw new ValueError(op, 'axis', 'distinct axes', JSON.stringify(list));
  }
  return out.sort((a, b) => a - b);
}

/** The NumPy broadcast of two shapes, or a ShapeError naming both. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, 'shapes', 'broadcastable', `${fmtShape(a)} and ${fmtShape(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Whether two shapes are equal. */
export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Strides that read a tensor of `shape` (row-major) as if broadcast to `target`: broadcast axes get stride 0.
 * Used by CPU kernels to index broadcast operands without materialising them.
 */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const strides = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  const off = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[i + off] = shape[i] === 1 ? 0 : strides[i];
  return out;
}
