// NeighborhoodAttention1D / 2D / 3D layers with NATTEN's parameter names (`qkv`, `rpb`, `proj`), so a state dict
// converted from NATTEN's modules loads: `qkv.weight [3C, C]`, `qkv.bias [3C]`, `rpb [heads, 2k-1, ...]`,
// `proj.weight [C, C]`, `proj.bias [C]`. The qkv output is split as NATTEN does: `[..., 3, heads, headDim]`.
import {
  Dropout,
  type FactoryOptions,
  fmtShape,
  init,
  Linear,
  Module,
  narrow,
  pad,
  reshape,
  ShapeError,
  type Tensor,
  tidy,
  ValueError,
  zeros,
} from '@attnkit/core';
import { neighborhoodAttention } from '../api/na.js';
import { perAxis } from '../api/options.js';

/** Options of the NeighborhoodAttention modules (NATTEN's keyword names, camelCased). */
export interface NeighborhoodAttentionModuleOptions extends FactoryOptions {
  /** Window size, scalar or per axis. */
  kernelSize: number | readonly number[];
  /** Dilation (default 1). */
  dilation?: number | readonly number[];
  /** Stride (default 1). */
  stride?: number | readonly number[];
  /** Causal masking (default false). */
  isCausal?: boolean | readonly boolean[];
  /** Learn a relative positional bias `rpb` (NATTEN's `rel_pos_bias`; default false; not with causal). */
  relPosBias?: boolean;
  /** Bias of the qkv projection (default true). */
  qkvBias?: boolean;
  /** Logit scale (default `headDim ** -0.5`). */
  qkScale?: number;
  /** Dropout probability after the output projection (default 0). */
  projDrop?: number;
  /** `'fused'` (default) or `'unfused'` attention. */
  kernel?: 'fused' | 'unfused';
}

/**
 * Multi-head neighborhood self-attention over `rank` token axes: input and output `[batch, ...tokens, dim]`.
 * Inputs smaller than `kernelSize * dilation` on an axis are zero-padded at the end and cropped back, as
 * NATTEN's modules do.
 */
export class NeighborhoodAttentionNd extends Module {
  /** Number of token axes. */
  readonly rank: number;
  /** Channels. */
  readonly dim: number;
  /** Heads. */
  readonly numHeads: number;
  /** Channels per head. */
  readonly headDim: number;
  /** Logit scale. */
  readonly scale: number;
  /** Window size per axis. */
  readonly kernelSize: number[];
  /** Dilation per axis. */
  readonly dilation: number[];
  /** Stride per axis. */
  readonly stride: number[];
  /** Causal masking per axis. */
  readonly isCausal: boolean[];
  /** `Linear(dim, 3 * dim)`. */
  readonly qkv: Linear;
  /** `[heads, 2k0 - 1, ...]`, or null without relative positional bias. */
  readonly rpb: Tensor | null;
  /** `Linear(dim, dim)`. */
  readonly proj: Linear;
  /** Dropout after `proj`. */
  readonly projDrop: Dropout;
  readonly #kernel: 'fused' | 'unfused';

  constructor(rank: number, dim: number, numHeads: number, opts: NeighborhoodAttentionModuleOptions) {
    super();
    const op = `NeighborhoodAttention${rank}D`;
    if (!Number.isInteger(numHeads) || numHeads < 1) {
      throw new ValueError(op, 'numHeads', 'a positive integer', String(numHeads));
    }
    if (!Number.isInteger(dim) || dim < 1 || dim % numHeads !== 0) {
      throw new ValueError(op, 'dim', `a positive multiple of numHeads = ${numHeads}`, String(dim));
    }
    this.rank = rank;
    this.dim = dim;
    this.numHeads = numHeads;
    this.headDim = dim / numHeads;
    this.scale = opts.qkScale ?? this.headDim ** -0.5;
    this.kernelSize = perAxis(op, 'kernelSize', opts.kernelSize, rank);
    this.dilation = perAxis(op, 'dilation', opts.dilation ?? 1, rank);
    this.stride = perAxis(op, 'stride', opts.stride ?? 1, rank);
    const causal = opts.isCausal ?? false;
    this.isCausal = typeof causal === 'boolean' ? new Array<boolean>(rank).fill(causal) : [...causal];
    if (opts.relPosBias && this.isCausal.some(Boolean)) {
      throw new ValueError(
        op,
        'relPosBias',
        'false when isCausal is set (NATTEN has no causal bias)',
        'true',
      );
    }
    this.#kernel = opts.kernel ?? 'fused';
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, { ...f, bias: opts.qkvBias ?? true }));
    if (opts.relPosBias) {
      const rpb = zeros([numHeads, ...this.kernelSize.map((k) => 2 * k - 1)], {
        dtype: f.dtype ?? 'float32',
        backend: f.backend,
      });
      init.truncNormal_(rpb, { std: 0.02, a: -2, b: 2 });
      this.rpb = this.registerParameter('rpb', rpb);
    } else {
      this.rpb = null;
    }
    this.proj = this.registerModule('proj', new Linear(dim, dim, f));
    this.projDrop = this.registerModule('proj_drop', new Dropout(opts.projDrop ?? 0));
  }

  /** `x` `[batch, ...tokens, dim]` to the same shape. */
  override forward(x: Tensor): Tensor {
    const op = `NeighborhoodAttention${this.rank}D`;
    if (x.rank !== this.rank + 2 || x.shape[x.rank - 1] !== this.dim) {
      throw new ShapeError(
        op,
        'x',
        `a ${this.rank + 2}-d tensor [batch, ...tokens, ${this.dim}]`,
        fmtShape(x.shape),
      );
    }
    return tidy(() => {
      const tokens = x.shape.slice(1, -1);
      const windows = this.kernelSize.map((k, a) => k * this.dilation[a]);
      const grown = tokens.map((n, a) => Math.max(n, windows[a]));
      // pad() lists [before, after] pairs from the last axis: the channel axis, then the token axes reversed.
      const padded = grown.some((n, a) => n !== tokens[a])
        ? pad(x, [
            0,
            0,
            ...tokens.flatMap((_, i) => [0, grown[tokens.length - 1 - i] - tokens[tokens.length - 1 - i]]),
          ])
        : x;
      const qkv = reshape(this.qkv.forward(padded), [x.shape[0], ...grown, 3, this.numHeads, this.headDim]);
      const part = (i: number) =>
        reshape(narrow(qkv, this.rank + 1, i, 1), [x.shape[0], ...grown, this.numHeads, this.headDim]);
      let out = neighborhoodAttention(part(0), part(1), part(2), {
        kernelSize: this.kernelSize,
        dilation: this.dilation,
        stride: this.stride,
        isCausal: this.isCausal,
        scale: this.scale,
        rpb: this.rpb,
        kernel: this.#kernel,
      });
      out = reshape(out, [x.shape[0], ...grown, this.dim]);
      for (let a = 0; a < this.rank; a++) if (grown[a] !== tokens[a]) out = narrow(out, a + 1, 0, tokens[a]);
      return this.projDrop.forward(this.proj.forward(out));
    });
  }

  override extraRepr(): string {
    return (
      `dim=${this.dim}, num_heads=${this.numHeads}, kernel_size=(${this.kernelSize.join(', ')}), ` +
      `dilation=(${this.dilation.join(', ')}), stride=(${this.stride.join(', ')}), ` +
      `is_causal=(${this.isCausal.map((c) => (c ? 'True' : 'False')).join(', ')}), rel_pos_bias=${this.rpb ? 'True' : 'False'}`
    );
  }
}

/** 1-D neighborhood self-attention layer: `[batch, length, dim]`. See {@link NeighborhoodAttentionNd}. */
export class NeighborhoodAttention1D extends NeighborhoodAttentionNd {
  constructor(dim: number, numHeads: number, opts: NeighborhoodAttentionModuleOptions) {
    super(1, dim, numHeads, opts);
  }
}

/**
 * 2-D neighborhood self-attention layer: `[batch, height, width, dim]`, NATTEN's `NeighborhoodAttention2D`.
 *
 * @example
 * const layer = new NeighborhoodAttention2D(64, 4, { kernelSize: 7, relPosBias: true });
 * const y = layer.forward(x); // x [1, 14, 14, 64]
 */
export class NeighborhoodAttention2D extends NeighborhoodAttentionNd {
  constructor(dim: number, numHeads: number, opts: NeighborhoodAttentionModuleOptions) {
    super(2, dim, numHeads, opts);
  }
}

/** 3-D neighborhood self-attention layer: `[batch, depth, height, width, dim]`. See {@link NeighborhoodAttentionNd}. */
export class NeighborhoodAttention3D extends NeighborhoodAttentionNd {
  constructor(dim: number, numHeads: number, opts: NeighborhoodAttentionModuleOptions) {
    super(3, dim, numHeads, opts);
  }
}
