import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argmax,
  argmin,
  logsumexp,
  max,
  mean,
  min,
  randomNormal,
  std,
  sum,
  sumToShape,
  tensor,
  variance,
  zeros,
} from '../../src/index.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  expectValues,
  readFlat,
  readItem,
} from '../../src/testing/index.js';
import { alongAxis, randomShape, runsFor } from '../helpers.js';

describe.each(backendsUnderTest())('reductions on %s', (backend) => {
  const x = () =>
    tensor(
      [
        [1, 5, 2],
        [7, -3, 4],
      ],
      { backend },
    );

  it('sum and mean over axes, with keepDims', async () => {
    expect(await readItem(sum(x()))).toBe(16);
    await expectValues(sum(x(), { axis: 0 }), [8, 2, 6]);
    await expectValues(sum(x(), { axis: -1, keepDims: true }), [[8], [8]]);
    expect(sum(x(), { axis: [0, 1] }).shape).toEqual([]);
    await expectValues(mean(x(), { axis: 1 }), [8 / 3, 8 / 3].map(Math.fround));
    expect(await readItem(sum(tensor([true, true, false], { backend })))).toBe(2);
    expect(mean(tensor([1, 2], { dtype: 'int32', backend })).dtype).toBe('float32');
    expect(await readItem(sum(tensor([], { backend })))).toBe(0);
  });

  it('max, min, argmax, argmin', async () => {
    await expectValues(max(x(), { axis: 1 }), [5, 7]);
    await expectValues(min(x(), { axis: 0 }), [1, -3, 2]);
    expect(await readItem(max(x()))).toBe(7);
    expect(await readItem(argmax(x()))).toBe(3);
    await expectValues(argmax(x(), { axis: 1 }), [1, 0]);
    await expectValues(argmin(x(), { axis: 0, keepDims: true }), [[0, 1, 0]]);
    expect(await readItem(argmax(tensor([2, 9, 9, 1], { backend })))).toBe(1);
    expect(() => max(tensor([], { backend }))).toThrow(/max: x must be a non-empty tensor/);
  });

  it('variance and std with Bessel correction', async () => {
    // Row 0: 1, 5, 2 -> mean 8/3, squared deviations sum 8.6667; row 1: 7, -3, 4 -> mean 8/3, 50.6667.
    const ss = [
      [1, 5, 2],
      [7, -3, 4],
    ].map((r) => r.reduce((a, v) => a + (v - 8 / 3) ** 2, 0));
    await assertClose(
      variance(x(), { axis: 1 }),
      ss.map((s) => s / 2),
    );
    await assertClose(
      variance(x(), { axis: 1, correction: 0 }),
      ss.map((s) => s / 3),
    );
    await assertClose(
      std(x(), { axis: 1 }),
      ss.map((s) => Math.sqrt(s / 2)),
    );
  });

  it('logsumexp is stable for large values', async () => {
    const big = tensor(
      [
        [1000, 1000],
        [-1000, -1001],
      ],
      { backend },
    );
    await assertClose(logsumexp(big, { axis: 1 }), [1000 + Math.log(2), -1000 + Math.log(1 + Math.exp(-1))]);
    const neg = tensor([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], { backend });
    expect(await readItem(logsumexp(neg))).toBe(Number.NEGATIVE_INFINITY);
  });

  it('gradients', async () => {
    const r = randomNormal([3, 4, 2], { seed: 7, backend });
    await checkGradients((t) => sum(t, { axis: [0, 2] }), [r]);
    await checkGradients((t) => mean(t, { axis: 1, keepDims: true }), [r]);
    await checkGradients((t) => max(t, { axis: 1 }), [r]);
    await checkGradients((t) => min(t), [r]);
    await checkGradients((t) => logsumexp(t, { axis: [1, 2] }), [r]);
    await checkGradients((t) => variance(t, { axis: 0 }), [r]);
    await checkGradients((t) => std(t, { axis: 2 }), [r]);
  });

  it('max shares the gradient between ties', async () => {
    const t = tensor([3, 1, 3], { backend }).setRequiresGrad();
    max(t).backward();
    expect(await readFlat(t.grad!)).toEqual([0.5, 0, 0.5]);
  });

  it('sumToShape undoes broadcasting', async () => {
    const g = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { backend },
    );
    await expectValues(sumToShape(g, [3]), [5, 7, 9]);
    await expectValues(sumToShape(g, [2, 1]), [[6], [15]]);
    expect(await readItem(sumToShape(g, []))).toBe(21);
  });

  it('property: sum, max and logsumexp along an axis of random shapes match plain loops', async () => {
    await fc.assert(
      fc.asyncProperty(randomShape(), fc.nat(), fc.nat(), async (shape, a, seed) => {
        const axis = a % shape.length;
        const x = randomNormal(shape, { seed, backend });
        const v = await x.data();
        const lse = (lane: number[]) => {
          const m = Math.max(...lane);
          return [m + Math.log(lane.reduce((s, e) => s + Math.exp(e - m), 0))];
        };
        await assertClose(
          sum(x, { axis }),
          alongAxis(v, shape, axis, (lane) => [lane.reduce((s, e) => s + e, 0)]),
        );
        await assertClose(
          max(x, { axis }),
          alongAxis(v, shape, axis, (lane) => [Math.max(...lane)]),
        );
        await assertClose(logsumexp(x, { axis }), alongAxis(v, shape, axis, lse));
      }),
      { numRuns: runsFor(backend, 40, 6) },
    );
  });

  it('reductions over an empty axis give their identity', async () => {
    const e = zeros([2, 0, 3], { backend });
    await expectValues(sum(e, { axis: 1 }), [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    await expectValues(logsumexp(e, { axis: [0, 1] }), [-Infinity, -Infinity, -Infinity]);
    expect((await readFlat(mean(e, { axis: 1 }))).every(Number.isNaN)).toBe(true);
  });

  it('rejects bad axes', async () => {
    expect(() => sum(x(), { axis: 2 })).toThrow(/sum: axis must be an integer in \[-2, 1\], got 2/);
    expect(() => sum(x(), { axis: [0, -2] })).toThrow(/sum: axis must be distinct axes/);
    expect(() => logsumexp(tensor([1], { dtype: 'int32', backend }))).toThrow(
      /logsumexp: x must be a floating-point tensor/,
    );
  });
});
