import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  gather,
  indexSelect,
  memory,
  mul,
  oneHot,
  randomNormal,
  scatter,
  scatterAdd,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from '../../src/index.js';
import { assertClose, backendsUnderTest, checkGradients } from '../../src/testing/index.js';
import { cpuUnderTest } from '../helpers.js';

describe.each(backendsUnderTest())('indexing on %s', (backend) => {
  const f = (v: number[][] | number[]) => tensor(v, { backend });
  const i = (v: number[][] | number[] | number) => tensor(v, { dtype: 'int32', backend });
  const grads = (fn: (...a: Tensor[]) => Tensor, ...args: Tensor[]) => valueAndGrad(fn)(...args).grads;

  describe('gather', () => {
    it('picks along each axis (torch.gather examples, by hand)', async () => {
      const x = f([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(
        await gather(
          x,
          1,
          i([
            [2, 0],
            [1, 1],
          ]),
        ).array(),
      ).toEqual([
        [3, 1],
        [5, 5],
      ]);
      expect(await gather(x, 0, i([[1, 0, 1]])).array()).toEqual([[4, 2, 6]]);
      expect(await gather(x, -1, i([[0], [2]])).array()).toEqual([[1], [6]]);
      const ints = gather(i([10, 20, 30]), 0, i([2, 2, 0]));
      expect(ints.dtype).toBe('int32');
      expect(await ints.array()).toEqual([30, 30, 10]);
      expect(gather(x, 1, tensor([], { dtype: 'int32', backend, shape: [2, 0] })).shape).toEqual([2, 0]);
    });

    it('agrees with a plain loop over nested arrays on random 3-D inputs', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(
            fc.integer({ min: 1, max: 3 }),
            fc.integer({ min: 1, max: 3 }),
            fc.integer({ min: 1, max: 3 }),
          ),
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer(),
          async (shape, axis, k, seed) => {
            const x = Array.from({ length: shape[0] }, (_, a) =>
              Array.from({ length: shape[1] }, (_, b) =>
                Array.from({ length: shape[2] }, (_, c) => a * 100 + b * 10 + c),
              ),
            );
            const ishape = shape.map((d, ax) => (ax === axis ? k : d));
            let s = seed;
            const rnd = (n: number) => {
              s = (s * 1103515245 + 12345) >>> 0;
              return s % n;
            };
            const idx = Array.from({ length: ishape[0] }, () =>
              Array.from({ length: ishape[1] }, () =>
                Array.from({ length: ishape[2] }, () => rnd(shape[axis])),
              ),
            );
            const want = idx.map((pa, a) =>
              pa.map((pb, b) =>
                pb.map((v, c) => (axis === 0 ? x[v][b][c] : axis === 1 ? x[a][v][c] : x[a][b][v])),
              ),
            );
            const got = gather(tensor(x, { backend }), axis, tensor(idx, { dtype: 'int32', backend }));
            expect(await got.array()).toEqual(want);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('sends the gradient back to the picked elements, summing repeats', async () => {
      const pick = i([0, 2, 0, 0]);
      const [gx] = grads((x) => sum(mul(gather(x, 0, pick), f([1, 10, 100, 1000]))), f([5, 6, 7]));
      await assertClose(gx, [1 + 100 + 1000, 0, 10]);
      const x = randomNormal([3, 4], { seed: 3, backend });
      const idx = i([
        [2, 0, 1, 1],
        [0, 0, 2, 1],
      ]);
      await checkGradients((t, ix) => gather(t, 0, ix), [x, idx]);
      const idx1 = i([
        [3, 3, 0],
        [1, 2, 0],
        [0, 0, 0],
      ]);
      await checkGradients((t, ix) => gather(t, 1, ix), [x, idx1]);
    });

    it('rejects bad arguments with clear messages', async () => {
      const x = f([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(() => gather(x, 1, f([[0], [1]]))).toThrow(/gather: index must be an int32 tensor, got float32/);
      expect(() => gather(x, 1, i([0, 1]))).toThrow(
        /gather: index must be of rank 2 like x, got shape \[2\]/,
      );
      expect(() => gather(x, 1, i([[0], [1], [0]]))).toThrow(
        /gather: index must be no larger than x \[2, 3\]/,
      );
      expect(() => gather(x, 2, i([[0]]))).toThrow(/gather: axis must be an integer in \[-2, 1\], got 2/);
      expect(() => gather(tensor(1, { backend }), 0, i(0))).toThrow(
        /gather: x must be a tensor with at least one axis/,
      );
    });
  });

  describe('indexSelect', () => {
    it('selects whole slices, repeats allowed', async () => {
      const x = f([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(await indexSelect(x, 0, i([1, 1, 0])).array()).toEqual([
        [4, 5, 6],
        [4, 5, 6],
        [1, 2, 3],
      ]);
      expect(await indexSelect(x, 1, i([2, 0])).array()).toEqual([
        [3, 1],
        [6, 4],
      ]);
      expect(await indexSelect(x, -1, i(1)).array()).toEqual([[2], [5]]);
      expect(indexSelect(x, 0, tensor([], { dtype: 'int32', backend })).shape).toEqual([0, 3]);
    });

    it('gradient is an index-add', async () => {
      const w = f([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const rows = i([1, 0, 1]);
      const [gx] = grads(
        (x) => sum(mul(indexSelect(x, 0, rows), w)),
        f([
          [0, 0],
          [0, 0],
        ]),
      );
      await assertClose(gx, [
        [3, 4],
        [1 + 5, 2 + 6],
      ]);
      const x = randomNormal([3, 2, 3], { seed: 4, backend });
      await checkGradients((t, ix) => indexSelect(t, 1, ix), [x, i([1, 1, 0])]);
      await checkGradients((t, ix) => indexSelect(t, 2, ix), [x, i([2, 0, 2, 1])]);
    });

    it('rejects bad arguments', async () => {
      const x = f([1, 2, 3]);
      expect(() => indexSelect(x, 0, i([[0]]))).toThrow(
        /indexSelect: index must be a 1-D tensor, got shape \[1, 1\]/,
      );
      expect(() => indexSelect(x, 0, f([0]))).toThrow(/indexSelect: index must be an int32 tensor/);
    });
  });

  describe('scatterAdd and scatter', () => {
    it('adds src at index, accumulating repeats (by hand)', async () => {
      const x = f([
        [1, 1, 1],
        [1, 1, 1],
      ]);
      const src = f([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      // axis 0: out[index[r][c]][c] += src[r][c]
      expect(
        await scatterAdd(
          x,
          0,
          i([
            [0, 1, 0],
            [0, 1, 1],
          ]),
          src,
        ).array(),
      ).toEqual([
        [1 + 1 + 4, 1, 1 + 3],
        [1, 1 + 2 + 5, 1 + 6],
      ]);
      // axis 1 with a smaller index: only src's [2, 2] corner is used.
      expect(
        await scatterAdd(
          x,
          1,
          i([
            [2, 2],
            [0, 1],
          ]),
          src,
        ).array(),
      ).toEqual([
        [1, 1, 1 + 1 + 2],
        [1 + 4, 1 + 5, 1],
      ]);
      const ints = scatterAdd(i([0, 0]), 0, i([1, 1, 1]), i([5, 6, 7]));
      expect(ints.dtype).toBe('int32');
      expect(await ints.array()).toEqual([0, 18]);
      expect(await x.array()).toEqual([
        [1, 1, 1],
        [1, 1, 1],
      ]);
    });

    it('scatter writes src (or a number) at index', async () => {
      const x = f([0, 0, 0, 0]);
      expect(await scatter(x, 0, i([3, 1]), f([7, 8])).array()).toEqual([0, 8, 0, 7]);
      expect(await scatter(x, 0, i([2, 0]), -1).array()).toEqual([-1, 0, -1, 0]);
      expect(
        await scatter(
          f([
            [1, 2],
            [3, 4],
          ]),
          1,
          i([[1], [0]]),
          9,
        ).array(),
      ).toEqual([
        [1, 9],
        [9, 4],
      ]);
      // Repeats: on the CPU the last write in row-major order of index wins.
      if (backend === 'cpu') expect(await scatter(x, 0, i([1, 1]), f([5, 6])).array()).toEqual([0, 6, 0, 0]);
      const b = scatter(tensor([false, false, false], { backend }), 0, i([1]), 1);
      expect(b.dtype).toBe('bool');
      expect(await b.array()).toEqual([0, 1, 0]);
    });

    it('gradients: x gets g (zeroed where scatter overwrote it), src gets g at its index', async () => {
      const w = f([1, 2, 3, 4]);
      const at = i([3, 0, 3]);
      const [gx, gs] = grads((x, s) => sum(mul(scatterAdd(x, 0, at, s), w)), f([0, 0, 0, 0]), f([0, 0, 0]));
      await assertClose(gx, [1, 2, 3, 4]);
      await assertClose(gs, [4, 1, 4]);
      const put = i([3, 0]);
      const [hx, hs] = grads((x, s) => sum(mul(scatter(x, 0, put, s), w)), f([0, 0, 0, 0]), f([0, 0]));
      await assertClose(hx, [0, 2, 3, 0]);
      await assertClose(hs, [4, 1]);
      const x = randomNormal([3, 4], { seed: 5, backend });
      const src = randomNormal([2, 4], { seed: 6, backend });
      const idx = i([
        [2, 0, 1, 1],
        [0, 0, 2, 1],
      ]);
      await checkGradients((a, s, ix) => scatterAdd(a, 0, ix, s), [x, src, idx]);
      // Unique targets per column: with repeats only one src element wins and the gradient is not defined.
      const uniq = i([
        [2, 0, 1, 1],
        [0, 1, 2, 0],
      ]);
      await checkGradients((a, s, ix) => scatter(a, 0, ix, s), [x, src, uniq]);
      // src larger than index: the unused part gets zero gradient.
      const col = i([[0], [3], [2]]);
      await checkGradients(
        (a, s, ix) => scatterAdd(a, 1, ix, s),
        [x, randomNormal([3, 5], { seed: 8, backend }), col],
      );
    });

    it('rejects bad arguments', async () => {
      const x = f([
        [1, 2],
        [3, 4],
      ]);
      const src = f([[1, 1]]);
      expect(() => scatterAdd(x, 0, i([[0, 1]]), i([[1, 1]]))).toThrow(
        /scatterAdd: src must be of x's dtype float32, got int32/,
      );
      expect(() => scatterAdd(x, 0, i([[0, 1, 0]]), src)).toThrow(
        /scatterAdd: index must be no larger than src \[1, 2\]/,
      );
      expect(() => scatterAdd(x, 0, i([0, 1]), src)).toThrow(/scatterAdd: index must be of rank 2 like x/);
      expect(() => scatterAdd(tensor([true], { backend }), 0, i([0]), tensor([true], { backend }))).toThrow(
        /scatterAdd: x must be a float32, float64 or int32 tensor, got bool/,
      );
    });
  });

  describe('oneHot', () => {
    it('encodes class indices', async () => {
      const o = oneHot(i([2, 0, 1]), 3);
      expect(o.dtype).toBe('float32');
      expect(await o.array()).toEqual([
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0],
      ]);
      const m = oneHot(i([[1], [3]]), 4, { dtype: 'int32' });
      expect(m.dtype).toBe('int32');
      expect(m.shape).toEqual([2, 1, 4]);
      expect(await m.array()).toEqual([[[0, 1, 0, 0]], [[0, 0, 0, 1]]]);
      expect(await oneHot(i(1), 2).array()).toEqual([0, 1]);
    });

    it('rejects bad arguments', async () => {
      expect(() => oneHot(i([0]), 0)).toThrow(/oneHot: numClasses must be a positive integer, got 0/);
      expect(() => oneHot(f([0]), 2)).toThrow(/oneHot: index must be an int32 tensor, got float32/);
    });
  });

  it('leaves no tensors behind', async () => {
    const before = memory(backend);
    const x = randomNormal([3, 4], { seed: 9, backend });
    const idx = i([[1, 2, 0, 0]]);
    const src = f([[1, 2, 3, 4]]);
    const { value, grads: g } = valueAndGrad((a) =>
      sum(mul(gather(scatter(scatterAdd(a, 0, idx, src), 0, idx, src), 0, idx), indexSelect(a, 0, i([2])))),
    )(x);
    const classes = i([1, 0]);
    const hot = oneHot(classes, 2);
    for (const t of [x, idx, src, value, ...g, classes, hot]) t.dispose();
    expect(memory(backend)).toEqual(before);
  });
});

// Index values are checked only where they can be read synchronously: a GPU backend cannot stop to look, and
// its kernels define what an out-of-range index does (gpu-kernels clamps gathers and drops scatters).
describe.runIf(cpuUnderTest)('index value checks (CPU only)', () => {
  const f = (v: number[][] | number[]) => tensor(v, { backend: 'cpu' });
  const i = (v: number[][] | number[]) => tensor(v, { dtype: 'int32', backend: 'cpu' });

  it('name the first out-of-range index and its position', () => {
    const x = f([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => gather(x, 1, i([[0, 3]]))).toThrow(
      /gather: index values must be in \[0, 3\) \(the size of x along axis 1\), got 3 at index\[0, 1\]/,
    );
    expect(() => gather(x, 0, i([[0], [-1]]))).toThrow(/got -1 at index\[1, 0\]/);
    expect(() => indexSelect(f([1, 2, 3]), 0, i([0, 5]))).toThrow(
      /indexSelect: index values must be in \[0, 3\).*got 5 at index\[1\]/,
    );
    const y = f([
      [1, 2],
      [3, 4],
    ]);
    expect(() => scatterAdd(y, 0, i([[0, 2]]), f([[1, 1]]))).toThrow(
      /scatterAdd: index values must be in \[0, 2\).*got 2 at index\[0, 1\]/,
    );
    expect(() => scatter(y, 0, i([[-1, 0]]), 1)).toThrow(/scatter: index values must be in \[0, 2\).*got -1/);
    expect(() => oneHot(i([0, 3]), 3)).toThrow(
      /oneHot: index values must be in \[0, 3\) \(numClasses\), got 3 at index\[1\]/,
    );
  });
});
