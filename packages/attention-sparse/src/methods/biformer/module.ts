// The BRA layer as a module (parameter names follow BiFormer's bra_legacy: qkv, lepe, wo) and BiFormer's
// per-stage configurations.
import {
  Conv2d,
  type FactoryOptions,
  fmtShape,
  Linear,
  Module,
  reshape,
  ShapeError,
  split,
  type Tensor,
  tidy,
  ValueError,
} from '@attnkit/core';
import { biformerAttention } from './bra.js';

/** Options of {@link BiLevelRoutingAttention}. */
export interface BraOptions extends FactoryOptions {
  /** Number of heads (dim must be a multiple). */
  numHeads: number;
  /** Regions per side S. */
  nWin: number;
  /** Routed regions per query region (negative: all). */
  topk: number;
  /** Kernel of the LCE depthwise conv (`side_dwconv`, default 5; 0 disables it). */
  sideDwconv?: number;
  /** BiFormer's `dim^-0.5` scale (default true, as its checkpoints). */
  dimScale?: boolean;
}

/**
 * BiFormer's bi-level routing attention layer: `x` `[batch, height, width, dim]` to the same shape.
 * `qkv = Linear(dim, 3 dim)`, routing on region means (shared by heads, no gradient), token attention over
 * the routed regions on the block-sparse engine, LCE (`lepe`, a depthwise conv of V), then `wo`.
 *
 * @example
 * const bra = new BiLevelRoutingAttention(64, { numHeads: 2, nWin: 7, topk: 1 });
 * const y = bra.forward(x); // x [1, 56, 56, 64]
 */
export class BiLevelRoutingAttention extends Module {
  /** Channels. */
  readonly dim: number;
  /** Options. */
  readonly opts: Readonly<BraOptions>;
  /** Joint q, k, v projection. */
  readonly qkv: Linear;
  /** LCE depthwise conv, or null when disabled. */
  readonly lepe: Conv2d | null;
  /** Output projection. */
  readonly wo: Linear;

  constructor(dim: number, opts: BraOptions) {
    super();
    if (!(Number.isInteger(opts.numHeads) && opts.numHeads >= 1 && dim % opts.numHeads === 0)) {
      throw new ValueError(
        'BiLevelRoutingAttention',
        'numHeads',
        `a divisor of dim ${dim}`,
        String(opts.numHeads),
      );
    }
    this.dim = dim;
    this.opts = { ...opts };
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, f));
    const side = opts.sideDwconv ?? 5;
    this.lepe =
      side > 0
        ? this.registerModule(
            'lepe',
            new Conv2d(dim, dim, side, { ...f, padding: Math.floor(side / 2), groups: dim }),
          )
        : null;
    this.wo = this.registerModule('wo', new Linear(dim, dim, f));
  }

  /** `x` `[batch, height, width, dim]` to `[batch, height, width, dim]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.dim) {
      throw new ShapeError(
        'BiLevelRoutingAttention',
        'x',
        `[batch, height, width, ${this.dim}]`,
        fmtShape(x.shape),
      );
    }
    const [b, h, w] = x.shape;
    const heads = this.opts.numHeads;
    return tidy(() => {
      const [q, k, v] = split(this.qkv.forward(x), this.dim, -1).map((t) =>
        reshape(t, [b, h, w, heads, this.dim / heads]),
      );
      const lce = this.lepe ? { weight: this.lepe.weight, bias: this.lepe.bias } : undefined;
      const y = biformerAttention(q, k, v, {
        nWin: this.opts.nWin,
        topk: this.opts.topk,
        dimScale: this.opts.dimScale,
        lce,
      });
      return this.wo.forward(reshape(y, [b, h, w, this.dim]));
    });
  }
}

/** One BiFormer model variant (models/biformer.py and its README). */
export interface BiformerVariant {
  /** Blocks per stage. */
  readonly depth: readonly [number, number, number, number];
  /** Channels per stage. */
  readonly embedDim: readonly [number, number, number, number];
  /** Channels per head (heads = embedDim / headDim). */
  readonly headDim: number;
  /** Routed regions per stage; -2 in stage 4 means full attention (one token per region at 7x7). */
  readonly topks: readonly [number, number, number, number];
  /** Regions per side in every stage. */
  readonly nWin: number;
  /** MLP expansion ratio. */
  readonly mlpRatio: number;
}

/** BiFormer-T/S/B as released (ImageNet-1k top-1 81.4 / 83.8 / 84.3). */
export const BIFORMER_VARIANTS: Readonly<Record<'tiny' | 'small' | 'base', BiformerVariant>> = {
  tiny: {
    depth: [2, 2, 8, 2],
    embedDim: [64, 128, 256, 512],
    headDim: 32,
    topks: [1, 4, 16, -2],
    nWin: 7,
    mlpRatio: 3,
  },
  small: {
    depth: [4, 4, 18, 4],
    embedDim: [64, 128, 256, 512],
    headDim: 32,
    topks: [1, 4, 16, -2],
    nWin: 7,
    mlpRatio: 3,
  },
  base: {
    depth: [4, 4, 18, 4],
    embedDim: [96, 192, 384, 768],
    headDim: 32,
    topks: [1, 4, 16, -2],
    nWin: 7,
    mlpRatio: 3,
  },
};

/** The BRA settings of one stage of a variant at an input resolution. */
export interface BiformerStage {
  /** Channels. */
  dim: number;
  /** Heads. */
  numHeads: number;
  /** Routed regions (-2: full attention). */
  topk: number;
  /** Regions per side. */
  nWin: number;
  /** Blocks. */
  depth: number;
  /** Token grid side at this stage (input / 4, / 8, / 16, / 32). */
  resolution: number;
  /** Tokens per region. */
  regionTokens: number;
}

/** The configuration of `stage` (0-3) of a BiFormer variant for a square `inputSize` (default 224). */
export function biformerStage(
  variant: 'tiny' | 'small' | 'base',
  stage: number,
  inputSize = 224,
): BiformerStage {
  const v = BIFORMER_VARIANTS[variant];
  if (!v) throw new ValueError('biformerStage', 'variant', "'tiny', 'small' or 'base'", String(variant));
  if (!(Number.isInteger(stage) && stage >= 0 && stage < 4)) {
    throw new ValueError('biformerStage', 'stage', 'an integer in [0, 4)', String(stage));
  }
  const resolution = inputSize / 2 ** (stage + 2);
  if (!Number.isInteger(resolution) || resolution % v.nWin !== 0) {
    throw new ValueError(
      'biformerStage',
      'inputSize',
      `a size giving grids divisible by nWin ${v.nWin}`,
      String(inputSize),
    );
  }
  return {
    dim: v.embedDim[stage],
    numHeads: v.embedDim[stage] / v.headDim,
    topk: v.topks[stage],
    nWin: v.nWin,
    depth: v.depth[stage],
    resolution,
    regionTokens: (resolution / v.nWin) ** 2,
  };
}
