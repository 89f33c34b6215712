import { randomNormal, softmax } from '@attnkit/core';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { na2d, neighborhoodAv, neighborhoodQk } from '../src/index.js';

describe('neighborhoodQk / neighborhoodAv (NATTEN legacy na*d_qk / na*d_av)', () => {
  const r = (shape: number[], seed: number) => randomNormal(shape, { seed, backend: 'cpu' });
  const q = r([1, 5, 6, 4, 3], 1);
  const k = r([1, 5, 6, 2, 3], 2);
  const v = r([1, 5, 6, 2, 5], 3);
  const rpb = r([4, 5, 3], 4);
  const win = { kernelSize: [3, 2], dilation: [1, 2], stride: [2, 1] };

  it('softmax between them gives the fused result (scale passed explicitly, default 1)', () => {
    const logits = neighborhoodQk(q, k, { ...win, rpb, scale: 0.5 });
    expect(logits.shape).toEqual([1, 5, 6, 4, 6]);
    const out = neighborhoodAv(softmax(logits, -1), v, win);
    const fused = na2d(q, k, v, { ...win, rpb, scale: 0.5 });
    const tol = toleranceFor('cpu');
    expect(
      compareArrays(Float64Array.from(out.dataSync()), Float64Array.from(fused.dataSync()), tol).bad,
    ).toBe(0);
    const unscaled = neighborhoodQk(q, k, win).dataSync();
    const scaled = neighborhoodQk(q, k, { ...win, scale: 2 }).dataSync();
    expect(
      compareArrays(
        Float64Array.from(scaled),
        Float64Array.from(unscaled, (x) => 2 * x),
        tol,
      ).bad,
    ).toBe(0);
  });

  it('marks causal slots -Infinity', () => {
    const logits = neighborhoodQk(q, k, { kernelSize: 3, isCausal: [true, false] }).dataSync();
    // Query row 0 sees only row 0: the slots of window rows 1 and 2 (the last 6 of 9) are masked.
    expect([...logits.slice(0, 9)].map((x) => x === Number.NEGATIVE_INFINITY)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('checks its arguments', () => {
    expect(() => neighborhoodAv(r([1, 5, 6, 4, 5], 5), v, win)).toThrow(
      /neighborhoodAv: weights must be \[\.\.\., heads, prod\(kernelSize\) = 6\], got \[1, 5, 6, 4, 5\]/,
    );
    expect(() => neighborhoodAv(r([1, 5, 6, 3, 6], 5), v, win)).toThrow(
      /neighborhoodAv: v must be a number of heads dividing the weights' 3, got 2 heads/,
    );
    expect(() => neighborhoodQk(q, k, { kernelSize: 7 })).toThrow(
      /neighborhoodQk: kernelSize\[0\] \* dilation\[0\]/,
    );
    expect(() => neighborhoodQk(r([5, 4, 3], 1), k, win)).toThrow(
      /neighborhoodQk: q must be a tensor \[batch/,
    );
  });
});
