import { describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradValue, memory, mul, sum, type Tensor, tensor, tidy } from '../../src/index.js';

function withGrads(values: number[][]): Tensor[] {
  return values.map((v) => {
    const p = tensor(
      v.map(() => 0),
      { dtype: 'float64' },
    ).setRequiresGrad();
    // d/dp Σ p·v = v
    tidy(() => sum(mul(p, tensor(v, { dtype: 'float64' }))).backward());
    return p;
  });
}

describe('clipGradNorm', () => {
  it('returns the joint 2-norm and scales by maxNorm / (norm + 1e-6)', () => {
    const ps = withGrads([[3, 4], [12]]);
    const total = clipGradNorm(ps, 6.5);
    expect(total.item()).toBeCloseTo(13, 5);
    const k = 6.5 / (13 + 1e-6);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([3 * k, 4 * k]);
    expect(ps[1].grad!.item()).toBe(12 * k);
    total.dispose();
  });

  it('leaves gradients alone below maxNorm; supports p = 1 and infinity', () => {
    const ps = withGrads([[3, -4], [12]]);
    const one = clipGradNorm(ps, 100, 1);
    expect(one.item()).toBeCloseTo(19, 5);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([3, -4]);
    const inf = clipGradNorm(ps, 6, Number.POSITIVE_INFINITY);
    expect(inf.item()).toBe(12);
    expect(ps[1].grad!.item()).toBeCloseTo(6, 5);
  });

  it('skips parameters without gradients, frees its temporaries, and checks arguments', () => {
    const ps = withGrads([[1, 1]]);
    const bare = tensor([5]).setRequiresGrad();
    clipGradNorm([...ps, bare], 1).dispose(); // warm-up
    const before = memory('cpu');
    clipGradNorm([...ps, bare], 1).dispose();
    expect(memory('cpu')).toEqual(before);
    expect(bare.grad).toBeNull();
    expect(() => clipGradNorm(ps, -1)).toThrow(/clipGradNorm: maxNorm must be a non-negative number, got -1/);
    expect(() => clipGradNorm(ps, 1, 0.5)).toThrow(/clipGradNorm: normType must be a number >= 1/);
    const nan = withGrads([[Number.NaN]]);
    expect(() => clipGradNorm(nan, 1, 2, { errorIfNonfinite: true })).toThrow(/of finite total norm/);
  });
});

describe('clipGradValue', () => {
  it('clamps each element', () => {
    const ps = withGrads([[-3, 0.5, 2]]);
    clipGradValue(ps, 1);
    expect(Array.from(ps[0].grad!.dataSync())).toEqual([-1, 0.5, 1]);
  });
});
