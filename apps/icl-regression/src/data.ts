import { type Generator, type Tensor, tensor } from '@attnkit/core';

/** The in-context linear regression task family (the paper's defaults: d = 5, L = 40, σ² = 0.1). */
export interface TaskConfig {
  /** Input dimension d. */
  d: number;
  /** Number of context examples L per task. */
  L: number;
  /** Label noise variance σ². */
  noiseVar: number;
}

export const PAPER_TASK: TaskConfig = { d: 5, L: 40, noiseVar: 0.1 };

/**
 * Variance τ² of each coefficient of β. The reference code draws β = randn(d)·√(1/d), so E|β|² = 1 and
 * E[y²] = 1 + σ² whatever d is.
 */
export function betaVar(cfg: TaskConfig): number {
  return 1 / cfg.d;
}

/**
 * A batch of B independent tasks, row-major in float64 (the predictors work on these directly; the model
 * gets float32 tensors from {@link toTokens}).
 */
export interface TaskBatch {
  readonly cfg: TaskConfig;
  /** Number of tasks B. */
  readonly size: number;
  /** Context inputs x_ℓ, [B, L, d]. */
  readonly x: Float64Array;
  /** Context labels y_ℓ = βᵀx_ℓ + ε_ℓ, [B, L]. */
  readonly y: Float64Array;
  /** Query inputs x_q, [B, d]. */
  readonly xq: Float64Array;
  /** Query labels y_q = βᵀx_q + ε_q (noisy, as in the reference), [B]. */
  readonly yq: Float64Array;
  /** Each task's coefficients β, [B, d]. */
  readonly beta: Float64Array;
}

/** Draws B fresh tasks: x, x_q ~ N(0, I_d), β ~ N(0, I_d/d), ε ~ N(0, σ²). */
export function sampleTasks(cfg: TaskConfig, size: number, gen: Generator): TaskBatch {
  const { d, L } = cfg;
  const x = new Float64Array(size * L * d);
  const y = new Float64Array(size * L);
  const xq = new Float64Array(size * d);
  const yq = new Float64Array(size);
  const beta = new Float64Array(size * d);
  const betaStd = Math.sqrt(betaVar(cfg));
  const noiseStd = Math.sqrt(cfg.noiseVar);
  // Draws one x, labels it with the task's β plus noise, and returns the label.
  const labelled = (xs: Float64Array, at: number, b: number): number => {
    let dot = 0;
    for (let i = 0; i < d; i++) {
      const v = gen.normal();
      xs[at + i] = v;
      dot += v * beta[b * d + i];
    }
    return dot + noiseStd * gen.normal();
  };
  for (let b = 0; b < size; b++) {
    for (let i = 0; i < d; i++) beta[b * d + i] = betaStd * gen.normal();
    for (let l = 0; l < L; l++) y[b * L + l] = labelled(x, (b * L + l) * d, b);
    yq[b] = labelled(xq, b * d, b);
  }
  return { cfg, size, x, y, xq, yq, beta };
}

/** The model's inputs: context tokens z_ℓ = [x_ℓ; y_ℓ], query token z_q = [x_q; 0], and the target y_q. */
export interface Tokens {
  /** [B, L, d+1] */
  z: Tensor;
  /** [B, d+1] */
  zq: Tensor;
  /** [B] */
  yq: Tensor;
}

/** Packs a batch into float32 token tensors (the query's label slot is 0: the model must predict it). */
export function toTokens(batch: TaskBatch): Tokens {
  const { d, L } = batch.cfg;
  const D = d + 1;
  const B = batch.size;
  const z = new Float32Array(B * L * D);
  const zq = new Float32Array(B * D);
  for (let t = 0; t < B * L; t++) {
    for (let i = 0; i < d; i++) z[t * D + i] = batch.x[t * d + i];
    z[t * D + d] = batch.y[t];
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < d; i++) zq[b * D + i] = batch.xq[b * d + i];
  }
  return {
    z: tensor(z, { shape: [B, L, D] }),
    zq: tensor(zq, { shape: [B, D] }),
    yq: tensor(Float32Array.from(batch.yq), { shape: [B] }),
  };
}
