// A layer around Local Linear Attention. LLA has no released model code (the FlashLLA repository holds only a
// README describing `lla_attention(q, k, v, ridge_lambda, qk_scale)` kernels for HF-style causal LMs), so the
// layer follows the attention module those models use: `q_proj`, `k_proj`, `v_proj`, `o_proj`, heads split from
// the width, causal by default. A decision of ours, stated in the README.
import { type FactoryOptions, Linear, Module, reshape, type Tensor, tidy, ValueError } from '@attnkit/core';
import { checkInt } from '../util/check.js';
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
    const op = 'LocalLinearAttention';
    checkInt(op, 'dim', dim, 1);
    checkInt(op, 'numHeads', numHeads, 1);
    if (dim % numHeads !== 0)
      throw new ValueError(op, 'numHeads', `a divisor of dim ${dim}`, String(numHeads));
    this.dim = dim;
    this.numHeads = numHeads;
    this.attention = { ...opts.attention };
    const f = { dtype: opts.dtype, backend: opts.backend, bias: opts.bias ?? false };
    this.q_proj = this.registerModule('q_proj', new Linear(dim, dim, f));
    this.k_proj = this.registerModule('k_proj', new Linear(dim, dim, f));
    this.v_proj = this.registerModule('v_proj', new Linear(dim, dim, f));
    this.o_proj = this.registerModule('o_proj', new Linear(dim, dim, f));
  }

  /** `x` `[batch, n, dim]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ValueError('LocalLinearAttention', 'x', `[batch, n, ${this.dim}]`, `[${x.shape}]`);
    }
    const [b, n] = x.shape;
    const hd = this.dim / this.numHeads;
    return tidy(() => {
      const split = (t: Tensor) => reshape(t, [b, n, this.numHeads, hd]);
      const o = llaAttention(
        split(this.q_proj.forward(x)),
        split(this.k_proj.forward(x)),
        split(this.v_proj.forward(x)),
        this.attention,
      );
      return this.o_proj.forward(reshape(o, [b, n, this.dim]));
    });
  }
}
