import { ValueError } from '../../errors.js';

/** Throws unless `v` is an integer of at least `min` (sizes and counts given to layer constructors). */
export function checkInt(op: string, arg: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) {
    const what =
      min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new ValueError(op, arg, what, String(v));
  }
}

/** Throws unless `v` is a finite number in `[lo, hi]` (probabilities, momenta, epsilons). */
export function checkRange(op: string, arg: string, v: number, lo: number, hi: number): void {
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) {
    throw new ValueError(op, arg, `a number in [${lo}, ${hi}]`, String(v));
  }
}

/** PyTorch's spelling of a boolean in reprs. */
export const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/** A number as Python prints it in reprs (`1e-05`, `0.1`). */
export function pyNum(v: number): string {
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}
