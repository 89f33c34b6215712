// A layer around Local Linear Attention. LLA has no released model code (the FlashLLA repository holds only a
// README describing `lla_attention(q, k, v, ridge_lambda, qk_scale)` kernels for HF-style causal LMs), so the
// layer follows the attention module those models use: `q_proj`, `k_proj`, `v_proj`, `o_proj`, heads split from
// the width, causal by default. A decision of ours, stated in the README.
import { type FactoryOptions, type Linear, Module, type Tensor } from '@attnkit/core';
import { checkHeads, multiHeadForward, squareLinear } from '../util/heads.js';
import { type LlaBlockwiseOptions, llaAttention } from './lla-blockwise.js';

/** Options of {@link LocalLinearAttention}. */
export interface LocalLinearAttentionOptions extends FactoryOptions {
  /** Bias on the four projections (default false, as in Llama-style attention). */
  bias?: boolean;
  /** Passed to {@link llaAttention}: `lambda` (default 10), `scale`, `causal` (default true), `blockSize`, ... */
  attention?: LlaBlockwiseOptions;
}

/**
 * Local Linear Attention layer: `x` `[batch, n, dim]` to the same shape. Projects q, k, v with `q_proj`,
 * `k_proj`, `v_proj`, runs {@link llaAttention} per head and merges heads with `o_proj`.
 */
export class LocalLinearAttention extends Module {
  /** Model width. */
  readonly dim: number;
  /** Heads. */
  readonly numHeads: number;
  /** `Linear(dim, dim)` for queries. */
  readonly q_proj: Linear;
  /** `Linear(dim, dim)` for keys. */
  readonly k_proj: Linear;
  /** `Linear(dim, dim)` for values. */
  readonly v_proj: Linear;
  /** `Linear(dim, dim)` merging the heads. */
  readonly o_proj: Linear;
  /** What the attention call gets. */
  readonly attention: LlaBlockwiseOptions;

  constructor(dim: number, numHeads: number, opts: LocalLinearAttentionOptions = {}) {
    super();
    checkHeads('LocalLinearAttention', dim, numHeads);
    this.dim = dim;
    this.numHeads = numHeads;
    this.attention = { ...opts.attention };
    const proj = squareLinear(dim, opts, false);
    this.q_proj = this.registerModule('q_proj', proj());
    this.k_proj = this.registerModule('k_proj', proj());
    this.v_proj = this.registerModule('v_proj', proj());
    this.o_proj = this.registerModule('o_proj', proj());
  }

  /** `x` `[batch, n, dim]`. */
  override forward(x: Tensor): Tensor {
    const inputs = [this.q_proj, this.k_proj, this.v_proj];
    return multiHeadForward('LocalLinearAttention', x, this.dim, this.numHeads, inputs, this.o_proj, (h) =>
      llaAttention(h[0], h[1], h[2], this.attention),
    );
  }
}
