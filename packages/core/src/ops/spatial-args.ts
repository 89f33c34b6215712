import { ValueError } from '../errors.js';

/** A per-axis argument of a spatial op (stride, padding, kernel size): one number for every axis, or a list. */
export type SpatialArg = number | readonly number[];

/**
 * `v` as `n` integers of at least `min` (`def` on every axis when `v` is undefined and a default exists), or
 * a ValueError naming `arg`. Shared by convolution and pooling so both check and word it the same way.
 */
export function perAxis(
  op: string,
  arg: string,
  v: SpatialArg | undefined,
  n: number,
  min: number,
  def?: number,
): number[] {
  const list =
    v === undefined
      ? def === undefined
        ? []
        : new Array<number>(n).fill(def)
      : typeof v === 'number'
        ? new Array<number>(n).fill(v)
        : [...v];
  if (list.length !== n || list.some((d) => !Number.isInteger(d) || d < min)) {
    const kind = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new ValueError(op, arg, `${kind} or a list of ${n}`, JSON.stringify(v));
  }
  return list;
}
