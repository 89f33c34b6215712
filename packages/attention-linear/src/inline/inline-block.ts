// The transformer block of InLine-DeiT (LeapLabTHU/InLine `models/inline_deit.py`, `InLineBlock`): names as there.
import { add, type FactoryOptions, LayerNorm, Mlp, Module, type Tensor, tidy } from '@attnkit/core';
import { InLineAttention } from './inline-layer.js';

/** Options of {@link InLineBlock}. */
export interface InLineBlockOptions extends FactoryOptions {
  /** MLP hidden width over dim (default 4). */
  mlpRatio?: number;
  /** Bias of the qkv projection (default true: the ViT passes `qkv_bias=True`). */
  qkvBias?: boolean;
  /** Leading class tokens (default 1, as DeiT). */
  clsTokens?: number;
  /** LayerNorm epsilon (default 1e-6, the ViT's `partial(nn.LayerNorm, eps=1e-6)`). */
  normEps?: number;
}

/**
 * InLine-DeiT block: `x += attn(norm1 x)`, `x += mlp(norm2 x)`. Parameters `norm1`, `attn.*` (see
 * {@link InLineAttention}), `norm2`, `mlp.fc1`, `mlp.fc2`. Drop path (identity at inference) is left out.
 */
export class InLineBlock extends Module {
  /** Norm before attention. */
  readonly norm1: LayerNorm;
  /** InLine attention. */
  readonly attn: InLineAttention;
  /** Norm before the MLP. */
  readonly norm2: LayerNorm;
  /** timm Mlp. */
  readonly mlp: Mlp;

  constructor(dim: number, numHeads: number, opts: InLineBlockOptions = {}) {
    super();
    const f = { dtype: opts.dtype, backend: opts.backend };
    const eps = opts.normEps ?? 1e-6;
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { ...f, eps }));
    this.attn = this.registerModule(
      'attn',
      new InLineAttention(dim, numHeads, {
        ...f,
        qkvBias: opts.qkvBias ?? true,
        clsTokens: opts.clsTokens ?? 1,
      }),
    );
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { ...f, eps }));
    this.mlp = this.registerModule(
      'mlp',
      new Mlp(dim, { ...f, hiddenFeatures: Math.floor(dim * (opts.mlpRatio ?? 4)) }),
    );
  }

  /** `x` `[batch, clsTokens + H*W, dim]`; `grid` `[H, W]` defaults to a square. */
  override forward(x: Tensor, grid?: readonly [number, number]): Tensor {
    return tidy(() => {
      const y = add(x, this.attn.forward(this.norm1.forward(x), grid));
      return add(y, this.mlp.forward(this.norm2.forward(y)) as Tensor);
    });
  }
}
