import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cat,
  chunk,
  concat,
  memory,
  mul,
  randomNormal,
  split,
  stack,
  sum,
  type Tensor,
  tensor,
  unbind,
  valueAndGrad,
} from '../../src/index.js';
import { assertClose, backendsUnderTest, checkGradients, readFlat } from '../../src/testing/index.js';
import { runsFor } from '../helpers.js';

describe.each(backendsUnderTest())('joins on %s', (backend) => {
  const f = (v: number[][] | number[]) => tensor(v, { backend });
  const arr = async (t: Tensor) => t.array();
  const m = () =>
    f([
      [1, 2, 3],
      [4, 5, 6],
    ]);

  describe('concat', () => {
    it('joins along an existing axis (by hand)', async () => {
      expect(await arr(concat([m(), f([[7, 8, 9]])]))).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]);
      expect(
        await arr(concat([m(), f([[0], [1]]), tensor([], { backend, shape: [2, 0] }), m()], -1)),
      ).toEqual([
        [1, 2, 3, 0, 1, 2, 3],
        [4, 5, 6, 1, 4, 5, 6],
      ]);
      const cube = tensor([0, 1, 2, 3, 4, 5, 6, 7], { backend, shape: [2, 2, 2] });
      expect(await arr(concat([cube, cube], 1))).toEqual([
        [
          [0, 1],
          [2, 3],
          [0, 1],
          [2, 3],
        ],
        [
          [4, 5],
          [6, 7],
          [4, 5],
          [6, 7],
        ],
      ]);
      expect(cat).toBe(concat);
    });

    it('promotes dtypes like torch.cat and always copies', async () => {
      const mixed = concat([tensor([1, 2], { dtype: 'int32', backend }), f([0.5])]);
      expect(mixed.dtype).toBe('float32');
      expect(await arr(mixed)).toEqual([1, 2, 0.5]);
      const ib = concat([tensor([true], { backend }), tensor([7], { dtype: 'int32', backend })]);
      expect(ib.dtype).toBe('int32');
      expect(await arr(ib)).toEqual([1, 7]);
      const x = m();
      const one = concat([x]);
      expect(one).not.toBe(x);
      expect(one.storage).not.toBe(x.storage);
      expect(await arr(one)).toEqual(await arr(x));
    });

    it('gives each input its own part of the gradient', async () => {
      const w = f([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const { grads } = valueAndGrad((a, b) => sum(mul(concat([a, b], 1), w)))(
        f([[0], [0]]),
        f([
          [0, 0],
          [0, 0],
        ]),
      );
      await assertClose(grads[0], [[1], [4]]);
      await assertClose(grads[1], [
        [2, 3],
        [5, 6],
      ]);
      const a = randomNormal([2, 3], { seed: 31, backend });
      const b = randomNormal([1, 3], { seed: 32, backend });
      await checkGradients((p, q) => concat([p, q, p], 0), [a, b]);
      await checkGradients((p, q) => concat([q, p], -1), [randomNormal([2, 1], { seed: 33, backend }), a]);
    });

    it('rejects bad inputs', async () => {
      expect(() => concat([])).toThrow(/concat: xs must be a non-empty array of tensors, got \[\]/);
      expect(() => concat([m(), f([1, 2, 3])])).toThrow(
        /concat: xs\[1\] must be of shape \[2, 3\] except along axis 0, like xs\[0\], got \[3\]/,
      );
      expect(() => concat([m(), f([[1, 2]])], 1)).toThrow(
        /concat: xs\[1\] must be of shape \[2, 3\] except along axis 1.*got \[1, 2\]/,
      );
      expect(() => concat([m(), m()], 2)).toThrow(/concat: axis must be an integer in \[-2, 1\], got 2/);
      expect(() => concat([tensor(1, { backend })])).toThrow(
        /concat: xs\[0\] must be a tensor with at least one axis/,
      );
      const gone = m();
      gone.dispose();
      expect(() => concat([m(), gone])).toThrow(/concat: xs\[1\] must be a live tensor/);
    });
  });

  describe('stack', () => {
    it('joins along a new axis (by hand)', async () => {
      const a = f([1, 2]);
      const b = f([3, 4]);
      expect(await arr(stack([a, b]))).toEqual([
        [1, 2],
        [3, 4],
      ]);
      expect(await arr(stack([a, b], 1))).toEqual([
        [1, 3],
        [2, 4],
      ]);
      expect(await arr(stack([a, b], -1))).toEqual([
        [1, 3],
        [2, 4],
      ]);
      expect(stack([m(), m(), m()], 1).shape).toEqual([2, 3, 3]);
      expect(await arr(stack([tensor(5, { backend }), tensor(6, { backend })]))).toEqual([5, 6]);
      await checkGradients(
        (p, q) => stack([p, q], 1),
        [randomNormal([2, 3], { seed: 34, backend }), randomNormal([2, 3], { seed: 35, backend })],
      );
    });

    it('rejects mismatched shapes and axes', async () => {
      expect(() => stack([f([1, 2]), f([1, 2, 3])])).toThrow(
        /stack: xs\[1\] must be shape \[2\] like xs\[0\], got \[3\]/,
      );
      expect(() => stack([f([1, 2])], 2)).toThrow(/stack: axis must be an integer in \[-2, 1\], got 2/);
    });
  });

  describe('split, chunk, unbind', () => {
    it('split by piece size or by a list of sizes, as views', async () => {
      const x = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], { backend, shape: [5, 2] });
      const pieces = split(x, 2);
      expect(pieces.map((p) => p.shape)).toEqual([
        [2, 2],
        [2, 2],
        [1, 2],
      ]);
      expect(await arr(pieces[2])).toEqual([[8, 9]]);
      expect(pieces.every((p) => p.storage === x.storage)).toBe(true);
      const [a, b] = split(x, [1, 1], 1);
      expect(await arr(a)).toEqual([[0], [2], [4], [6], [8]]);
      expect(await arr(b)).toEqual([[1], [3], [5], [7], [9]]);
      expect(split(x, [0, 5, 0]).map((p) => p.shape[0])).toEqual([0, 5, 0]);
      expect(split(x, 7).map((p) => p.shape[0])).toEqual([5]);
    });

    it('chunk follows torch.chunk (fewer pieces when they do not divide)', async () => {
      const x = tensor([0, 1, 2, 3, 4], { backend });
      expect(chunk(x, 4).map((p) => p.shape[0])).toEqual([2, 2, 1]);
      expect(chunk(x, 5).map((p) => p.shape[0])).toEqual([1, 1, 1, 1, 1]);
      expect(chunk(x, 2).map((p) => p.shape[0])).toEqual([3, 2]);
      expect(chunk(x, 9).map((p) => p.shape[0])).toEqual([1, 1, 1, 1, 1]);
      expect(chunk(m(), 3, 1).map((p) => p.shape)).toEqual([
        [2, 1],
        [2, 1],
        [2, 1],
      ]);
    });

    it('unbind removes the axis', async () => {
      const parts = unbind(m(), 1);
      expect(parts.length).toBe(3);
      expect(await Promise.all(parts.map(arr))).toEqual([
        [1, 4],
        [2, 5],
        [3, 6],
      ]);
      expect(await Promise.all(unbind(m()).map(arr))).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]);
    });

    it('gradients flow through the views', async () => {
      const x = randomNormal([3, 4], { seed: 36, backend });
      await checkGradients((t) => concat(split(t, [1, 3], 1).reverse(), 1), [x]);
      await checkGradients((t) => mul(chunk(t, 2, 0)[1], unbind(t, 1)[2].reshape([3, 1]).sum()), [x]);
    });

    it('property: concat then split round-trips', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 0, max: 1 }),
          async (sizes, other, axis) => {
            let next = 0;
            const parts = sizes.map((n) => {
              const shape = axis === 0 ? [n, other] : [other, n];
              const vals = Array.from({ length: n * other }, () => next++);
              return tensor(vals, { backend, shape });
            });
            const back = split(concat(parts, axis), sizes, axis);
            expect(back.map((p) => p.shape)).toEqual(parts.map((p) => p.shape));
            for (const [k, p] of back.entries()) expect(await readFlat(p)).toEqual(await readFlat(parts[k]));
          },
        ),
        { numRuns: runsFor(backend, 100, 15) },
      );
    });

    it('rejects bad sizes', async () => {
      const x = m();
      expect(() => split(x, [1, 2])).toThrow(
        /split: sizeOrSections must be non-negative integers adding up to 2 \(the size of x along axis 0\), got \[1, 2\]/,
      );
      expect(() => split(x, 0)).toThrow(
        /split: sizeOrSections must be a positive integer or an array of sizes, got 0/,
      );
      expect(() => split(tensor(1, { backend }), 1)).toThrow(
        /split: x must be a tensor with at least one axis/,
      );
      expect(() => chunk(x, 0)).toThrow(/chunk: chunks must be a positive integer, got 0/);
      expect(() => unbind(x, 3)).toThrow(/unbind: axis must be an integer in \[-2, 1\], got 3/);
    });
  });

  it('leaves no tensors behind', async () => {
    const before = memory(backend);
    const x = randomNormal([4, 3], { seed: 37, backend });
    const { value, grads } = valueAndGrad((t) => {
      const [a, b] = split(t, 2, 0);
      return sum(mul(stack([a, b], 0), concat([b, a], 0).reshape([2, 2, 3])));
    })(x);
    for (const t of [x, value, ...grads]) t.dispose();
    expect(memory(backend)).toEqual(before);
  });
});
