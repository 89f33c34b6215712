// LightNet's token mixer as fla-org/flash-linear-attention `fla/layers/lightnet.py` builds it (without the optional
// short convolutions): parameter names as there, so converted fla checkpoints load.
import {
  type FactoryOptions,
  Linear,
  Module,
  mul,
  RMSNorm,
  reshape,
  Sequential,
  silu,
  type Tensor,
  tidy,
  ValueError,
} from '@attnkit/core';
import { checkInt } from '../util/check.js';
import { lightnetAttention } from './lightnet-attention.js';

/** Options of {@link LightNetAttention}. */
export interface LightNetAttentionOptions extends FactoryOptions {
  /** Heads (default `hiddenSize / expandRatio`). */
  numHeads?: number;
  /** Key head dim (default 128 when `numHeads` is not given, else `hiddenSize / numHeads`), as fla. */
  expandRatio?: number;
  /** Rank of the output-gate projection (default 128). */
  gateLowRankDim?: number;
  /** Learn the output RMSNorm weight (default true). */
  elementwiseAffine?: boolean;
  /** Epsilon of the output RMSNorm (default 1e-5). */
  normEps?: number;
}

/**
 * LightNet attention layer: `q = SiLU(q_proj x)`, `k = k_proj x` (key heads of `expandRatio` channels),
 * `v = v_proj x`, the additive recurrence {@link lightnetAttention} (causal for sequences, order-free for 2-D/3-D
 * grids unless told), then `o_proj(RMSNorm(o) * swish(g_proj x))`. Input `[batch, ...tokens, hiddenSize]`.
 * Parameters: `q_proj`, `k_proj`, `v_proj`, `g_proj.0`, `g_proj.1`, `g_norm.weight`, `o_proj` (no biases).
 */
export class LightNetAttention extends Module {
  /** Model width (= value dim). */
  readonly hiddenSize: number;
  /** Heads. */
  readonly numHeads: number;
  /** Key channels per head. */
  readonly expandRatio: number;
  /** Query projection `[numHeads * expandRatio, hiddenSize]`. */
  readonly q_proj: Linear;
  /** Key projection. */
  readonly k_proj: Linear;
  /** Value projection `[hiddenSize, hiddenSize]`. */
  readonly v_proj: Linear;
  /** Low-rank gate projection. */
  readonly g_proj: Sequential;
  /** Output RMSNorm over `hiddenSize`. */
  readonly g_norm: RMSNorm;
  /** Output projection. */
  readonly o_proj: Linear;

  constructor(hiddenSize: number, opts: LightNetAttentionOptions = {}) {
    super();
    const op = 'LightNetAttention';
    checkInt(op, 'hiddenSize', hiddenSize, 1);
    let { numHeads, expandRatio } = opts;
    if (numHeads === undefined) {
      expandRatio = expandRatio ?? 128;
      numHeads = Math.floor(hiddenSize / expandRatio);
    } else if (expandRatio === undefined) {
      expandRatio = Math.floor(hiddenSize / numHeads);
    }
    checkInt(op, 'numHeads', numHeads, 1);
    checkInt(op, 'expandRatio', expandRatio, 1);
    if (hiddenSize % numHeads !== 0) {
      throw new ValueError(op, 'numHeads', `a divisor of hiddenSize ${hiddenSize}`, String(numHeads));
    }
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.expandRatio = expandRatio;
    const keyDim = numHeads * expandRatio;
    const rank = checkInt(op, 'gateLowRankDim', opts.gateLowRankDim ?? 128, 1);
    const f = { dtype: opts.dtype, backend: opts.backend, bias: false };
    this.q_proj = this.registerModule('q_proj', new Linear(hiddenSize, keyDim, f));
    this.k_proj = this.registerModule('k_proj', new Linear(hiddenSize, keyDim, f));
    this.v_proj = this.registerModule('v_proj', new Linear(hiddenSize, hiddenSize, f));
    this.g_proj = this.registerModule(
      'g_proj',
      new Sequential(new Linear(hiddenSize, rank, f), new Linear(rank, hiddenSize, f)),
    );
    this.g_norm = this.registerModule(
      'g_norm',
      new RMSNorm(hiddenSize, {
        eps: opts.normEps ?? 1e-5,
        elementwiseAffine: opts.elementwiseAffine ?? true,
        dtype: opts.dtype,
        backend: opts.backend,
      }),
    );
    this.o_proj = this.registerModule('o_proj', new Linear(hiddenSize, hiddenSize, f));
  }

  /** `x` `[batch, ...tokens, hiddenSize]` to the same shape; `causal` defaults to "one token axis". */
  override forward(x: Tensor, opts: { causal?: boolean } = {}): Tensor {
    if (x.rank < 3 || x.shape[x.rank - 1] !== this.hiddenSize) {
      throw new ValueError(
        'LightNetAttention',
        'x',
        `a tensor [batch, ...tokens, ${this.hiddenSize}]`,
        `[${x.shape.join(', ')}]`,
      );
    }
    const lead = x.shape.slice(0, -1);
    const h = this.numHeads;
    return tidy(() => {
      const q = reshape(silu(this.q_proj.forward(x)), [...lead, h, this.expandRatio]);
      const k = reshape(this.k_proj.forward(x), [...lead, h, this.expandRatio]);
      const v = reshape(this.v_proj.forward(x), [...lead, h, this.hiddenSize / h]);
      const o = reshape(lightnetAttention(q, k, v, { causal: opts.causal }), [...lead, this.hiddenSize]);
      const g = this.g_proj.forward(x) as Tensor;
      return this.o_proj.forward(mul(this.g_norm.forward(o), silu(g)));
    });
  }
}
