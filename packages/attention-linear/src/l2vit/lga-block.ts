// L2ViT's linear global attention block (`LGABlock` with enhanced=True) and its conditional positional encoding
// (`CPE`), parameter names as ChuanyangZheng/L2ViT `classification/models/l2vit.py`.
import {
  add,
  Conv2d,
  type FactoryOptions,
  LayerNorm,
  Mlp,
  Module,
  ModuleList,
  type Tensor,
  tidy,
} from '@attnkit/core';
import { checkInt } from '../util/check.js';
import { onTokenMap } from '../util/token-map.js';
import { L2ViTLinearAttention, LCM } from './l2vit-layers.js';

/** L2ViT's `CPE`: `x + DWConv_kxk(x)` on the token map (`proj`: depthwise, bias), no activation. */
export class CPE extends Module {
  /** Depthwise k x k convolution. */
  readonly proj: Conv2d;

  constructor(dim: number, k = 3, f: FactoryOptions = {}) {
    super();
    checkInt('CPE', 'dim', dim, 1);
    checkInt('CPE', 'k', k, 1);
    this.proj = this.registerModule(
      'proj',
      new Conv2d(dim, dim, k, { ...f, padding: Math.floor(k / 2), groups: dim }),
    );
  }

  /** `x` `[batch, H*W, C]`, `size` `[H, W]`. */
  override forward(x: Tensor, size: readonly [number, number]): Tensor {
    return tidy(() =>
      add(
        x,
        onTokenMap('CPE', x, size, (img) => this.proj.forward(img)),
      ),
    );
  }
}

/** Options of {@link LGABlock}. */
export interface LGABlockOptions extends FactoryOptions {
  /** MLP hidden width over dim (default 4). */
  mlpRatio?: number;
  /** Bias of the qkv projection (default true, as the blocks). */
  qkvBias?: boolean;
}

/**
 * L2ViT's linear global attention block (enhanced): `x = cpe.0(x)`, `x += attn(norm1 x)`,
 * `x += local_mp(norm3 x)` (the LCM), `x += mlp(norm2 x)`. Parameters `cpe.0.proj`, `norm1`, `attn`, `norm2`,
 * `mlp.fc1`, `mlp.fc2`, `norm3`, `local_mp` (drop path is the identity at inference and is left out).
 */
export class LGABlock extends Module {
  /** One CPE. */
  readonly cpe: ModuleList;
  /** Norm before attention. */
  readonly norm1: LayerNorm;
  /** Enhanced linear attention. */
  readonly attn: L2ViTLinearAttention;
  /** Norm before the MLP. */
  readonly norm2: LayerNorm;
  /** timm Mlp (fc1, GELU, fc2). */
  readonly mlp: Mlp;
  /** Norm before the LCM. */
  readonly norm3: LayerNorm;
  /** Local concentration module. */
  readonly local_mp: LCM;

  constructor(dim: number, numHeads: number, opts: LGABlockOptions = {}) {
    super();
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.cpe = this.registerModule('cpe', new ModuleList([new CPE(dim, 3, f)]));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, f));
    this.attn = this.registerModule(
      'attn',
      new L2ViTLinearAttention(dim, numHeads, { ...f, qkvBias: opts.qkvBias ?? true }),
    );
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, f));
    this.mlp = this.registerModule(
      'mlp',
      new Mlp(dim, { ...f, hiddenFeatures: Math.floor(dim * (opts.mlpRatio ?? 4)) }),
    );
    this.norm3 = this.registerModule('norm3', new LayerNorm(dim, f));
    this.local_mp = this.registerModule('local_mp', new LCM(dim, f));
  }

  /** `x` `[batch, H*W, dim]`, `size` `[H, W]`, to the same shape. */
  override forward(x: Tensor, size: readonly [number, number]): Tensor {
    return tidy(() => {
      let y = (this.cpe.children()[0] as CPE).forward(x, size);
      y = add(y, this.attn.forward(this.norm1.forward(y)));
      y = add(y, this.local_mp.forward(this.norm3.forward(y), size));
      return add(y, this.mlp.forward(this.norm2.forward(y)) as Tensor);
    });
  }
}
