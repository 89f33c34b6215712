// A layer around Kronecker attention. The paper (Alman & Song, ICLR 2024) is theory and released no code, so the
// names are ours, in the style of attention modules: `q_proj`, `k1_proj`, `k2_proj`, `v1_proj`, `v2_proj`,
// `o_proj` (two key and two value projections, one per factor of the Kronecker product).
import { type FactoryOptions, type Linear, Module, type Tensor } from '@attnkit/core';
import { checkHeads, multiHeadForward, squareLinear } from '../util/heads.js';
import { type KroneckerAttentionOptions, kroneckerAttention } from './kronecker-attention.js';

/** Options of {@link KroneckerAttentionLayer}. */
export interface KroneckerAttentionLayerOptions extends FactoryOptions {
  /** Bias on the projections (default true). */
  bias?: boolean;
  /**
   * Passed to {@link kroneckerAttention}. The layer's default scale is `headDim^-1`: the logit is a sum of
   * three-way products, whose size grows like `headDim` (the paper's formula has no scale; a raw call keeps 1).
   */
  attention?: KroneckerAttentionOptions;
}

/**
 * Kronecker attention layer: `x` `[batch, n, dim]` to the same shape; each query attends to pairs of tokens
 * (see {@link kroneckerAttention}). O(n^3) per head: for short sequences.
 */
export class KroneckerAttentionLayer extends Module {
  /** Model width. */
  readonly dim: number;
  /** Heads. */
  readonly numHeads: number;
  /** Query projection. */
  readonly q_proj: Linear;
  /** First key projection. */
  readonly k1_proj: Linear;
  /** Second key projection. */
  readonly k2_proj: Linear;
  /** First value projection. */
  readonly v1_proj: Linear;
  /** Second value projection. */
  readonly v2_proj: Linear;
  /** Output projection. */
  readonly o_proj: Linear;
  /** What the attention call gets. */
  readonly attention: KroneckerAttentionOptions;

  constructor(dim: number, numHeads: number, opts: KroneckerAttentionLayerOptions = {}) {
    super();
    checkHeads('KroneckerAttentionLayer', dim, numHeads);
    this.dim = dim;
    this.numHeads = numHeads;
    this.attention = { scale: numHeads / dim, ...opts.attention };
    const proj = squareLinear(dim, opts, true);
    this.q_proj = this.registerModule('q_proj', proj());
    this.k1_proj = this.registerModule('k1_proj', proj());
    this.k2_proj = this.registerModule('k2_proj', proj());
    this.v1_proj = this.registerModule('v1_proj', proj());
    this.v2_proj = this.registerModule('v2_proj', proj());
    this.o_proj = this.registerModule('o_proj', proj());
  }

  /** `x` `[batch, n, dim]`. */
  override forward(x: Tensor): Tensor {
    const inputs = [this.q_proj, this.k1_proj, this.k2_proj, this.v1_proj, this.v2_proj];
    return multiHeadForward('KroneckerAttentionLayer', x, this.dim, this.numHeads, inputs, this.o_proj, (h) =>
      kroneckerAttention(h[0], h[1], h[2], h[3], h[4], this.attention),
    );
  }
}
