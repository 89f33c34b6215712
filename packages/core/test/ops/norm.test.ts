import { describe, expect, it } from 'vitest';
import {
  add,
  batchNorm,
  groupNorm,
  layerNorm,
  memory,
  ones,
  randomNormal,
  rmsNorm,
  sum,
  tensor,
  tidy,
  zeros,
} from '../../src/index.js';
import { assertClose, backendsUnderTest, checkGradients } from '../../src/testing/index.js';
import { cpuUnderTest } from '../helpers.js';

/**
 * Normalises consecutive blocks of `len` values from the definition (biased variance; no centring for RMS),
 * then applies `scale(i)` and `shift(i)` by flat index.
 */
function normBlocks(
  xs: ArrayLike<number>,
  len: number,
  eps: number,
  center: boolean,
  scale: (i: number) => number = () => 1,
  shift: (i: number) => number = () => 0,
): number[] {
  const out: number[] = [];
  for (let s = 0; s < xs.length; s += len) {
    const blk = Array.from(xs).slice(s, s + len);
    const mu = center ? blk.reduce((a, v) => a + v, 0) / len : 0;
    const v = blk.reduce((a, x) => a + (x - mu) ** 2, 0) / len;
    blk.forEach((x, j) => out.push(((x - mu) / Math.sqrt(v + eps)) * scale(s + j) + shift(s + j)));
  }
  return out;
}

describe.each(backendsUnderTest())('norms on %s', (backend) => {
  const rand = (shape: number[], seed: number) => randomNormal(shape, { seed, backend });

  it('layerNorm (hand-computed row, and trailing axes with weight and bias)', async () => {
    const x = tensor(
      [
        [1, 2, 3],
        [2, 4, 6],
      ],
      { backend },
    );
    const r0 = [-1, 0, 1].map((d) => d / Math.sqrt(2 / 3 + 1e-5));
    const r1 = [-2, 0, 2].map((d) => d / Math.sqrt(8 / 3 + 1e-5));
    await assertClose(layerNorm(x, [3]), [r0, r1]);
    await assertClose(layerNorm(x, 3, null, null, 0.5), [
      [-1, 0, 1].map((d) => d / Math.sqrt(2 / 3 + 0.5)),
      [-2, 0, 2].map((d) => d / Math.sqrt(8 / 3 + 0.5)),
    ]);
    const t = rand([2, 2, 3], 1);
    const w = rand([2, 3], 2);
    const b = rand([2, 3], 3);
    const wd = await w.data();
    const bd = await b.data();
    await assertClose(
      layerNorm(t, [2, 3], w, b),
      normBlocks(
        await t.data(),
        6,
        1e-5,
        true,
        (i) => wd[i % 6],
        (i) => bd[i % 6],
      ),
    );
  });

  it('rmsNorm, with PyTorch default eps (the dtype machine epsilon)', async () => {
    const x = tensor(
      [
        [3, 4],
        [1e-4, 0],
      ],
      { backend },
    );
    const w = tensor([2, -1], { backend });
    const eps32 = 2 ** -23;
    await assertClose(rmsNorm(x, [2], w), [
      [6 / Math.sqrt(12.5 + eps32), -4 / Math.sqrt(12.5 + eps32)],
      [2e-4 / Math.sqrt(5e-9 + eps32), 0],
    ]);
    await assertClose(rmsNorm(x, 2, null, 1), [
      [3 / Math.sqrt(13.5), 4 / Math.sqrt(13.5)],
      [1e-4 / Math.sqrt(1 + 5e-9), 0],
    ]);
    const t = rand([3, 2, 2], 4);
    await assertClose(rmsNorm(t, [2, 2]), normBlocks(await t.data(), 4, eps32, false));
  });

  it('groupNorm over (channels of a group, spatial)', async () => {
    const x = rand([2, 4, 3], 5);
    const w = rand([4], 6);
    const b = rand([4], 7);
    const wd = await w.data();
    const bd = await b.data();
    // Flat index i of [2, 4, 3] has channel floor(i / 3) % 4; a group is 2 channels * 3 = 6 consecutive values.
    const ch = (i: number) => Math.floor(i / 3) % 4;
    await assertClose(
      groupNorm(x, 2, w, b),
      normBlocks(
        await x.data(),
        6,
        1e-5,
        true,
        (i) => wd[ch(i)],
        (i) => bd[ch(i)],
      ),
    );
    const img = rand([1, 4, 2, 2], 8);
    await assertClose(groupNorm(img, 4), normBlocks(await img.data(), 4, 1e-5, true));
    await assertClose(groupNorm(img, 1, null, null, 0.1), normBlocks(await img.data(), 16, 0.1, true));
  });

  it('batchNorm in training uses batch stats and updates running stats with the unbiased variance', async () => {
    // x [3, 2, 2]: channel 0 holds 1, 2, 3, 4, 5, 6 -> mean 3.5, biased var 35/12, unbiased 3.5.
    const x = tensor(
      [
        [
          [1, 2],
          [10, 20],
        ],
        [
          [3, 4],
          [30, 40],
        ],
        [
          [5, 6],
          [50, 60],
        ],
      ],
      { backend },
    );
    const rm = tensor([1, 2], { backend });
    const rv = tensor([1, 1], { backend });
    const w = tensor([2, 1], { backend });
    const b = tensor([0, -1], { backend });
    const y = batchNorm(x, rm, rv, w, b, { training: true, momentum: 0.25 });
    const m1 = 35;
    const v1 = [10, 20, 30, 40, 50, 60].reduce((a, v) => a + (v - m1) ** 2, 0) / 6;
    const n0 = (v: number) => (2 * (v - 3.5)) / Math.sqrt(35 / 12 + 1e-5);
    const n1 = (v: number) => (v - m1) / Math.sqrt(v1 + 1e-5) - 1;
    await assertClose(y, [
      n0(1),
      n0(2),
      n1(10),
      n1(20),
      n0(3),
      n0(4),
      n1(30),
      n1(40),
      n0(5),
      n0(6),
      n1(50),
      n1(60),
    ]);
    await assertClose(rm, [0.75 * 1 + 0.25 * 3.5, 0.75 * 2 + 0.25 * m1]);
    await assertClose(rv, [0.75 + 0.25 * 3.5, 0.75 + 0.25 * ((v1 * 6) / 5)]);
    expect(rm.requiresGrad).toBe(false);
  });

  it('batchNorm in evaluation uses the running stats', async () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { backend },
    );
    const y = batchNorm(
      x,
      tensor([1, 2], { backend }),
      tensor([4, 1], { backend }),
      null,
      tensor([0, 1], { backend }),
      {
        eps: 0,
      },
    );
    await assertClose(y, [
      [0, 1],
      [1, 3],
    ]);
  });

  it('frees its temporaries', async () => {
    const x = rand([3, 2, 2], 30).setRequiresGrad();
    const rm = zeros([2], { backend });
    const rv = ones([2], { backend });
    const w = ones([2], { backend });
    const before = memory(backend);
    const y = batchNorm(x, rm, rv, w, null, { training: true });
    tidy(() => sum(y).backward());
    y.dispose();
    layerNorm(x, [2], w).dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('gradients', async () => {
    const x = rand([3, 2, 3], 9);
    const w3 = rand([3], 10);
    const b3 = rand([3], 11);
    await checkGradients((t, w, b) => layerNorm(t, [3], w, b), [x, w3, b3]);
    await checkGradients((t, w) => layerNorm(t, [2, 3], w), [x, rand([2, 3], 12)]);
    await checkGradients((t, b) => layerNorm(t, [3], null, b), [x, b3]);
    // A weight needing no gradient keeps the bias gradient in its place.
    const constW = randomNormal([3], { seed: 22, backend });
    await checkGradients((t, b, w) => layerNorm(t, [3], w, b), [x, b3, constW], { wrt: [0, 1] });
    await checkGradients((t, b, w) => groupNorm(t, 3, w, b), [rand([2, 3, 2], 23), b3, constW], {
      wrt: [0, 1],
    });
    await checkGradients((t, w) => rmsNorm(t, [3], w), [x, w3]);
    await checkGradients((t) => rmsNorm(t, [2, 3], null, 1e-3), [x]);
    const g = rand([2, 4, 3], 13);
    await checkGradients((t, w, b) => groupNorm(t, 2, w, b), [g, rand([4], 14), rand([4], 15)]);
    await checkGradients((t, b) => groupNorm(t, 4, null, b), [g, rand([4], 16)]);
    await checkGradients((t) => groupNorm(t, 1), [rand([1, 2, 2, 2], 17)]);
    const bx = rand([3, 2, 2], 18);
    await checkGradients(
      (t, w, b) => batchNorm(t, null, null, w, b, { training: true }),
      [bx, rand([2], 19), rand([2], 20)],
    );
    await checkGradients(
      (t, m, v) => batchNorm(t, m, v),
      [bx, rand([2], 21), add(ones([2], { backend }), 0.5)],
    );
  });

  it('rejects bad arguments', async () => {
    const x = rand([2, 3], 1);
    expect(() => layerNorm(x, [2])).toThrow(
      /layerNorm: normalizedShape must be a non-empty list of trailing sizes of x \[2, 3\], got \[2\]/,
    );
    expect(() => layerNorm(x, [1, 2, 3])).toThrow(/layerNorm: normalizedShape must be/);
    expect(() => layerNorm(x, [3], ones([2], { backend }))).toThrow(
      /layerNorm: weight must be of shape \[3\], got \[2\]/,
    );
    expect(() => layerNorm(tensor([1], { dtype: 'int32', backend }), [1])).toThrow(
      /layerNorm: x must be a float32/,
    );
    expect(() => layerNorm(x, [3], null, null, -1)).toThrow(
      /layerNorm: eps must be a finite non-negative number/,
    );
    expect(() => rmsNorm(x, [3], zeros([3], { dtype: 'int32', backend }))).toThrow(
      /rmsNorm: weight must be float32 like x, got int32/,
    );
    expect(() => groupNorm(rand([2, 4, 3], 1), 3)).toThrow(
      /groupNorm: numGroups must be a positive divisor of the 4 channels, got 3/,
    );
    expect(() => groupNorm(rand([4], 1), 1)).toThrow(/groupNorm: x must be a tensor with at least 2 axes/);
    expect(() => groupNorm(rand([2, 4], 1), 2, ones([2], { backend }))).toThrow(
      /groupNorm: weight must be of shape \[4\]/,
    );
    expect(() => batchNorm(x, null, null)).toThrow(
      /batchNorm: runningMean, runningVar must be tensors in evaluation mode/,
    );
    expect(() => batchNorm(rand([1, 3], 1), null, null, null, null, { training: true })).toThrow(
      /batchNorm: x must be more than 1 value per channel when training/,
    );
    expect(() => batchNorm(x, null, null, null, null, { training: true, momentum: 2 })).toThrow(
      /batchNorm: momentum must be a number in \[0, 1\]/,
    );
    const rmGrad = zeros([3], { backend }).setRequiresGrad();
    const nonLeaf = add(rmGrad, 1);
    expect(() => batchNorm(x, nonLeaf, null, null, null, { training: true })).toThrow(
      /batchNorm: runningMean must be a leaf tensor \(it is updated in place\)/,
    );
    expect(() => batchNorm(x, ones([2], { backend }), ones([3], { backend }))).toThrow(
      /batchNorm: runningMean must be of shape \[3\]/,
    );
  });
});

describe.runIf(cpuUnderTest)('norms in float64 (CPU only)', () => {
  it('rmsNorm defaults eps to the float64 machine epsilon', async () => {
    const x64 = tensor([1e-9, 0], { dtype: 'float64', backend: 'cpu' });
    await assertClose(rmsNorm(x64, [2]), [1e-9 / Math.sqrt(5e-19 + 2 ** -52), 0], { rtol: 1e-12 });
  });
});
