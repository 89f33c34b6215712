import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arange,
  broadcastShapes,
  contiguous,
  expand,
  flatten,
  memory,
  mul,
  narrow,
  permute,
  randomNormal,
  reshape,
  slice,
  squeeze,
  sum,
  tensor,
  tidy,
  transpose,
  unsqueeze,
} from '../../src/index.js';
import { backendsUnderTest, gradcheck } from '../../src/testing/index.js';

/** Row-major index arithmetic written independently of the strided views. */
function at(shape: number[], data: ArrayLike<number>, idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return data[flat];
}

describe.each(backendsUnderTest())('views on %s', (backend) => {
  const grid = () => reshape(arange(24, undefined, 1, { dtype: 'float32', backend }), [2, 3, 4]);

  it('reshape shares storage and infers -1', () => {
    const x = grid();
    const y = reshape(x, [4, -1]);
    expect(y.shape).toEqual([4, 6]);
    expect(y.storage).toBe(x.storage);
    expect(() => reshape(x, [5, -1])).toThrow(/reshape: shape must be a shape with 24 elements/);
    expect(() => reshape(x, [-1, -1])).toThrow(/at most one -1/);
  });

  it('permute and transpose are views with the right elements', () => {
    const x = grid();
    const p = permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.storage).toBe(x.storage);
    expect(p.isContiguous).toBe(false);
    const xd = x.dataSync();
    const pd = p.dataSync();
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++) {
          expect(at([4, 2, 3], pd, [a, b, c])).toBe(at([2, 3, 4], xd, [b, c, a]));
        }
    expect(transpose(tensor([[1, 2, 3]], { backend })).toArray()).toEqual([[1], [2], [3]]);
    expect(() => permute(x, [0, 0, 1])).toThrow(/permute: axes must be a permutation/);
    expect(() => permute(x, [0, 1])).toThrow(/permute: axes must be 3 axes/);
  });

  it('reshape of a non-contiguous view copies, as PyTorch', () => {
    const t = transpose(grid(), 1, 2);
    const r = reshape(t, [2, 12]);
    expect(r.storage).not.toBe(t.storage);
    expect(Array.from(r.dataSync().slice(0, 6))).toEqual([0, 4, 8, 1, 5, 9]);
  });

  it('slice with indices, ranges, steps and negatives', () => {
    const x = grid();
    expect(slice(x, [1, null, 0]).toArray()).toEqual([12, 16, 20]);
    expect(slice(x, [null, [1, 3], [0, 4, 2]]).toArray()).toEqual([
      [
        [4, 6],
        [8, 10],
      ],
      [
        [16, 18],
        [20, 22],
      ],
    ]);
    expect(slice(x, [-1, -1]).toArray()).toEqual([20, 21, 22, 23]);
    expect(slice(x, [null, [-2]]).shape).toEqual([2, 2, 4]);
    expect(slice(x, [null, [5, 9]]).shape).toEqual([2, 0, 4]);
    expect(slice(x, [1]).storage).toBe(x.storage);
    expect(() => slice(x, [2])).toThrow(/slice: index on axis 0 must be an integer in \[-2, 1\], got 2/);
    expect(() => slice(x, [null, [0, 2, 0]])).toThrow(/slice: step on axis 1 must be a positive integer/);
    expect(narrow(x, 2, 1, 2).toArray()).toEqual(slice(x, [null, null, [1, 3]]).toArray());
  });

  it('expand broadcasts with stride 0', () => {
    const x = tensor([[1], [2]], { backend });
    const e = expand(x, [3, 2, 4]);
    expect(e.strides).toEqual([0, 1, 0]);
    expect(e.storage).toBe(x.storage);
    expect(sum(e).item()).toBe(36);
    expect(expand(x, [-1, 3]).shape).toEqual([2, 3]);
    expect(() => expand(x, [3, 3])).toThrow(/expand: shape must be compatible with \[2, 1\]/);
  });

  it('squeeze, unsqueeze, flatten', () => {
    const x = reshape(grid(), [2, 1, 3, 1, 4]);
    expect(squeeze(x).shape).toEqual([2, 3, 4]);
    expect(squeeze(x, 3).shape).toEqual([2, 1, 3, 4]);
    expect(() => squeeze(x, 0)).toThrow(/squeeze: axis must be an axis of size 1/);
    expect(unsqueeze(grid(), -1).shape).toEqual([2, 3, 4, 1]);
    expect(flatten(grid(), 1).shape).toEqual([2, 12]);
    expect(flatten(tensor(3, { backend })).shape).toEqual([1]);
  });

  it('gradients flow through every view', () => {
    const x = randomNormal([2, 3, 4], { seed: 1, backend });
    gradcheck((t) => mul(permute(t, [1, 2, 0]), permute(t, [1, 2, 0])), [x]);
    gradcheck(
      (t) =>
        slice(t, [
          [0, 2],
          [1, 3],
          [0, 4, 3],
        ]),
      [x],
    );
    gradcheck((t) => slice(transpose(t, 0, 2), [2, null, 1]), [x]);
    gradcheck((t) => expand(slice(t, [null, [0, 1]]), [5, 2, 1, 4]), [x]);
    gradcheck((t) => flatten(contiguous(transpose(t))), [x]);
    gradcheck((t) => squeeze(unsqueeze(t, 1), 1), [x]);
  });

  it('views free their storage only with the last view', () => {
    const before = memory(backend);
    const x = tidy(() => grid());
    const v = tidy(() => slice(permute(x, [2, 1, 0]), [[1, 3]]));
    x.dispose();
    expect(memory(backend).storages).toBe(before.storages + 1);
    expect(v.toArray()).toBeDefined();
    v.dispose();
    expect(memory(backend)).toEqual(before);
  });
});

describe('view rules (property tests)', () => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

  it('permute then inverse permute is the identity', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer(), (shape, seed) => {
        const n = shape.length;
        const perm = Array.from({ length: n }, (_, i) => i).sort(
          (a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13),
        );
        const inv = new Array<number>(n);
        perm.forEach((p, i) => {
          inv[p] = i;
        });
        const x = randomNormal(shape, { seed: seed >>> 0 });
        const back = contiguous(permute(permute(x, perm), inv));
        expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
      }),
      { numRuns: 60 },
    );
  });

  it('broadcastShapes is symmetric and agrees with an element-wise sum', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        (shape, ones, drop) => {
          const other = shape.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, shape.length - 1));
          expect(broadcastShapes('t', shape, other)).toEqual(broadcastShapes('t', other, shape));
          expect(broadcastShapes('t', shape, other)).toEqual(shape);
          const a = randomNormal(shape, { seed: 1 });
          const b = randomNormal(other, { seed: 2 });
          const s = a.add(b);
          // Check one random element against explicit index arithmetic.
          const ad = a.dataSync();
          const bd = b.dataSync();
          const sd = s.dataSync();
          for (let flat = 0; flat < s.size; flat += 3) {
            const idx: number[] = [];
            let r = flat;
            for (let i = shape.length - 1; i >= 0; i--) {
              idx.unshift(r % shape[i]);
              r = Math.floor(r / shape[i]);
            }
            const bIdx = idx.slice(shape.length - other.length).map((v, i) => (other[i] === 1 ? 0 : v));
            expect(sd[flat]).toBeCloseTo(at(shape, ad, idx) + at(other, bd, bIdx), 5);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('slices of slices equal one composed slice', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.nat(11),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(5),
        (n, s0, step, s1) => {
          const x = arange(n, undefined, 1, { dtype: 'float32' });
          const a = slice(x, [[s0, n, step]]);
          const b = slice(a, [[s1]]);
          const expected: number[] = [];
          for (let i = Math.min(s0, n); i < n; i += step) expected.push(i);
          expect(Array.from(b.dataSync())).toEqual(expected.slice(s1));
        },
      ),
      { numRuns: 100 },
    );
  });
});
