import { betaVar, type TaskBatch, type TaskConfig } from './data.js';
import { solveSpd } from './linalg.js';

/** Mean squared error of predictions against the batch's query labels. */
export function mse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  if (pred.length !== target.length)
    throw new Error(`mse: ${pred.length} predictions, ${target.length} targets`);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}

/**
 * The one-step gradient-descent feature g = (1/L)·Σ_ℓ (y_ℓ − c)·x_ℓᵀx_q of every task, so that one GD step
 * from w = 0 on (1/2L)Σ(y_ℓ − wᵀx_ℓ)² with step η predicts ŷ = η·g. Plain GD uses c = 0; the debiased
 * (centred) variant uses c = ȳ, the context mean of y — what a pair of opposite-sign softmax heads computes
 * to first order, since the ȳ terms of the two heads cancel (spec §7).
 */
export function gdFeature(batch: TaskBatch, centred: boolean): Float64Array {
  const { d, L } = batch.cfg;
  const g = new Float64Array(batch.size);
  for (let b = 0; b < batch.size; b++) {
    let c = 0;
    if (centred) {
      for (let l = 0; l < L; l++) c += batch.y[b * L + l];
      c /= L;
    }
    let s = 0;
    for (let l = 0; l < L; l++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += batch.x[(b * L + l) * d + i] * batch.xq[b * d + i];
      s += (batch.y[b * L + l] - c) * dot;
    }
    g[b] = s / L;
  }
  return g;
}

/** The least-squares scale η = Σ g·y / Σ g², i.e. the MSE-optimal step size for predictions η·g. */
export function bestScale(g: ArrayLike<number>, target: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < g.length; i++) {
    num += g[i] * target[i];
    den += g[i] * g[i];
  }
  return num / den;
}

/** Multiplies every element by `eta` (a new array). */
export function scaled(g: Float64Array, eta: number): Float64Array {
  return g.map((v) => v * eta);
}

/**
 * Population step size and loss of plain one-step GD for this task family, from the moments of Gaussian
 * data (derivation in the README): with s = E|β|² = d·τ²,
 *   E[g·y_q] = s,   E[g²] = s + ((d+1)·s + σ²·d)/L,
 *   η* = E[g·y_q]/E[g²],   loss(η*) = s + σ² − s²/E[g²].
 * For d = 5, L = 40, σ² = 0.1: η* ≈ 0.860 and loss ≈ 0.240.
 */
export function gdTheory(cfg: TaskConfig): { eta: number; loss: number } {
  const { d, L, noiseVar } = cfg;
  const s = d * betaVar(cfg);
  const gg = s + ((d + 1) * s + noiseVar * d) / L;
  return { eta: s / gg, loss: s + noiseVar - (s * s) / gg };
}

/**
 * Ridge-regression predictions x_qᵀβ̂ with β̂ = (XᵀX + λI)⁻¹Xᵀy fitted on each task's own context.
 * With β ~ N(0, τ²I) and noise N(0, σ²), β̂ at λ = σ²/τ² is the posterior mean of β, hence the
 * Bayes-optimal predictor under squared loss (see {@link bayesRidgeLambda}).
 */
export function ridgePredict(batch: TaskBatch, lambda: number): Float64Array {
  const { d, L } = batch.cfg;
  const out = new Float64Array(batch.size);
  const a = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  for (let b = 0; b < batch.size; b++) {
    a.fill(0);
    rhs.fill(0);
    for (let l = 0; l < L; l++) {
      const row = (b * L + l) * d;
      const yl = batch.y[b * L + l];
      for (let i = 0; i < d; i++) {
        rhs[i] += batch.x[row + i] * yl;
        for (let j = 0; j <= i; j++) a[i * d + j] += batch.x[row + i] * batch.x[row + j];
      }
    }
    for (let i = 0; i < d; i++) {
      a[i * d + i] += lambda;
      for (let j = 0; j < i; j++) a[j * d + i] = a[i * d + j];
    }
    const w = solveSpd(a, rhs, d);
    let p = 0;
    for (let i = 0; i < d; i++) p += w[i] * batch.xq[b * d + i];
    out[b] = p;
  }
  return out;
}

/** λ = σ²/τ² = σ²·d: the ridge penalty whose solution is the posterior mean of β under its prior. */
export function bayesRidgeLambda(cfg: TaskConfig): number {
  return cfg.noiseVar / betaVar(cfg);
}

/** The λ on a log grid (10⁻³ … 10², 6 points per decade) with the lowest MSE on `batch`. */
export function tuneRidgeLambda(batch: TaskBatch): number {
  let best = { lambda: 1, loss: Number.POSITIVE_INFINITY };
  for (let k = -18; k <= 12; k++) {
    const lambda = 10 ** (k / 6);
    const loss = mse(ridgePredict(batch, lambda), batch.yq);
    if (loss < best.loss) best = { lambda, loss };
  }
  return best.lambda;
}

/** One baseline's test loss and the parameter it was tuned to. */
export interface BaselineResult {
  name: string;
  /** The tuned or derived parameter, for display ("η = 0.86"). */
  param: string;
  loss: number;
}

/** The four baselines, each tuned on held-out tasks and measured on the test tasks. */
export interface Baselines {
  gd: BaselineResult;
  gdCentred: BaselineResult;
  ridgeBayes: BaselineResult;
  ridgeTuned: BaselineResult;
}

/**
 * Every baseline's loss on `test`, with parameters tuned on the separate `tune` batch: plain and centred
 * one-step GD (η fitted by least squares), ridge at the Bayes λ = σ²·d, and ridge with λ tuned on a grid.
 */
export function baselines(tune: TaskBatch, test: TaskBatch): Baselines {
  const gdResult = (centred: boolean): BaselineResult => {
    const eta = bestScale(gdFeature(tune, centred), tune.yq);
    return {
      name: centred ? 'one-step GD, centred (debiased)' : 'one-step GD',
      param: `η = ${eta.toFixed(3)}`,
      loss: mse(scaled(gdFeature(test, centred), eta), test.yq),
    };
  };
  const ridgeResult = (name: string, lambda: number): BaselineResult => ({
    name,
    param: `λ = ${lambda.toFixed(3)}`,
    loss: mse(ridgePredict(test, lambda), test.yq),
  });
  return {
    gd: gdResult(false),
    gdCentred: gdResult(true),
    ridgeBayes: ridgeResult('ridge, Bayes λ = σ²·d', bayesRidgeLambda(tune.cfg)),
    ridgeTuned: ridgeResult('ridge, λ tuned', tuneRidgeLambda(tune)),
  };
}

/** The better of the two one-step GD variants: the reference the model is held to. */
export function bestGd(b: Baselines): BaselineResult {
  return b.gd.loss <= b.gdCentred.loss ? b.gd : b.gdCentred;
}
