import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add,
  arange,
  broadcastShapes,
  contiguous,
  cumsum,
  exp,
  expand,
  flatten,
  matmul,
  max,
  memory,
  mul,
  narrow,
  permute,
  randomNormal,
  reshape,
  slice,
  softmax,
  squeeze,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  unsqueeze,
} from '../../src/index.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  expectValues,
  readFlat,
  readItem,
} from '../../src/testing/index.js';
import { onCpu, runsFor } from '../helpers.js';

/** Row-major index arithmetic written independently of the strided views. */
function at(shape: number[], data: ArrayLike<number>, idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return data[flat];
}

describe.each(backendsUnderTest())('views on %s', (backend) => {
  const grid = () => reshape(arange(24, undefined, 1, { dtype: 'float32', backend }), [2, 3, 4]);

  it('reshape shares storage and infers -1', async () => {
    const x = grid();
    const y = reshape(x, [4, -1]);
    expect(y.shape).toEqual([4, 6]);
    expect(y.storage).toBe(x.storage);
    expect(() => reshape(x, [5, -1])).toThrow(/reshape: shape must be a shape with 24 elements/);
    expect(() => reshape(x, [-1, -1])).toThrow(/at most one -1/);
  });

  it('permute and transpose are views with the right elements', async () => {
    const x = grid();
    const p = permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.storage).toBe(x.storage);
    expect(p.isContiguous).toBe(false);
    const xd = await x.data();
    const pd = await p.data();
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++) {
          expect(at([4, 2, 3], pd, [a, b, c])).toBe(at([2, 3, 4], xd, [b, c, a]));
        }
    await expectValues(transpose(tensor([[1, 2, 3]], { backend })), [[1], [2], [3]]);
    expect(() => permute(x, [0, 0, 1])).toThrow(/permute: axes must be a permutation/);
    expect(() => permute(x, [0, 1])).toThrow(/permute: axes must be 3 axes/);
  });

  it('reshape of a non-contiguous view copies, as PyTorch', async () => {
    const t = transpose(grid(), 1, 2);
    const r = reshape(t, [2, 12]);
    expect(r.storage).not.toBe(t.storage);
    expect((await readFlat(r)).slice(0, 6)).toEqual([0, 4, 8, 1, 5, 9]);
  });

  it('slice with indices, ranges, steps and negatives', async () => {
    const x = grid();
    await expectValues(slice(x, [1, null, 0]), [12, 16, 20]);
    await expectValues(slice(x, [null, [1, 3], [0, 4, 2]]), [
      [
        [4, 6],
        [8, 10],
      ],
      [
        [16, 18],
        [20, 22],
      ],
    ]);
    await expectValues(slice(x, [-1, -1]), [20, 21, 22, 23]);
    expect(slice(x, [null, [-2]]).shape).toEqual([2, 2, 4]);
    expect(slice(x, [null, [5, 9]]).shape).toEqual([2, 0, 4]);
    expect(slice(x, [1]).storage).toBe(x.storage);
    expect(() => slice(x, [2])).toThrow(/slice: index on axis 0 must be an integer in \[-2, 1\], got 2/);
    expect(() => slice(x, [null, [0, 2, 0]])).toThrow(/slice: step on axis 1 must be a positive integer/);
    await expectValues(narrow(x, 2, 1, 2), await slice(x, [null, null, [1, 3]]).array());
  });

  it('expand broadcasts with stride 0', async () => {
    const x = tensor([[1], [2]], { backend });
    const e = expand(x, [3, 2, 4]);
    expect(e.strides).toEqual([0, 1, 0]);
    expect(e.storage).toBe(x.storage);
    expect(await readItem(sum(e))).toBe(36);
    expect(expand(x, [-1, 3]).shape).toEqual([2, 3]);
    expect(() => expand(x, [3, 3])).toThrow(/expand: shape must be compatible with \[2, 1\]/);
  });

  it('squeeze, unsqueeze, flatten', async () => {
    const x = reshape(grid(), [2, 1, 3, 1, 4]);
    expect(squeeze(x).shape).toEqual([2, 3, 4]);
    expect(squeeze(x, 3).shape).toEqual([2, 1, 3, 4]);
    expect(() => squeeze(x, 0)).toThrow(/squeeze: axis must be an axis of size 1/);
    expect(unsqueeze(grid(), -1).shape).toEqual([2, 3, 4, 1]);
    expect(flatten(grid(), 1).shape).toEqual([2, 12]);
    expect(flatten(tensor(3, { backend })).shape).toEqual([1]);
  });

  it('gradients flow through every view', async () => {
    const x = randomNormal([2, 3, 4], { seed: 1, backend });
    await checkGradients((t) => mul(permute(t, [1, 2, 0]), permute(t, [1, 2, 0])), [x]);
    await checkGradients(
      (t) =>
        slice(t, [
          [0, 2],
          [1, 3],
          [0, 4, 3],
        ]),
      [x],
    );
    await checkGradients((t) => slice(transpose(t, 0, 2), [2, null, 1]), [x]);
    await checkGradients((t) => expand(slice(t, [null, [0, 1]]), [5, 2, 1, 4]), [x]);
    await checkGradients((t) => flatten(contiguous(transpose(t))), [x]);
    await checkGradients((t) => squeeze(unsqueeze(t, 1), 1), [x]);
  });

  it('views free their storage only with the last view', async () => {
    const before = memory(backend);
    const x = tidy(() => grid());
    const v = tidy(() => slice(permute(x, [2, 1, 0]), [[1, 3]]));
    x.dispose();
    expect(memory(backend).storages).toBe(before.storages + 1);
    expect(await v.array()).toBeDefined();
    v.dispose();
    expect(memory(backend)).toEqual(before);
  });
});

describe.each(backendsUnderTest())('view rules (property tests) on %s', (backend) => {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

  it('ops read permuted, sliced views (strides and an offset) like the packed values', async () => {
    const ops: [string, (t: Tensor) => Tensor][] = [
      ['exp', (t) => exp(t)],
      ['add', (t) => add(t, t)],
      ['mul by a broadcast row', (t) => mul(t, slice(t, [[0, 1]]))],
      ['sum', (t) => sum(t, { axis: -1 })],
      ['max', (t) => max(t, { axis: 0 })],
      ['softmax', (t) => softmax(t, -1)],
      ['cumsum', (t) => cumsum(t, 0)],
      ['matmul', (t) => matmul(t, transpose(t))],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 3, max: 9 }), { minLength: 2, maxLength: 3 }),
        fc.nat(),
        fc.nat(),
        async (shape, p, seed) => {
          const x = randomNormal(shape, { seed, backend });
          // Reverse the axes (or rotate them), then drop the first row and step through the last axis by 2.
          const axes = shape.map((_, i) => i);
          const perm = p % 2 ? axes.reverse() : [...axes.slice(1), axes[0]];
          const last = shape.length - 1;
          const v = slice(
            permute(x, perm),
            shape.map((_, i) => (i === 0 ? [1] : i === last ? [0, 9, 2] : null)),
          );
          expect(v.isContiguous).toBe(false);
          const packed = await onCpu(v);
          for (const [name, f] of ops) {
            const got = f(v);
            const want = f(packed);
            expect(got.shape, name).toEqual(want.shape);
            await assertClose(got, want);
          }
        },
      ),
      { numRuns: runsFor(backend, 30, 4) },
    );
  });

  it('permute then inverse permute is the identity', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.integer(), async (shape, seed) => {
        const n = shape.length;
        const perm = Array.from({ length: n }, (_, i) => i).sort(
          (a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13),
        );
        const inv = new Array<number>(n);
        perm.forEach((p, i) => {
          inv[p] = i;
        });
        const x = randomNormal(shape, { seed: seed >>> 0, backend });
        const back = contiguous(permute(permute(x, perm), inv));
        expect(await readFlat(back)).toEqual(await readFlat(x));
      }),
      { numRuns: runsFor(backend, 60, 10) },
    );
  });

  it('broadcastShapes is symmetric and agrees with an element-wise sum', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb,
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        async (shape, ones, drop) => {
          const other = shape.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, shape.length - 1));
          expect(broadcastShapes('t', shape, other)).toEqual(broadcastShapes('t', other, shape));
          expect(broadcastShapes('t', shape, other)).toEqual(shape);
          const a = randomNormal(shape, { seed: 1, backend });
          const b = randomNormal(other, { seed: 2, backend });
          const s = a.add(b);
          // Every element against explicit index arithmetic.
          const ad = await a.data();
          const bd = await b.data();
          const expected: number[] = [];
          for (let flat = 0; flat < s.size; flat++) {
            const idx: number[] = [];
            let r = flat;
            for (let i = shape.length - 1; i >= 0; i--) {
              idx.unshift(r % shape[i]);
              r = Math.floor(r / shape[i]);
            }
            const bIdx = idx.slice(shape.length - other.length).map((v, i) => (other[i] === 1 ? 0 : v));
            expected.push(at(shape, ad, idx) + at(other, bd, bIdx));
          }
          await assertClose(s, expected);
        },
      ),
      { numRuns: runsFor(backend, 60, 10) },
    );
  });

  it('slices of slices equal one composed slice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.nat(11),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(5),
        async (n, s0, step, s1) => {
          const x = arange(n, undefined, 1, { dtype: 'float32', backend });
          const a = slice(x, [[s0, n, step]]);
          const b = slice(a, [[s1]]);
          const expected: number[] = [];
          for (let i = Math.min(s0, n); i < n; i += step) expected.push(i);
          expect(await readFlat(b)).toEqual(expected.slice(s1));
        },
      ),
      { numRuns: runsFor(backend, 100, 17) },
    );
  });
});
