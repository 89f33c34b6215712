import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cumprod,
  cumsum,
  flip,
  memory,
  mul,
  randomNormal,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from '../../src/index.js';
import { cumprodGradOp } from '../../src/ops/scan/cumsum.js';
import { assertClose, backendsUnderTest, checkGradients, readFlat } from '../../src/testing/index.js';
import { alongAxis, cpuUnderTest, randomShape, runsFor } from '../helpers.js';

describe.each(backendsUnderTest())('scans on %s', (backend) => {
  const f = (v: number[][] | number[] | number) => tensor(v, { backend });
  const arr = async (t: Tensor) => t.array();
  const m = () =>
    f([
      [1, 2, 3],
      [4, 5, 6],
    ]);

  describe('cumsum', () => {
    it('running sums along an axis, forwards or reversed (by hand)', async () => {
      expect(await arr(cumsum(m(), 1))).toEqual([
        [1, 3, 6],
        [4, 9, 15],
      ]);
      expect(await arr(cumsum(m(), 0))).toEqual([
        [1, 2, 3],
        [5, 7, 9],
      ]);
      expect(await arr(cumsum(m(), -1, { reverse: true }))).toEqual([
        [6, 5, 3],
        [15, 11, 6],
      ]);
      const ints = cumsum(tensor([1, -2, 5], { dtype: 'int32', backend }), 0);
      expect(ints.dtype).toBe('int32');
      expect(await arr(ints)).toEqual([1, -1, 4]);
      const bools = cumsum(tensor([true, false, true], { backend }), 0);
      expect(bools.dtype).toBe('int32');
      expect(await arr(bools)).toEqual([1, 1, 2]);
      expect(await arr(cumsum(f(7), -1))).toBe(7);
      expect(cumsum(tensor([], { backend, shape: [2, 0] }), 1).shape).toEqual([2, 0]);
    });

    it('property: the last running sum is the sum, and reversing matches flipping', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 12 }),
          async (xs) => {
            const x = tensor(xs, { backend, dtype: 'int32' });
            const c = await readFlat(cumsum(x, 0));
            expect(c[c.length - 1]).toBe(xs.reduce((a, b) => a + b, 0));
            const r = await readFlat(cumsum(x, 0, { reverse: true }));
            const viaFlip = await readFlat(flip(cumsum(flip(x, 0), 0), 0));
            expect(r).toEqual(viaFlip);
          },
        ),
        { numRuns: runsFor(backend, 100, 15) },
      );
    });

    it('gradients', async () => {
      const { grads } = valueAndGrad((x) => sum(cumsum(x, 0)))(f([5, 5, 5]));
      await assertClose(grads[0], [3, 2, 1]);
      const x = randomNormal([3, 4], { seed: 21, backend });
      await checkGradients((t) => cumsum(t, 0), [x]);
      await checkGradients((t) => cumsum(t, 1, { reverse: true }), [x]);
      await checkGradients((t) => cumsum(cumsum(t, 1), 0), [randomNormal([2, 3, 2], { seed: 22, backend })]);
    });

    it('property: cumsum along an axis of random shapes matches a running sum', async () => {
      await fc.assert(
        fc.asyncProperty(randomShape(), fc.nat(), fc.nat(), fc.boolean(), async (shape, a, seed, reverse) => {
          const axis = a % shape.length;
          const x = randomNormal(shape, { seed, backend });
          const running = (lane: number[]) => {
            let acc = 0;
            const out = (reverse ? [...lane].reverse() : lane).map((e) => (acc += e));
            return reverse ? out.reverse() : out;
          };
          await assertClose(cumsum(x, axis, { reverse }), alongAxis(await x.data(), shape, axis, running));
        }),
        { numRuns: runsFor(backend, 40, 6) },
      );
    });

    it('rejects bad arguments', async () => {
      expect(() => cumsum(m(), 2)).toThrow(/cumsum: axis must be an integer in \[-2, 1\], got 2/);
      expect(() => cumsum(m(), 0, { reverse: 'no' as unknown as boolean })).toThrow(
        /cumsum: reverse must be a boolean, got no/,
      );
    });
  });

  describe('cumprod', () => {
    it('running products, zeros included (by hand)', async () => {
      expect(await arr(cumprod(f([1, 2, 3, 4]), 0))).toEqual([1, 2, 6, 24]);
      expect(await arr(cumprod(m(), 0))).toEqual([
        [1, 2, 3],
        [4, 10, 18],
      ]);
      expect(await arr(cumprod(f([2, 0, 3]), -1))).toEqual([2, 0, 0]);
      expect(await arr(cumprod(tensor([2, -3, 2], { dtype: 'int32', backend }), 0))).toEqual([2, -6, -12]);
    });

    it('gradients, exact where the input has zeros', async () => {
      // y = [x0, x0 x1, x0 x1 x2]; d(sum y)/dx = [1 + x1 + x1 x2, x0 + x0 x2, x0 x1] = [1, 8, 0] at [2, 0, 3].
      const { grads } = valueAndGrad((x) => sum(cumprod(x, 0)))(f([2, 0, 3]));
      await assertClose(grads[0], [1, 8, 0]);
      // Two zeros: only the first element's own product path is left: d/dx0 = 1 (x1 = 0 kills the rest).
      const two = valueAndGrad((x) => sum(cumprod(x, 0)))(f([2, 0, 0]));
      await assertClose(two.grads[0], [1, 2, 0]);
      await checkGradients((t) => cumprod(t, 1), [randomNormal([2, 4], { seed: 23, backend })]);
      await checkGradients(
        (t) => cumprod(t, 0),
        [
          f([
            [1.5, 0],
            [0, 2],
            [-0.5, 3],
          ]),
        ],
      );
    });

    it('refuses a second derivative with a clear message', async () => {
      // Called directly: core's backward does not build a graph of the backward pass yet (createGraph).
      expect(() => cumprodGradOp.vjp!([null], [], [], { axis: 0 })).toThrow(
        /cumprod: the gradient must be used without differentiating it again/,
      );
    });
  });

  describe('flip', () => {
    it('reverses the listed axes (by hand)', async () => {
      expect(await arr(flip(m(), 1))).toEqual([
        [3, 2, 1],
        [6, 5, 4],
      ]);
      expect(await arr(flip(m(), [0]))).toEqual([
        [4, 5, 6],
        [1, 2, 3],
      ]);
      expect(await arr(flip(m(), [-1, 0]))).toEqual([
        [6, 5, 4],
        [3, 2, 1],
      ]);
      const cube = tensor([0, 1, 2, 3, 4, 5, 6, 7], { backend, shape: [2, 2, 2] });
      expect(await arr(flip(cube, [0, 2]))).toEqual([
        [
          [5, 4],
          [7, 6],
        ],
        [
          [1, 0],
          [3, 2],
        ],
      ]);
      expect(await arr(flip(m(), []))).toEqual(await arr(m()));
      expect(await arr(flip(f(3), 0))).toBe(3);
      expect(await arr(flip(tensor([true, false], { backend }), 0))).toEqual([0, 1]);
    });

    it('gradients', async () => {
      await checkGradients((t) => flip(t, [0, 2]), [randomNormal([2, 3, 2], { seed: 24, backend })]);
    });

    it('rejects bad axes', async () => {
      expect(() => flip(m(), [0, 0])).toThrow(/flip: axis must be distinct axes/);
      expect(() => flip(m(), 2)).toThrow(/flip: axis must be an integer in \[-2, 1\], got 2/);
    });
  });

  it('leaves no tensors behind', async () => {
    const before = memory(backend);
    const x = randomNormal([3, 2], { seed: 25, backend });
    const { value, grads } = valueAndGrad((t) =>
      sum(mul(cumprod(flip(t, 0), 1), cumsum(t, 0, { reverse: true }))),
    )(x);
    for (const t of [x, value, ...grads]) t.dispose();
    expect(memory(backend)).toEqual(before);
  });
});

describe.runIf(cpuUnderTest)('scans of the CPU oracle (CPU only)', () => {
  // GPU kernels accumulate in float32 (their error is bounded by toleranceFor); the oracle must not.
  it('cumsum accumulates in float64 and rounds each output once', async () => {
    // In float32, 1e8 + 1 rounds back to 1e8 (spacing 8), so a float32 accumulator ends at 0, not 1.
    const out = await cumsum(tensor([1e8, 1, -1e8], { backend: 'cpu' }), 0).array();
    expect(out).toEqual([1e8, 1e8, 1]);
  });
});
