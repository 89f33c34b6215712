import { fmtShape, ShapeError } from '../errors.js';
import type { NestedArray, Tensor } from '../tensor/tensor.js';
import { assertClose } from './compare.js';
import type { Tolerance } from './tolerances.js';

/**
 * The values of `t` as a plain array (bools as 0/1), read asynchronously: works on every backend, WebGPU
 * included, which cannot read synchronously. For exact checks of integer and bool results.
 */
export async function readFlat(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** The shape of a (rectangular) nested array: `[]` for a number. */
function nestedShape(v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

/** The numbers of a nested array in row-major order. */
function flatten(v: NestedArray, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const e of v) flatten(e, out);
  else out.push(v);
  return out;
}

/**
 * Throws unless `actual` has the shape of the nested array `expected` (a number for a 0-d tensor) and its
 * values match within the tolerance of `actual`'s backend (or `tol`), read asynchronously so the check runs
 * on every backend. NaN matches only NaN, so elements a kernel left unwritten (poisoned with NaN in the
 * backend suites) fail.
 */
export async function expectValues(
  actual: Tensor,
  expected: NestedArray,
  tol?: Partial<Tolerance>,
): Promise<void> {
  const shape = nestedShape(expected);
  if (shape.length !== actual.shape.length || shape.some((d, i) => d !== actual.shape[i])) {
    throw new ShapeError('expectValues', 'actual', fmtShape(shape), fmtShape(actual.shape));
  }
  await assertClose(actual, flatten(expected), tol);
}

/** The single value of a one-element tensor, read asynchronously (the async counterpart of `item()`). */
export async function readItem(t: Tensor): Promise<number> {
  if (t.size !== 1) throw new ShapeError('readItem', 't', 'a tensor with one element', fmtShape(t.shape));
  return (await t.data())[0];
}
