import { randomNormal, type Tensor } from '@attnkit/core';
import { compareArrays, type Tolerance } from '@attnkit/core/testing';
import { expect } from 'vitest';

/** Element-wise |a - e| <= atol + rtol |e| over two flat arrays, with the worst element in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  expect(actual.length).toBe(expected.length);
  const d = compareArrays(actual, expected, tol);
  if (d.bad > 0) {
    throw new Error(
      `${d.bad} elements off; worst at ${d.worst}: ${actual[d.worst]} vs ${expected[d.worst]} (max abs ${d.maxAbs})`,
    );
  }
}

/** Tight tolerance for two float64 computations of the same quantity in different orders. */
export const F64: Tolerance = { atol: 1e-11, rtol: 1e-10 };

/** A standard-normal tensor (float64 unless asked otherwise) from a seed. */
export function rand(
  shape: number[],
  seed: number,
  opts: { backend?: string; dtype?: 'float32' | 'float64'; scale?: number } = {},
): Tensor {
  const t = randomNormal(shape, { seed, backend: opts.backend ?? 'cpu' });
  const c = (opts.dtype ?? 'float64') === 'float64' ? t.cast('float64') : t;
  return opts.scale !== undefined ? c.mul(opts.scale) : c;
}
