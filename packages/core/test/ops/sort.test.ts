import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argsort,
  memory,
  mul,
  randomNormal,
  round,
  sort,
  sum,
  type Tensor,
  tensor,
  topk,
  valueAndGrad,
} from '../../src/index.js';
import { assertClose, backendsUnderTest, checkGradients, readFlat } from '../../src/testing/index.js';
import { alongAxis, randomShape, runsFor } from '../helpers.js';

const NaN_ = Number.NaN;
const INF = Number.POSITIVE_INFINITY;

describe.each(backendsUnderTest())('sorting on %s', (backend) => {
  const f = (v: number[][] | number[] | number) => tensor(v, { backend });
  const arr = async (t: Tensor) => t.array();

  describe('sort and argsort', () => {
    it('sorts along the last axis by default, or any axis (by hand)', async () => {
      const { values, indices } = sort(f([3, 1, 2]));
      expect(await arr(values)).toEqual([1, 2, 3]);
      expect(indices.dtype).toBe('int32');
      expect(await arr(indices)).toEqual([1, 2, 0]);
      const m = f([
        [5, 1, 4],
        [2, 8, 3],
      ]);
      expect(await arr(sort(m, { descending: true }).values)).toEqual([
        [5, 4, 1],
        [8, 3, 2],
      ]);
      const cols = sort(m, { axis: 0 });
      expect(await arr(cols.values)).toEqual([
        [2, 1, 3],
        [5, 8, 4],
      ]);
      expect(await arr(cols.indices)).toEqual([
        [1, 0, 1],
        [0, 1, 0],
      ]);
      expect(await arr(argsort(m, { axis: -2, descending: true }))).toEqual([
        [0, 1, 0],
        [1, 0, 1],
      ]);
    });

    it('puts NaN above every number and keeps ties in index order, both directions', async () => {
      const x = f([2, NaN_, 1, NaN_, -INF, 1, INF]);
      const up = sort(x);
      expect(await arr(up.values)).toEqual([-INF, 1, 1, 2, INF, NaN_, NaN_]);
      expect(await arr(up.indices)).toEqual([4, 2, 5, 0, 6, 1, 3]);
      const down = sort(x, { descending: true });
      expect(await arr(down.values)).toEqual([NaN_, NaN_, INF, 2, 1, 1, -INF]);
      expect(await arr(down.indices)).toEqual([1, 3, 6, 0, 2, 5, 4]);
      // -0 and 0 compare equal, so they keep their order.
      expect(await arr(argsort(f([0, -0, 0, -1])))).toEqual([3, 0, 1, 2]);
      expect(await arr(argsort(f([0, -0, 0, -1]), { descending: true }))).toEqual([0, 1, 2, 3]);
    });

    it('sorts int32 and bool tensors and 0-d tensors', async () => {
      const ints = sort(tensor([3, -7, 3, 0], { dtype: 'int32', backend }));
      expect(ints.values.dtype).toBe('int32');
      expect(await arr(ints.values)).toEqual([-7, 0, 3, 3]);
      expect(await arr(ints.indices)).toEqual([1, 3, 0, 2]);
      expect(await arr(argsort(tensor([true, false, true], { backend })))).toEqual([1, 0, 2]);
      const s = sort(f(4));
      expect(s.values.shape).toEqual([]);
      expect(await arr(s.values)).toBe(4);
      expect(await arr(s.indices)).toBe(0);
    });

    it('property: output is ordered, a permutation, and stable', async () => {
      const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(NaN_), fc.double({ noNaN: true }));
      await fc.assert(
        fc.asyncProperty(fc.array(value, { maxLength: 20 }), fc.boolean(), async (xs, descending) => {
          // WGSL lets a GPU flush float32 subnormals to zero (SwiftShader does), so off the CPU they become 0.
          const flush = (u: number) => (backend !== 'cpu' && Math.abs(u) < 2 ** -126 ? 0 : u);
          const x32 = xs.map((u) => flush(Math.fround(u)));
          const { values, indices } = sort(tensor(x32, { backend }), { descending });
          const v = await readFlat(values);
          const p = await readFlat(indices);
          expect([...p].sort((a, b) => a - b)).toEqual(x32.map((_, k) => k));
          for (let k = 0; k < p.length; k++) expect(Object.is(v[k], x32[p[k]])).toBe(true);
          // rank: NaN above everything; within equal values, increasing original index.
          const key = (u: number) => (Number.isNaN(u) ? INF : u);
          for (let k = 1; k < p.length; k++) {
            const [a, b] = [v[k - 1], v[k]];
            const bothNaN = Number.isNaN(a) && Number.isNaN(b);
            const tie = bothNaN || (!Number.isNaN(a) && !Number.isNaN(b) && a === b);
            if (tie) expect(p[k]).toBeGreaterThan(p[k - 1]);
            else if (descending) expect(Number.isNaN(a) || key(a) > key(b)).toBe(true);
            else expect(Number.isNaN(b) || key(a) < key(b)).toBe(true);
          }
        }),
        { numRuns: runsFor(backend, 200, 20) },
      );
    });

    it('sends the gradient of the values back to where they came from', async () => {
      const { grads } = valueAndGrad((x) => sum(mul(sort(x).values, f([1, 2, 3]))))(f([3, 1, 2]));
      await assertClose(grads[0], [3, 1, 2]);
      const x = randomNormal([3, 4], { seed: 11, backend });
      await checkGradients((t) => sort(t).values, [x]);
      await checkGradients((t) => sort(t, { axis: 0, descending: true }).values, [x]);
    });

    it('property: argsort along an axis of random shapes is the stable sort of each lane', async () => {
      await fc.assert(
        fc.asyncProperty(
          randomShape(),
          fc.nat(),
          fc.nat(),
          fc.boolean(),
          async (shape, a, seed, descending) => {
            const axis = a % shape.length;
            // Rounded to a few values, so ties (kept in index order) are common.
            const x = round(mul(randomNormal(shape, { seed, backend }), 2));
            const order = (lane: number[]) =>
              lane
                .map((_, k) => k)
                .sort((p, q) => (descending ? lane[q] - lane[p] : lane[p] - lane[q]) || p - q);
            const want = alongAxis(await x.data(), shape, axis, order);
            expect(await readFlat(argsort(x, { axis, descending }))).toEqual(want);
          },
        ),
        { numRuns: runsFor(backend, 30, 2) },
      );
    });

    it('rejects bad options', async () => {
      expect(() => sort(f([1, 2]), { axis: 1 })).toThrow(/sort: axis must be an integer in \[-1, 0\], got 1/);
      expect(() => argsort(f([1, 2]), { descending: 1 as unknown as boolean })).toThrow(
        /argsort: descending must be a boolean, got 1/,
      );
    });
  });

  describe('topk', () => {
    it('returns the k largest or smallest, best first (by hand)', async () => {
      const x = f([
        [1, 9, 3, 7],
        [4, 4, 8, 0],
      ]);
      const t = topk(x, 2);
      expect(await arr(t.values)).toEqual([
        [9, 7],
        [8, 4],
      ]);
      expect(await arr(t.indices)).toEqual([
        [1, 3],
        [2, 0],
      ]);
      const small = topk(x, 3, { largest: false });
      expect(await arr(small.values)).toEqual([
        [1, 3, 7],
        [0, 4, 4],
      ]);
      expect(await arr(small.indices)).toEqual([
        [0, 2, 3],
        [3, 0, 1],
      ]);
      const cols = topk(x, 1, { axis: 0 });
      expect(await arr(cols.values)).toEqual([[4, 9, 8, 7]]);
      expect(await arr(cols.indices)).toEqual([[1, 0, 1, 0]]);
    });

    it('unsorted keeps the original order; NaN counts as largest; k may be 0 or n', async () => {
      const x = f([5, NaN_, 1, 8, 2]);
      const u = topk(x, 3, { sorted: false });
      expect(await arr(u.indices)).toEqual([0, 1, 3]);
      expect(await arr(u.values)).toEqual([5, NaN_, 8]);
      expect(await arr(topk(x, 2).values)).toEqual([NaN_, 8]);
      expect(await arr(topk(x, 2, { largest: false }).indices)).toEqual([2, 4]);
      expect(topk(x, 0).values.shape).toEqual([0]);
      expect(await arr(topk(x, 5, { largest: false }).indices)).toEqual([2, 4, 0, 3, 1]);
    });

    it('gradients', async () => {
      const { grads } = valueAndGrad((x) => sum(mul(topk(x, 2).values, f([10, 1]))))(f([1, 3, 2]));
      await assertClose(grads[0], [0, 10, 1]);
      const x = randomNormal([3, 5], { seed: 12, backend });
      await checkGradients((t) => topk(t, 2).values, [x]);
      await checkGradients((t) => topk(t, 2, { axis: 0, largest: false, sorted: false }).values, [x]);
    });

    it('rejects bad k and options', async () => {
      const x = f([1, 2, 3]);
      expect(() => topk(x, 4)).toThrow(
        /topk: k must be an integer in \[0, 3\] \(the size of x along axis 0\), got 4/,
      );
      expect(() => topk(x, 1.5)).toThrow(/topk: k must be an integer/);
      expect(() => topk(x, 1, { sorted: 'yes' as unknown as boolean })).toThrow(
        /topk: sorted must be a boolean/,
      );
    });
  });

  it('leaves no tensors behind', async () => {
    const before = memory(backend);
    const x = randomNormal([4, 3], { seed: 13, backend });
    const { value, grads } = valueAndGrad((t) => sum(mul(sort(t, { axis: 0 }).values, topk(t, 3).values)))(x);
    const one = f(1);
    const s = sort(one);
    for (const t of [x, value, ...grads, one, s.values, s.indices]) t.dispose();
    expect(memory(backend)).toEqual(before);
  });
});
