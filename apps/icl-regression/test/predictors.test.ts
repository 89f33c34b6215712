import { Generator } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { PAPER_TASK, sampleTasks, type TaskBatch, type TaskConfig } from '../src/data.js';
import { solveSpd } from '../src/linalg.js';
import {
  baselines,
  bayesRidgeLambda,
  bestGd,
  bestScale,
  gdFeature,
  gdTheory,
  mse,
  ridgePredict,
  scaled,
  tuneRidgeLambda,
} from '../src/predictors.js';

/** One hand-written task with d = 2, L = 2. */
function tinyTask(): TaskBatch {
  const cfg: TaskConfig = { d: 2, L: 2, noiseVar: 0.1 };
  return {
    cfg,
    size: 1,
    x: Float64Array.from([1, 2, 3, -1]), // x₁ = (1, 2), x₂ = (3, −1)
    y: Float64Array.from([1, 5]),
    xq: Float64Array.from([2, 1]),
    yq: Float64Array.from([4]),
    beta: Float64Array.from([0, 0]),
  };
}

describe('one-step GD', () => {
  it('computes (1/L)·Σ(y_ℓ − c)·x_ℓᵀx_q by hand', () => {
    // x₁ᵀx_q = 4, x₂ᵀx_q = 5. Plain: (1·4 + 5·5)/2 = 14.5. Centred (ȳ = 3): (−2·4 + 2·5)/2 = 1.
    expect(gdFeature(tinyTask(), false)[0]).toBeCloseTo(14.5, 12);
    expect(gdFeature(tinyTask(), true)[0]).toBeCloseTo(1, 12);
  });

  it('fits the step size by least squares', () => {
    expect(bestScale([1, 2, 3], [2, 4, 6])).toBeCloseTo(2, 12);
    // Σgy / Σg² = (1·1 + 1·3)/2 = 2, the minimiser of (η − 1)² + (η − 3)².
    expect(bestScale([1, 1], [1, 3])).toBeCloseTo(2, 12);
    expect(mse(scaled(Float64Array.from([1, 1]), 2), [1, 3])).toBeCloseTo(1, 12);
  });

  it('matches the population step size and loss derived for Gaussian data', () => {
    const theory = gdTheory(PAPER_TASK);
    expect(theory.eta).toBeCloseTo(1 / 1.1625, 10);
    expect(theory.loss).toBeCloseTo(1.1 - 1 / 1.1625, 10);
    const batch = sampleTasks(PAPER_TASK, 40000, new Generator(3));
    const g = gdFeature(batch, false);
    const eta = bestScale(g, batch.yq);
    // Sampling error of η and of the loss at 40k tasks is about 1%.
    expect(Math.abs(eta - theory.eta) / theory.eta).toBeLessThan(0.03);
    expect(Math.abs(mse(scaled(g, eta), batch.yq) - theory.loss) / theory.loss).toBeLessThan(0.03);
  });
});

describe('ridge', () => {
  it('solves a small SPD system', () => {
    // A = [[4, 2], [2, 3]], x = (1, −2) → b = (0, −4).
    expect(Array.from(solveSpd([4, 2, 2, 3], [0, -4], 2)).map((v) => +v.toFixed(12))).toEqual([1, -2]);
    expect(() => solveSpd([1, 2, 2, 1], [1, 1], 2)).toThrow(/positive definite/);
  });

  it('equals the closed form (XᵀX + λI)⁻¹Xᵀy on a hand case', () => {
    // XᵀX = [[10, −1], [−1, 5]], Xᵀy = (16, −3); with λ = 1: [[11, −1], [−1, 6]]⁻¹ = [[6, 1], [1, 11]]/65,
    // β̂ = (96 − 3, 16 − 33)/65 = (93, −17)/65, prediction x_qᵀβ̂ = (186 − 17)/65 = 169/65.
    expect(ridgePredict(tinyTask(), 1)[0]).toBeCloseTo(169 / 65, 12);
  });

  it('recovers β exactly from noise-free data as λ → 0', () => {
    const cfg: TaskConfig = { d: 3, L: 6, noiseVar: 0 };
    const batch = sampleTasks(cfg, 20, new Generator(5));
    const pred = ridgePredict(batch, 1e-12);
    for (let b = 0; b < 20; b++) {
      let truth = 0;
      for (let i = 0; i < 3; i++) truth += batch.beta[b * 3 + i] * batch.xq[b * 3 + i];
      expect(pred[b]).toBeCloseTo(truth, 8);
    }
  });

  it('is Bayes-optimal at λ = σ²·d, which tuning on held-out tasks finds', () => {
    expect(bayesRidgeLambda(PAPER_TASK)).toBeCloseTo(0.5, 12);
    const tune = sampleTasks(PAPER_TASK, 8000, new Generator(11));
    const lambda = tuneRidgeLambda(tune);
    // The loss is flat near its minimum, so the tuned λ on a 6-per-decade grid lands within ~2× of 0.5.
    expect(lambda).toBeGreaterThan(0.2);
    expect(lambda).toBeLessThan(1.2);
  });

  it('beats one-step GD by a wide margin on this task family', () => {
    const b = baselines(
      sampleTasks(PAPER_TASK, 5000, new Generator(12)),
      sampleTasks(PAPER_TASK, 5000, new Generator(13)),
    );
    expect(b.gd.loss).toBeGreaterThan(0.2);
    expect(b.gd.loss).toBeLessThan(0.28);
    expect(Math.abs(b.gdCentred.loss - b.gd.loss) / b.gd.loss).toBeLessThan(0.05);
    expect(bestGd(b).loss).toBe(Math.min(b.gd.loss, b.gdCentred.loss));
    expect(b.ridgeBayes.param).toBe('λ = 0.500');
    expect(b.ridgeBayes.loss).toBeLessThan(0.6 * b.gd.loss);
    expect(Math.abs(b.ridgeTuned.loss - b.ridgeBayes.loss) / b.ridgeBayes.loss).toBeLessThan(0.03);
  });
});
