// The InLine attention module of LeapLabTHU/InLine `models/inline_deit.py` (`InLineAttention`), parameter names as
// there: qkv, proj, residual.0 / residual.2 (grouped 1x1 Conv1d predicting the 3x3 local kernels).
import {
  add,
  concat,
  type FactoryOptions,
  GELU,
  Linear,
  Module,
  mean,
  narrow,
  reshape,
  Sequential,
  type Tensor,
  tidy,
  unsqueeze,
  ValueError,
} from '@attnkit/core';
import { checkInt } from '../util/check.js';
import { Conv1d } from '../util/conv1d.js';
import { checkHeads } from '../util/heads.js';
import { inlineAttention, inlineLocalTerm } from './inline-attention.js';

/** Options of {@link InLineAttention}. */
export interface InLineAttentionOptions extends FactoryOptions {
  /** Bias on the qkv projection (default false, as the module's default). */
  qkvBias?: boolean;
  /**
   * Leading tokens (class/distillation tokens) outside the image grid (default 0; the released DeiT models use 1):
   * they take part in the global term but not in the local one.
   */
  clsTokens?: number;
}

/**
 * InLine attention layer: `x` `[batch, clsTokens + H*W, dim]` to the same shape. Global term
 * {@link inlineAttention} per head (identity feature map, scale `headDim^-0.5`), plus on the image tokens the
 * local term {@link inlineLocalTerm} of V with 3x3 kernels `residual(mean_tokens(x))` per sample and channel,
 * then `proj`. Parameters `qkv`, `proj`, `residual.0` (`Conv1d(dim, dim, 1, groups=heads)`), `residual.2`
 * (`Conv1d(dim, 9 dim, 1, groups=heads)`).
 */
export class InLineAttention extends Module {
  /** Model width. */
  readonly dim: number;
  /** Heads. */
  readonly numHeads: number;
  /** Leading tokens outside the grid. */
  readonly clsTokens: number;
  /** `Linear(dim, 3 dim)`. */
  readonly qkv: Linear;
  /** `Linear(dim, dim)`. */
  readonly proj: Linear;
  /** Kernel predictor: Conv1d, GELU, Conv1d. */
  readonly residual: Sequential;

  constructor(dim: number, numHeads: number, opts: InLineAttentionOptions = {}) {
    super();
    checkHeads('InLineAttention', dim, numHeads);
    this.dim = dim;
    this.numHeads = numHeads;
    this.clsTokens = checkInt('InLineAttention', 'clsTokens', opts.clsTokens ?? 0, 0);
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { ...f, bias: opts.qkvBias ?? false }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, f));
    this.residual = this.registerModule(
      'residual',
      new Sequential(
        new Conv1d(dim, dim, 1, { ...f, groups: numHeads }),
        new GELU(),
        new Conv1d(dim, 9 * dim, 1, { ...f, groups: numHeads }),
      ),
    );
  }

  /** `x` `[batch, clsTokens + H*W, dim]`; `grid` `[H, W]` defaults to a square. */
  override forward(x: Tensor, grid?: readonly [number, number]): Tensor {
    const op = 'InLineAttention';
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ValueError(op, 'x', `a tensor [batch, tokens, ${this.dim}]`, `[${x.shape.join(', ')}]`);
    }
    const [b, n, c] = x.shape;
    const side = Math.round(Math.sqrt(n - this.clsTokens));
    const [gh, gw] = grid ?? [side, side];
    if (gh * gw !== n - this.clsTokens) {
      throw new ValueError(op, 'grid', `H * W = ${n - this.clsTokens} image tokens`, `[${gh}, ${gw}]`);
    }
    const h = this.numHeads;
    const d = c / h;
    return tidy(() => {
      const qkv = reshape(this.qkv.forward(x), [b, n, 3, h, d]);
      const [q, k, v] = [0, 1, 2].map((i) => reshape(narrow(qkv, 2, i, 1), [b, n, h, d]));
      const global = reshape(inlineAttention(q, k, v), [b, n, c]);
      // Kernels from the mean over all tokens (cls included), [b, c, 1] -> [b, 9c, 1] -> [b, c, 3, 3].
      const kernels = reshape(this.residual.forward(unsqueeze(mean(x, { axis: 1 }), 2)) as Tensor, [
        b,
        c,
        3,
        3,
      ]);
      const vImg = reshape(narrow(v, 1, this.clsTokens, gh * gw), [b, gh, gw, c]);
      const local = reshape(inlineLocalTerm(vImg, kernels), [b, gh * gw, c]);
      const imgOut = add(narrow(global, 1, this.clsTokens, gh * gw), local);
      const out = this.clsTokens > 0 ? concat([narrow(global, 1, 0, this.clsTokens), imgOut], 1) : imgOut;
      return this.proj.forward(out);
    });
  }
}
