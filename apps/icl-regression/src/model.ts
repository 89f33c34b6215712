import {
  type Generator,
  Module,
  matmul,
  mul,
  randomUniform,
  reshape,
  softmax,
  sum,
  type Tensor,
  tidy,
  transpose,
} from '@attnkit/core';
import type { HeadWeights } from './patterns.js';

/** Size of the model. */
export interface ModelOptions {
  /** Input dimension d (tokens have d+1 coordinates). */
  d: number;
  /** Number of heads H. */
  heads: number;
  /** Draws the initial weights. */
  generator: Generator;
}

/**
 * One layer of multi-head softmax attention as in the paper: per head h, W_Q, W_K, W_V ∈ R^{(d+1)×(d+1)}
 * (head dimension d+1, nothing split), and an output map from the H·(d+1) concatenated head outputs to one
 * number. No bias, positional encoding, residual, MLP or normalisation. The query token z_q = [x_q; 0]
 * attends to the L context tokens z_ℓ = [x_ℓ; y_ℓ] only, and the model's output is its prediction of y_q:
 *
 *   ŷ = Σ_h softmax_ℓ(z_q·W_Q^h·(z_ℓ·W_K^h)ᵀ / √(d+1)) · (z_ℓ·W_V^h) · W_O^h
 *
 * Tokens are row vectors (q = z·W_Q, as `x @ weight.T` in the reference's `nn.Linear`s).
 */
export class IclAttention extends Module {
  /** [H, d+1, d+1]: W_Q of each head. */
  readonly wq: Tensor;
  /** [H, d+1, d+1]: W_K of each head. */
  readonly wk: Tensor;
  /** [H, d+1, d+1]: W_V of each head. */
  readonly wv: Tensor;
  /** [H, d+1, 1]: the output map's rows that read head h (the map is concat(heads) -> 1). */
  readonly wo: Tensor;
  readonly d: number;
  readonly heads: number;

  constructor({ d, heads, generator }: ModelOptions) {
    super();
    this.d = d;
    this.heads = heads;
    const D = d + 1;
    // PyTorch's default nn.Linear init, which the reference keeps: U(±1/√fan_in), fan_in = D for the
    // Q/K/V projections and H·D for the output map.
    const init = (shape: number[], fanIn: number) =>
      randomUniform(shape, { low: -1 / Math.sqrt(fanIn), high: 1 / Math.sqrt(fanIn), generator });
    this.wq = this.registerParameter('wq', init([heads, D, D], D));
    this.wk = this.registerParameter('wk', init([heads, D, D], D));
    this.wv = this.registerParameter('wv', init([heads, D, D], D));
    this.wo = this.registerParameter('wo', init([heads, D, 1], heads * D));
  }

  /**
   * Predicts y_q for each task. `z`: [B, L, d+1] context tokens, `zq`: [B, d+1] query tokens; returns [B].
   *
   * All heads run in the same batched matmuls (a leading head axis), because on the CPU backend the cost
   * of this tiny model is per-op and per-row overhead, not arithmetic. The products are associated so that
   * nothing is projected per context token: the key map moves to the query side (logit_ℓ = (q·W_Kᵀ)·z_ℓᵀ)
   * and the output map onto the values (z_ℓ·(W_V·W_O)). That is the same function, with the same
   * gradients for every weight, at O(B·H·L·D) instead of O(B·H·L·D²) work. Both per-token products are
   * taken against the transposed view of z, the matmul layout with contiguous dot products.
   */
  forward(z: Tensor, zq: Tensor): Tensor {
    return tidy(() => {
      const [B, , D] = z.shape;
      const H = this.heads;
      const zt = transpose(z); // [B, D, L], a view
      const q = matmul(reshape(zq, [1, B, D]), this.wq); // [H, B, D]
      // q·W_Kᵀ, scaled here rather than on the logits: D numbers per task instead of L.
      const u = mul(matmul(q, transpose(this.wk)), 1 / Math.sqrt(D)); // [H, B, D]
      const p = softmax(matmul(reshape(u, [H, B, 1, D]), zt)); // [H, B, 1, L]
      const ov = matmul(this.wv, this.wo); // [H, D, 1]
      const values = matmul(reshape(ov, [H, 1, 1, D]), zt); // [H, B, 1, L]: z_ℓ·OV_h
      const perHead = matmul(p, transpose(values)); // [H, B, 1, 1]
      return sum(reshape(perHead, [H, B]), { axis: 0 });
    });
  }

  /** Each head's weights as plain arrays, for the pattern statistics and printing. */
  headWeights(): HeadWeights[] {
    const [q, k, v] = [this.wq, this.wk, this.wv].map((t) => t.toArray() as number[][][]);
    const o = this.wo.toArray() as number[][][];
    return Array.from({ length: this.heads }, (_, h) => ({
      q: q[h],
      k: k[h],
      v: v[h],
      o: o[h].map((row) => row[0]),
    }));
  }
}
