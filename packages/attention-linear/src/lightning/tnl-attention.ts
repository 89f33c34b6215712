// TransNormerLLM's attention layer around Lightning Attention-2 (examples/module/tnl_attn.py): parameter names as
// in that module, so its state dicts load.
import {
  type FactoryOptions,
  LayerNorm,
  Linear,
  Module,
  mul,
  reshape,
  Sequential,
  sigmoid,
  silu,
  type Tensor,
  tensor,
  tidy,
  ValueError,
} from '@attnkit/core';
import { checkHeads } from '../util/heads.js';
import { lightningAttention } from './lightning-attention.js';
import { tnlLayerSlopes } from './slopes.js';

/** Options of {@link TnlAttention}. */
export interface TnlAttentionOptions extends FactoryOptions {
  /** Biases on the projections and the output gate (default false). */
  bias?: boolean;
  /** This layer's index, for the per-layer decay (default 0). */
  layerIdx?: number;
  /** Number of layers of the model (default 12). */
  numLayers?: number;
}

/**
 * TNL attention: `q, k, v = SiLU(Linear(x))`, Lightning Attention-2 with decays `tnlLayerSlopes(heads, layerIdx,
 * numLayers)`, LayerNorm over the model dim, times `sigmoid(output_gate(x))` (a low-rank `embedDim -> headDim ->
 * embedDim` pair of linears), then `o_proj`. Input and output `[batch, n, embedDim]`. Parameters:
 * `q_proj`, `k_proj`, `v_proj`, `o_proj`, `norm`, `output_gate.0`, `output_gate.1`; the decays are the
 * non-persistent buffer `slope_rate` `[heads, 1, 1]`.
 */
export class TnlAttention extends Module {
  /** Model width. */
  readonly embedDim: number;
  /** Heads. */
  readonly numHeads: number;
  /** `embedDim / numHeads`. */
  readonly headDim: number;
  /** Per-head decay rates of this layer. */
  readonly decay: number[];
  /** Query projection. */
  readonly q_proj: Linear;
  /** Key projection. */
  readonly k_proj: Linear;
  /** Value projection. */
  readonly v_proj: Linear;
  /** Output projection. */
  readonly o_proj: Linear;
  /** LayerNorm over the attention output. */
  readonly norm: LayerNorm;
  /** Low-rank output gate (before the sigmoid). */
  readonly output_gate: Sequential;

  constructor(embedDim: number, numHeads: number, opts: TnlAttentionOptions = {}) {
    super();
    checkHeads('TnlAttention', embedDim, numHeads, 'embedDim');
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    const f = { dtype: opts.dtype, backend: opts.backend, bias: opts.bias ?? false };
    this.q_proj = this.registerModule('q_proj', new Linear(embedDim, embedDim, f));
    this.k_proj = this.registerModule('k_proj', new Linear(embedDim, embedDim, f));
    this.v_proj = this.registerModule('v_proj', new Linear(embedDim, embedDim, f));
    this.o_proj = this.registerModule('o_proj', new Linear(embedDim, embedDim, f));
    this.norm = this.registerModule(
      'norm',
      new LayerNorm(embedDim, { dtype: opts.dtype, backend: opts.backend }),
    );
    this.output_gate = this.registerModule(
      'output_gate',
      new Sequential(new Linear(embedDim, this.headDim, f), new Linear(this.headDim, embedDim, f)),
    );
    this.decay = tnlLayerSlopes(numHeads, opts.layerIdx ?? 0, opts.numLayers ?? 12);
    this.registerBuffer(
      'slope_rate',
      tensor(this.decay, { shape: [numHeads, 1, 1], dtype: opts.dtype ?? 'float32', backend: opts.backend }),
      { persistent: false },
    );
  }

  /** `x` `[batch, n, embedDim]` to `[batch, n, embedDim]` (causal). */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new ValueError(
        'TnlAttention',
        'x',
        `a tensor [batch, n, ${this.embedDim}]`,
        `[${x.shape.join(', ')}]`,
      );
    }
    const [b, n] = x.shape;
    return tidy(() => {
      const heads = (t: Tensor) => reshape(silu(t), [b, n, this.numHeads, this.headDim]);
      const o = lightningAttention(
        heads(this.q_proj.forward(x)),
        heads(this.k_proj.forward(x)),
        heads(this.v_proj.forward(x)),
        { decay: this.decay },
      );
      const normed = this.norm.forward(reshape(o, [b, n, this.embedDim])) as Tensor;
      const gate = sigmoid(this.output_gate.forward(x) as Tensor);
      return this.o_proj.forward(mul(normed, gate));
    });
  }
}
