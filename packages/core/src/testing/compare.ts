import { fmtShape, ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Tolerance, toleranceFor } from './tolerances.js';

/** Where two arrays differ most, for assertion messages. */
export interface Discrepancy {
  /** Largest |actual - expected|. */
  maxAbs: number;
  /** Index of the worst element (the one furthest past its tolerance). */
  worst: number;
  /** Number of elements outside tolerance. */
  bad: number;
}

/** Compares element-wise with `|a - e| <= atol + rtol * |e|`; NaN matches only NaN, infinities must be equal. */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): Discrepancy {
  let maxAbs = 0;
  let worst = -1;
  let worstExcess = Number.NEGATIVE_INFINITY;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    let excess: number;
    if (Number.isNaN(e) || Number.isNaN(a))
      excess = Number.isNaN(e) && Number.isNaN(a) ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    else if (!Number.isFinite(e) || !Number.isFinite(a))
      excess = a === e ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    else {
      const d = Math.abs(a - e);
      maxAbs = Math.max(maxAbs, d);
      excess = d - (tol.atol + tol.rtol * Math.abs(e));
    }
    if (excess > 0) bad++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  return { maxAbs, worst, bad };
}

/**
 * Throws unless `actual` matches `expected` (a tensor or nested/flat numbers) in shape and values within the
 * tolerance of `actual`'s backend (or `tol`). The message names the worst element.
 */
export async function assertClose(
  actual: Tensor,
  expected: Tensor | ArrayLike<number> | number[][] | number,
  tol?: Partial<Tolerance>,
): Promise<void> {
  const t = { ...toleranceFor(actual.backend.name), ...tol };
  let exp: ArrayLike<number>;
  if (typeof expected === 'number') exp = [expected];
  else if ((expected as Tensor).__isTensor) {
    const e = expected as Tensor;
    if (e.shape.length !== actual.shape.length || e.shape.some((d, i) => d !== actual.shape[i])) {
      throw new ShapeError('assertClose', 'actual', fmtShape(e.shape), fmtShape(actual.shape));
    }
    exp = await e.data();
  } else
    exp = (expected as ArrayLike<number>[]).flat
      ? (expected as unknown as number[][]).flat(Number.POSITIVE_INFINITY as 1)
      : (expected as ArrayLike<number>);
  const act = await actual.data();
  if (act.length !== exp.length)
    throw new ShapeError('assertClose', 'actual', `${exp.length} elements`, String(act.length));
  const d = compareArrays(act, exp, t);
  if (d.bad > 0) {
    throw new ValueError(
      'assertClose',
      `actual (${actual.backend.name}, shape ${fmtShape(actual.shape)})`,
      `within atol ${t.atol} + rtol ${t.rtol} of expected`,
      `${d.bad} elements off; worst at flat index ${d.worst}: ${act[d.worst]} vs ${exp[d.worst]} (max abs error ${d.maxAbs})`,
    );
  }
}
