// A layer around Kronecker attention. The paper (Alman & Song, ICLR 2024) is theory and released no code, so the
// names are ours, in the style of attention modules: `q_proj`, `k1_proj`, `k2_proj`, `v1_proj`, `v2_proj`,
// `o_proj` (two key and two value projections, one per factor of the Kronecker product).
import { type FactoryOptions, Linear, Module, reshape, type Tensor, tidy, ValueError } from '@attnkit/core';
import { checkInt } from '../util/check.js';
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
    const op = 'KroneckerAttentionLayer';
    checkInt(op, 'dim', dim, 1);
    checkInt(op, 'numHeads', numHeads, 1);
    if (dim % numHeads !== 0)
      throw new ValueError(op, 'numHeads', `a divisor of dim ${dim}`, String(numHeads));
    this.dim = dim;
    this.numHeads = numHeads;
    this.attention = { scale: numHeads / dim, ...opts.attention };
    const f = { dtype: opts.dtype, backend: opts.backend, bias: opts.bias ?? true };
    this.q_proj = this.registerModule('q_proj', new Linear(dim, dim, f));
    this.k1_proj = this.registerModule('k1_proj', new Linear(dim, dim, f));
    this.k2_proj = this.registerModule('k2_proj', new Linear(dim, dim, f));
    this.v1_proj = this.registerModule('v1_proj', new Linear(dim, dim, f));
    this.v2_proj = this.registerModule('v2_proj', new Linear(dim, dim, f));
    this.o_proj = this.registerModule('o_proj', new Linear(dim, dim, f));
  }

  /** `x` `[batch, n, dim]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ValueError('KroneckerAttentionLayer', 'x', `[batch, n, ${this.dim}]`, `[${x.shape}]`);
    }
    const [b, n] = x.shape;
    const hd = this.dim / this.numHeads;
    return tidy(() => {
      const heads = (l: Linear) => reshape(l.forward(x), [b, n, this.numHeads, hd]);
      const o = kroneckerAttention(
        heads(this.q_proj),
        heads(this.k1_proj),
        heads(this.k2_proj),
        heads(this.v1_proj),
        heads(this.v2_proj),
        this.attention,
      );
      return this.o_proj.forward(reshape(o, [b, n, this.dim]));
    });
  }
}
