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
} from '../../src/index.js';
import { assertClose, backendsUnderTest, gradcheck } from '../../src/testing/index.js';

describe.each(backendsUnderTest())('reductions on %s', (backend) => {
  const x = () =>
    tensor(
      [
        [1, 5, 2],
        [7, -3, 4],
      ],
      { backend },
    );

  it('sum and mean over axes, with keepDims', () => {
    expect(sum(x()).item()).toBe(16);
    expect(sum(x(), { axis: 0 }).toArray()).toEqual([8, 2, 6]);
    expect(sum(x(), { axis: -1, keepDims: true }).toArray()).toEqual([[8], [8]]);
    expect(sum(x(), { axis: [0, 1] }).shape).toEqual([]);
    expect(mean(x(), { axis: 1 }).toArray()).toEqual([8 / 3, 8 / 3].map(Math.fround));
    expect(sum(tensor([true, true, false], { backend })).item()).toBe(2);
    expect(mean(tensor([1, 2], { dtype: 'int32', backend })).dtype).toBe('float32');
    expect(sum(tensor([], { backend })).item()).toBe(0);
  });

  it('max, min, argmax, argmin', () => {
    expect(max(x(), { axis: 1 }).toArray()).toEqual([5, 7]);
    expect(min(x(), { axis: 0 }).toArray()).toEqual([1, -3, 2]);
    expect(max(x()).item()).toBe(7);
    expect(argmax(x()).item()).toBe(3);
    expect(argmax(x(), { axis: 1 }).toArray()).toEqual([1, 0]);
    expect(argmin(x(), { axis: 0, keepDims: true }).toArray()).toEqual([[0, 1, 0]]);
    expect(argmax(tensor([2, 9, 9, 1], { backend })).item()).toBe(1);
    expect(() => max(tensor([], { backend }))).toThrow(/max: x must be a non-empty tensor/);
  });

  it('variance and std with Bessel correction', () => {
    // Row 0: 1, 5, 2 -> mean 8/3, squared deviations sum 8.6667.
    const ss = (1 - 8 / 3) ** 2 + (5 - 8 / 3) ** 2 + (2 - 8 / 3) ** 2;
    expect(variance(x(), { axis: 1 }).dataSync()[0]).toBeCloseTo(ss / 2, 5);
    expect(variance(x(), { axis: 1, correction: 0 }).dataSync()[0]).toBeCloseTo(ss / 3, 5);
    expect(std(x(), { axis: 1 }).dataSync()[0]).toBeCloseTo(Math.sqrt(ss / 2), 5);
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
    expect(logsumexp(neg).item()).toBe(Number.NEGATIVE_INFINITY);
  });

  it('gradients', () => {
    const r = randomNormal([3, 4, 2], { seed: 7, backend });
    gradcheck((t) => sum(t, { axis: [0, 2] }), [r]);
    gradcheck((t) => mean(t, { axis: 1, keepDims: true }), [r]);
    gradcheck((t) => max(t, { axis: 1 }), [r]);
    gradcheck((t) => min(t), [r]);
    gradcheck((t) => logsumexp(t, { axis: [1, 2] }), [r]);
    gradcheck((t) => variance(t, { axis: 0 }), [r]);
    gradcheck((t) => std(t, { axis: 2 }), [r]);
  });

  it('max shares the gradient between ties', () => {
    const t = tensor([3, 1, 3], { backend }).setRequiresGrad();
    max(t).backward();
    expect(Array.from(t.grad!.dataSync())).toEqual([0.5, 0, 0.5]);
  });

  it('sumToShape undoes broadcasting', () => {
    const g = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { backend },
    );
    expect(sumToShape(g, [3]).toArray()).toEqual([5, 7, 9]);
    expect(sumToShape(g, [2, 1]).toArray()).toEqual([[6], [15]]);
    expect(sumToShape(g, []).item()).toBe(21);
  });

  it('rejects bad axes', () => {
    expect(() => sum(x(), { axis: 2 })).toThrow(/sum: axis must be an integer in \[-2, 1\], got 2/);
    expect(() => sum(x(), { axis: [0, -2] })).toThrow(/sum: axis must be distinct axes/);
    expect(() => logsumexp(tensor([1], { dtype: 'int32', backend }))).toThrow(
      /logsumexp: x must be a floating-point tensor/,
    );
  });
});
