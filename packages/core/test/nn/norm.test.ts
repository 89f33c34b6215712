import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d,
  BatchNorm2d,
  GroupNorm,
  LayerNorm,
  RMSNorm,
  randomNormal,
  type Tensor,
  tensor,
} from '../../src/index.js';
import { gradcheck } from '../../src/testing/index.js';

const shapes = (m: { stateDict(): Map<string, Tensor> }) =>
  Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, digits = 5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], digits);
}

/** Normalises consecutive runs of `size` values: (v - mean) / sqrt(biased var + eps). */
function normRuns(v: ArrayLike<number>, size: number, eps: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < v.length; s += size) {
    const run = Array.from(v).slice(s, s + size);
    const m = run.reduce((a, x) => a + x, 0) / size;
    const vr = run.reduce((a, x) => a + (x - m) ** 2, 0) / size;
    for (const x of run) out.push((x - m) / Math.sqrt(vr + eps));
  }
  return out;
}

describe('LayerNorm', () => {
  it('has torch names and normalises the trailing axes', () => {
    expect(shapes(new LayerNorm([3, 4]))).toEqual({ weight: [3, 4], bias: [3, 4] });
    expect(shapes(new LayerNorm(4, { bias: false }))).toEqual({ weight: [4] });
    expect(shapes(new LayerNorm(4, { elementwiseAffine: false }))).toEqual({});
    const ln = new LayerNorm(3, { eps: 1e-3, dtype: 'float64' });
    ln.loadStateDict({ weight: tensor([1, 2, -1]), bias: tensor([0, 0.5, 1]) });
    const x = randomNormal([2, 2, 3], { seed: 1, dtype: 'float64' });
    const want = normRuns(x.dataSync(), 3, 1e-3).map((v, i) => v * [1, 2, -1][i % 3] + [0, 0.5, 1][i % 3]);
    expectClose(ln.forward(x).dataSync(), want, 12);
    gradcheck((xi) => ln.forward(xi), [x]);
    expect(() => ln.forward(randomNormal([2, 4]))).toThrow(
      /LayerNorm: x must be of shape \[\.\.\., 3\], got \[2, 4\]/,
    );
  });
});

describe('RMSNorm', () => {
  it('divides by the root mean square', () => {
    expect(shapes(new RMSNorm(5))).toEqual({ weight: [5] });
    const rms = new RMSNorm(2, { eps: 0, dtype: 'float64' });
    rms.loadStateDict({ weight: tensor([1, 3]) });
    // [3, 4]: rms = √12.5
    const r = Math.sqrt(12.5);
    expectClose(rms.forward(tensor([[3, 4]], { dtype: 'float64' })).dataSync(), [3 / r, (3 * 4) / r], 12);
    expect(new RMSNorm(2).toString()).toBe('RMSNorm((2,), eps=None, elementwise_affine=True)');
  });
});

describe('GroupNorm', () => {
  it('normalises each group of channels with its positions', () => {
    expect(shapes(new GroupNorm(2, 6))).toEqual({ weight: [6], bias: [6] });
    expect(shapes(new GroupNorm(2, 6, { affine: false }))).toEqual({});
    const gn = new GroupNorm(2, 4, { dtype: 'float64' });
    gn.loadStateDict({ weight: tensor([1, 2, 3, 4]), bias: tensor([0, 0, 1, 1]) });
    const x = randomNormal([2, 4, 3], { seed: 2, dtype: 'float64' });
    // Each (sample, group) is 2 channels × 3 positions = 6 consecutive values.
    const want = normRuns(x.dataSync(), 6, 1e-5).map((v, i) => {
      const c = Math.floor(i / 3) % 4;
      return v * [1, 2, 3, 4][c] + [0, 0, 1, 1][c];
    });
    expectClose(gn.forward(x).dataSync(), want, 10);
    expect(() => gn.forward(randomNormal([2, 3, 3]))).toThrow(
      /GroupNorm: x must be of shape \[N, 4, \.\.\.\], got \[2, 3, 3\]/,
    );
    expect(() => new GroupNorm(3, 4)).toThrow(
      /GroupNorm: numGroups must be a divisor of numChannels \(4\), got 3/,
    );
  });
});

describe('BatchNorm2d', () => {
  // [N=2, C=2, H=1, W=2]: channel 0 holds 1, 2, 3, 4; channel 1 holds 0, 0, 2, 6.
  const x = tensor([1, 2, 0, 0, 3, 4, 2, 6], { shape: [2, 2, 1, 2], dtype: 'float64' });
  const c0 = { mean: 2.5, biased: 1.25, unbiased: 5 / 3 };
  const c1 = { mean: 2, biased: 6, unbiased: 8 };

  it('has torch names, shapes and buffer types', () => {
    const bn = new BatchNorm2d(3);
    expect(shapes(bn)).toEqual({
      weight: [3],
      bias: [3],
      running_mean: [3],
      running_var: [3],
      num_batches_tracked: [],
    });
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    expect(bn.runningVar!.toArray()).toEqual([1, 1, 1]);
    expect(bn.parameters()).toHaveLength(2);
    expect(shapes(new BatchNorm2d(3, { affine: false, trackRunningStats: false }))).toEqual({});
    expect(bn.toString()).toBe(
      'BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
    );
  });

  it('trains on batch statistics and updates running ones with torch’s momentum formula', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    const y = bn.forward(x);
    const v = Array.from(x.dataSync());
    const want = v.map((t, i) => {
      const c = Math.floor(i / 2) % 2 === 0 ? c0 : c1;
      return (t - c.mean) / Math.sqrt(c.biased + 1e-5);
    });
    expectClose(y.dataSync(), want, 12);
    // running = (1 - 0.1)·running + 0.1·batch stat, with the unbiased variance.
    expectClose(bn.runningMean!.dataSync(), [0.1 * c0.mean, 0.1 * c1.mean], 12);
    expectClose(bn.runningVar!.dataSync(), [0.9 + 0.1 * c0.unbiased, 0.9 + 0.1 * c1.unbiased], 12);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    bn.forward(x);
    expectClose(bn.runningMean!.dataSync(), [0.19 * c0.mean, 0.19 * c1.mean], 12);
    expect(bn.numBatchesTracked!.item()).toBe(2);
  });

  it('evaluates with the running statistics and leaves them alone', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    bn.loadStateDict({
      weight: tensor([2, 1]),
      bias: tensor([0, -1]),
      running_mean: tensor([1, 2]),
      running_var: tensor([4, 0.25]),
      num_batches_tracked: tensor(5, { dtype: 'int32' }),
    });
    bn.eval();
    const v = Array.from(x.dataSync());
    const want = v.map((t, i) =>
      Math.floor(i / 2) % 2 === 0
        ? (2 * (t - 1)) / Math.sqrt(4 + 1e-5)
        : (t - 2) / Math.sqrt(0.25 + 1e-5) - 1,
    );
    expectClose(bn.forward(x).dataSync(), want, 12);
    expect(bn.runningMean!.toArray()).toEqual([1, 2]);
    expect(bn.numBatchesTracked!.item()).toBe(5);
  });

  it('momentum null keeps a cumulative average', () => {
    const bn = new BatchNorm2d(2, { momentum: null, dtype: 'float64' });
    const x2 = tensor([0, 0, 1, 1, 2, 2, 1, 1], { shape: [2, 2, 1, 2], dtype: 'float64' });
    bn.forward(x);
    bn.forward(x2);
    // x2: channel 0 holds 0, 0, 2, 2 (mean 1, unbiased var 4/3); channel 1 holds 1 four times.
    expectClose(bn.runningMean!.dataSync(), [(c0.mean + 1) / 2, (c1.mean + 1) / 2], 12);
    expectClose(bn.runningVar!.dataSync(), [(c0.unbiased + 4 / 3) / 2, (c1.unbiased + 0) / 2], 12);
  });

  it('without running statistics uses batch statistics in eval mode too', () => {
    const bn = new BatchNorm2d(2, { trackRunningStats: false, affine: false, dtype: 'float64' }).eval();
    const y = bn.forward(x);
    expect(y.dataSync()[0]).toBeCloseTo((1 - c0.mean) / Math.sqrt(c0.biased + 1e-5), 12);
    expect(bn.buffers()).toHaveLength(0);
  });

  it('checks its input and is differentiable', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    expect(() => bn.forward(randomNormal([2, 3, 2, 2]))).toThrow(
      /BatchNorm2d: x must be of shape \[N, C, H, W\] with C = 2, got \[2, 3, 2, 2\]/,
    );
    expect(() => new BatchNorm2d(2, { momentum: 2 })).toThrow(
      /BatchNorm2d: momentum must be a number in \[0, 1\], got 2/,
    );
    gradcheck((xi) => bn.forward(xi), [randomNormal([2, 2, 2, 1], { seed: 3, dtype: 'float64' })]);
    const bn1 = new BatchNorm1d(3);
    expect(bn1.forward(randomNormal([4, 3])).shape).toEqual([4, 3]);
  });
});
