/**
 * The weight patterns the paper reports for a trained one-layer softmax attention model, computed from
 * plain arrays so they can be checked on hand-made weights. Conventions (as the reference code): a token
 * z ∈ R^{d+1} is a row vector, q = z·W_Q, k = z·W_K, v = z·W_V, so the attention logit is
 * z_q·W_QK·z_ℓᵀ/√(d+1) with W_QK = W_Q·W_Kᵀ, and a head's contribution to the output is Σ_ℓ p_ℓ·z_ℓ·OV
 * with OV = W_V·W_O (a (d+1)-vector, W_O being this head's rows of the output map).
 */

/** One head's weights as (d+1)×(d+1) matrices and its (d+1)-slice of the output map. */
export interface HeadWeights {
  q: number[][];
  k: number[][];
  v: number[][];
  o: number[];
}

/** One head's products and the statistics the spec asks for. */
export interface HeadPattern {
  /** W_QK = W_Q·W_Kᵀ, (d+1)×(d+1). */
  qk: number[][];
  /** OV = W_V·W_O, length d+1. */
  ov: number[];
  /** ω: mean of the diagonal of the top-left d×d block of W_QK. */
  omega: number;
  /** mean |off-diagonal| / mean |diagonal| of the top-left block (≈ 0 when it is ω·I). */
  offDiagRatio: number;
  /** Coefficient of variation std/|mean| of that diagonal (≈ 0 when homogeneous). */
  diagCv: number;
  /**
   * max_{i<d} |W_QK[i, d]| / mean |diagonal|: the last column, how the key's y-coordinate enters the logit.
   * (The last row multiplies the query's label slot, which is always 0: it gets no gradient and keeps its
   * initial value, so it is shown but not judged.)
   */
  lastColRatio: number;
  /** μ = OV[d]: the weight on the context label y_ℓ. */
  mu: number;
  /**
   * Whether the head matters: |μ| ≥ {@link ACTIVE_FRACTION}·max_h |μ_h|. An inactive head adds almost
   * nothing to the output, and the gradient reaching its W_Q, W_K is proportional to its output weight, so
   * its W_QK stays near its random start; its statistics are shown but not judged.
   */
  active: boolean;
  /** max_{i<d} |OV[i]| / |OV[d]| (≈ 0 when OV is last-entry-only). */
  ovLeakRatio: number;
}

/** A head with |μ| below this fraction of the largest |μ| counts as inactive (see {@link HeadPattern.active}). */
export const ACTIVE_FRACTION = 0.1;

/** The statistics of all heads together. */
export interface PatternSummary {
  heads: HeadPattern[];
  /** |Σ_h μ_h| / max_h |μ_h| (≈ 0 when the heads' label weights cancel: "zero-sum"). */
  zeroSumRatio: number;
  /** Number of active heads with μ > 0 and with μ < 0. */
  positive: number;
  negative: number;
  /**
   * Σ_h ω_h·μ_h/√(d+1): the step size η of the debiased GD predictor the heads implement to first order in
   * ω (softmax ≈ (1 + s_ℓ − s̄)/L), to compare with the tuned η of centred one-step GD.
   */
  smallOmegaEta: number;
}

function matmulT(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b.map((brow) => row.reduce((s, v, j) => s + v * brow[j], 0)));
}

function meanOf(xs: number[]): number {
  return xs.reduce((s, v) => s + v, 0) / xs.length;
}

/** The statistics of one head, judged on its own (`active` true; {@link summarize} compares heads). */
export function headPattern(w: HeadWeights): HeadPattern {
  const D = w.q.length;
  const d = D - 1;
  const qk = matmulT(w.q, w.k);
  const ov = w.v.map((row) => row.reduce((s, v, j) => s + v * w.o[j], 0));
  const diag: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) (i === j ? diag : off).push(qk[i][j]);
  }
  const omega = meanOf(diag);
  const absDiag = meanOf(diag.map(Math.abs));
  const sd = Math.sqrt(meanOf(diag.map((v) => (v - omega) ** 2)));
  const mu = ov[d];
  return {
    qk,
    ov,
    omega,
    offDiagRatio: meanOf(off.map(Math.abs)) / absDiag,
    diagCv: sd / Math.abs(omega),
    lastColRatio: Math.max(...qk.slice(0, d).map((row) => Math.abs(row[d]))) / absDiag,
    mu,
    active: true,
    ovLeakRatio: Math.max(...ov.slice(0, d).map(Math.abs)) / Math.abs(mu),
  };
}

/** The statistics of every head, and how the heads combine. */
export function summarize(heads: HeadWeights[]): PatternSummary {
  const patterns = heads.map(headPattern);
  const mus = patterns.map((p) => p.mu);
  const largest = Math.max(...mus.map(Math.abs));
  for (const p of patterns) p.active = Math.abs(p.mu) >= ACTIVE_FRACTION * largest;
  const D = heads[0].q.length;
  return {
    heads: patterns,
    zeroSumRatio: Math.abs(mus.reduce((s, v) => s + v, 0)) / largest,
    positive: patterns.filter((p) => p.active && p.mu > 0).length,
    negative: patterns.filter((p) => p.active && p.mu < 0).length,
    smallOmegaEta: patterns.reduce((s, p) => s + p.omega * p.mu, 0) / Math.sqrt(D),
  };
}

/** The spec's thresholds for "the pattern is there". */
export const PATTERN_LIMITS = {
  offDiagRatio: 0.1,
  diagCv: 0.1,
  lastColRatio: 0.1,
  ovLeakRatio: 0.1,
  zeroSumRatio: 0.1,
} as const;
