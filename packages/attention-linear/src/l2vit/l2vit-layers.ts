// L2ViT's layers (ChuanyangZheng/L2ViT `classification/models/l2vit.py`): the enhanced linear attention module and
// the local concentration module (LCM), parameter names as there.
import {
  BatchNorm2d,
  Conv2d,
  type FactoryOptions,
  full,
  GELU,
  Linear,
  Module,
  narrow,
  reshape,
  type Tensor,
  tidy,
  ValueError,
} from '@attnkit/core';
import { checkInt } from '../util/check.js';
import { checkHeads } from '../util/heads.js';
import { onTokenMap } from '../util/token-map.js';
import { enhancedLinearAttention } from './enhanced-linear-attention.js';

/** Options of {@link L2ViTLinearAttention}. */
export interface L2ViTLinearAttentionOptions extends FactoryOptions {
  /** Bias on the qkv projection (default false; the LGA blocks pass true). */
  qkvBias?: boolean;
  /** Initial temperature (default `headDim^-0.5`, the code's `qk_scale or head_dim ** -0.5`). */
  qkScale?: number;
}

/**
 * L2ViT's `LinearAttention`: `qkv` projection, {@link enhancedLinearAttention} with the learnable per-head
 * `temperature` `[heads, 1, 1]` and the normaliser clamped at 100, then `proj`. Input `[batch, N, dim]`.
 */
export class L2ViTLinearAttention extends Module {
  /** Model width. */
  readonly dim: number;
  /** Heads. */
  readonly numHeads: number;
  /** `[heads, 1, 1]`, initialised to the scale. */
  readonly temperature: Tensor;
  /** `Linear(dim, 3 dim)`. */
  readonly qkv: Linear;
  /** `Linear(dim, dim)`. */
  readonly proj: Linear;

  constructor(dim: number, numHeads = 8, opts: L2ViTLinearAttentionOptions = {}) {
    super();
    checkHeads('L2ViTLinearAttention', dim, numHeads);
    this.dim = dim;
    this.numHeads = numHeads;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const scale = opts.qkScale ?? (dim / numHeads) ** -0.5;
    this.temperature = this.registerParameter('temperature', full([numHeads, 1, 1], scale, f));
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { ...f, bias: opts.qkvBias ?? false }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, f));
  }

  /** `x` `[batch, N, dim]` to the same shape. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ValueError(
        'L2ViTLinearAttention',
        'x',
        `a tensor [batch, N, ${this.dim}]`,
        `[${x.shape.join(', ')}]`,
      );
    }
    const [b, n, c] = x.shape;
    const h = this.numHeads;
    return tidy(() => {
      const qkv = reshape(this.qkv.forward(x), [b, n, 3, h, c / h]);
      const [q, k, v] = [0, 1, 2].map((i) => reshape(narrow(qkv, 2, i, 1), [b, n, h, c / h]));
      const o = enhancedLinearAttention(q, k, v, { temperature: reshape(this.temperature, [h]) });
      return this.proj.forward(reshape(o, [b, n, c]));
    });
  }
}

/** Options of {@link LCM}. */
export interface LCMOptions extends FactoryOptions {
  /** Depthwise kernel size (default 7). */
  kernelSize?: number;
}

/**
 * L2ViT's local concentration module: on the token map `[batch, H*W, C]` laid out as an image, depthwise conv
 * (k x k, bias) -> GELU -> BatchNorm2d -> depthwise conv (k x k, bias), back to tokens. Parameters `conv1`, `bn`,
 * `conv2` (BatchNorm with its running statistics, as PyTorch).
 */
export class LCM extends Module {
  /** First depthwise conv. */
  readonly conv1: Conv2d;
  /** GELU between the convs. */
  readonly act: GELU;
  /** BatchNorm2d after the activation. */
  readonly bn: BatchNorm2d;
  /** Second depthwise conv. */
  readonly conv2: Conv2d;

  constructor(inFeatures: number, opts: LCMOptions = {}) {
    super();
    checkInt('LCM', 'inFeatures', inFeatures, 1);
    const k = checkInt('LCM', 'kernelSize', opts.kernelSize ?? 7, 1);
    const f = { dtype: opts.dtype, backend: opts.backend };
    const conv = () =>
      new Conv2d(inFeatures, inFeatures, k, { ...f, padding: Math.floor(k / 2), groups: inFeatures });
    this.conv1 = this.registerModule('conv1', conv());
    this.act = this.registerModule('act', new GELU());
    this.bn = this.registerModule('bn', new BatchNorm2d(inFeatures, f));
    this.conv2 = this.registerModule('conv2', conv());
  }

  /** `x` `[batch, H*W, C]`, `size` `[H, W]`, to `[batch, H*W, C]`. */
  override forward(x: Tensor, size: readonly [number, number]): Tensor {
    return onTokenMap('LCM', x, size, (img) =>
      this.conv2.forward(this.bn.forward(this.act.forward(this.conv1.forward(img)))),
    );
  }
}
