// MD-TPE, LightNet's multi-dimensional Toeplitz positional encoding (xmixers `Tpe` / `MdTpe`): along each chosen
// token axis, a data-independent decayed causal sum o_t = sum_{s<=t} lambda_h^(t-s) (q_h . k_h) x_s with learnt
// per-head vectors q, k and decay lambda_h = sigmoid(log_decay_h), then a per-head RMSNorm and a projection; the
// axes' outputs are summed.
import {
  einsum,
  exp,
  type FactoryOptions,
  Linear,
  Module,
  ModuleList,
  mul,
  neg,
  ones,
  randomNormal,
  reshape,
  rmsNorm,
  softplus,
  sum,
  type Tensor,
  tensor,
  tidy,
  ValueError,
} from '@attnkit/core';
import { checkInt } from '../util/check.js';
import { checkHeads } from '../util/heads.js';

const LETTERS = 'ijklmnop';

/**
 * The decayed causal sum along one token axis: `x` `[batch, ...tokens, heads, e]`, `logDecay` `[heads]`
 * (`log lambda_h <= 0`), returns `o[..., t, ...] = sum_{s<=t} lambda_h^(t-s) x[..., s, ...]` along token axis
 * `axis` (0-based among the token axes). Computed with the axis's Toeplitz matrix `T_ts = lambda^(t-s)` (token
 * axes of images and videos are short), so it is differentiable in `x` and in `logDecay`.
 */
export function toeplitzDecaySum(x: Tensor, logDecay: Tensor, axis: number): Tensor {
  const op = 'toeplitzDecaySum';
  x.assertAlive(op, 'x');
  logDecay.assertAlive(op, 'logDecay');
  const r = x.rank - 3;
  if (r < 1 || r > LETTERS.length) {
    throw new ValueError(
      op,
      'x',
      'a tensor [batch, ...tokens, heads, dim] with 1 to 8 token axes',
      `[${x.shape.join(', ')}]`,
    );
  }
  const heads = x.shape[x.rank - 2];
  if (logDecay.rank !== 1 || logDecay.shape[0] !== heads) {
    throw new ValueError(op, 'logDecay', `a tensor [${heads}]`, `[${logDecay.shape.join(', ')}]`);
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= r) {
    throw new ValueError(op, 'axis', `a token axis in [0, ${r})`, String(axis));
  }
  const len = x.shape[1 + axis];
  const lag = new Float64Array(len * len);
  const mask = new Float64Array(len * len);
  for (let t = 0; t < len; t++) {
    for (let s = 0; s <= t; s++) {
      lag[t * len + s] = t - s;
      mask[t * len + s] = 1;
    }
  }
  const f = { dtype: x.dtype, backend: x.backend.name, shape: [1, len, len] };
  return tidy(() => {
    // T[h, t, s] = exp((t - s) log lambda_h) below the diagonal; lags above it are 0 so exp never overflows.
    const T = mul(exp(mul(reshape(logDecay, [heads, 1, 1]), tensor(lag, f))), tensor(mask, f));
    const tok = LETTERS.slice(0, r);
    const outTok = `${tok.slice(0, axis)}z${tok.slice(axis + 1)}`;
    return einsum(`hz${tok[axis]},b${tok}hd->b${outTok}hd`, T, x);
  });
}

/** Options of {@link Tpe}. */
export interface TpeOptions extends FactoryOptions {
  /** Bias on `o_proj` (default false). */
  bias?: boolean;
  /** Epsilon of the per-head RMSNorm (default 1e-6; the reference's value is not documented, our choice). */
  normEps?: number;
}

/**
 * One Toeplitz positional encoder (xmixers `Tpe`): input `[batch, ...tokens, embedDim]` (channels last), output
 * the same shape: `o = o_proj(groupRms(toeplitzDecaySum(x, logsigmoid(log_decay), axis) * (q_h . k_h)))`.
 * Parameters `q` `[embedDim]`, `k` `[embedDim]`, `log_decay` `[heads]`, `norm.weight` `[embedDim]`,
 * `o_proj.weight` (and `o_proj.bias` with `bias`).
 */
export class Tpe extends Module {
  /** Model width. */
  readonly embedDim: number;
  /** Heads. */
  readonly numHeads: number;
  /** Per-head query vector (split into heads). */
  readonly q: Tensor;
  /** Per-head key vector (split into heads). */
  readonly k: Tensor;
  /** Decay logits: `lambda_h = sigmoid(log_decay_h)`. */
  readonly log_decay: Tensor;
  /** Holds the per-head RMSNorm weight as `norm.weight`. */
  readonly norm: GroupRmsNormWeight;
  /** Output projection. */
  readonly o_proj: Linear;

  constructor(embedDim: number, numHeads: number, opts: TpeOptions = {}) {
    super();
    checkHeads('Tpe', embedDim, numHeads, 'embedDim');
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const randn = (shape: number[]) => {
      const t = randomNormal(shape, { backend: opts.backend });
      return f.dtype === 'float64' ? t.cast('float64') : t;
    };
    this.q = this.registerParameter('q', randn([embedDim]));
    this.k = this.registerParameter('k', randn([embedDim]));
    this.log_decay = this.registerParameter('log_decay', randn([numHeads]));
    this.norm = this.registerModule(
      'norm',
      new GroupRmsNormWeight(embedDim, numHeads, opts.normEps ?? 1e-6, f),
    );
    this.o_proj = this.registerModule(
      'o_proj',
      new Linear(embedDim, embedDim, { ...f, bias: opts.bias ?? false }),
    );
  }

  /** `x` `[batch, ...tokens, embedDim]`, encoded along token axis `axis` (default: the last token axis). */
  override forward(x: Tensor, axis?: number): Tensor {
    if (x.rank < 3 || x.shape[x.rank - 1] !== this.embedDim) {
      throw new ValueError(
        'Tpe',
        'x',
        `a tensor [batch, ...tokens, ${this.embedDim}]`,
        `[${x.shape.join(', ')}]`,
      );
    }
    const h = this.numHeads;
    const d = this.embedDim / h;
    const lead = x.shape.slice(0, -1);
    return tidy(() => {
      const xh = reshape(x, [...lead, h, d]);
      // log sigmoid(a) = -softplus(-a): the log-decay, <= 0.
      const o = toeplitzDecaySum(xh, neg(softplus(neg(this.log_decay))), axis ?? x.rank - 3);
      const qk = sum(mul(reshape(this.q, [h, d]), reshape(this.k, [h, d])), { axis: 1, keepDims: true }); // [h, 1]
      const normed = this.norm.forward(mul(o, qk));
      return this.o_proj.forward(reshape(normed, [...lead, this.embedDim]));
    });
  }
}

/** RMSNorm over each head's channels with a `[embedDim]` weight (xmixers' grouped rmsnorm), input `[..., h, d]`. */
export class GroupRmsNormWeight extends Module {
  /** `[embedDim]`, ones at init. */
  readonly weight: Tensor;
  /** Added to the mean square. */
  readonly eps: number;
  readonly #heads: number;

  constructor(embedDim: number, heads: number, eps: number, f: FactoryOptions = {}) {
    super();
    this.#heads = heads;
    this.eps = eps;
    this.weight = this.registerParameter(
      'weight',
      ones([embedDim], { dtype: f.dtype ?? 'float32', backend: f.backend }),
    );
  }

  /** `x` `[..., heads, headDim]`, normalised per head and scaled by the weight. */
  override forward(x: Tensor): Tensor {
    const d = x.shape[x.rank - 1];
    return tidy(() => mul(rmsNorm(x, d, null, this.eps), reshape(this.weight, [this.#heads, d])));
  }
}

/**
 * MD-TPE (xmixers `MdTpe`): one {@link Tpe} per chosen token axis, applied along that axis, outputs summed.
 * Parameters `tpes.<i>.*`. `axes` are 0-based token axes (xmixers' `dims` count from the end of
 * `[batch, ...tokens, embedDim]`: its default `[-2]` is our last token axis).
 */
export class MdTpe extends Module {
  /** The token axis of each encoder. */
  readonly axes: number[];
  /** The encoders, one per axis. */
  readonly tpes: ModuleList;

  constructor(embedDim: number, numHeads: number, axes: readonly number[], opts: TpeOptions = {}) {
    super();
    if (!Array.isArray(axes) || axes.length === 0) {
      throw new ValueError('MdTpe', 'axes', 'a non-empty list of token axes', String(axes));
    }
    axes.forEach((a, i) => checkInt('MdTpe', `axes[${i}]`, a, 0));
    this.axes = [...axes];
    this.tpes = this.registerModule(
      'tpes',
      new ModuleList(axes.map(() => new Tpe(embedDim, numHeads, opts))),
    );
  }

  /** `x` `[batch, ...tokens, embedDim]` to the same shape. */
  override forward(x: Tensor): Tensor {
    const r = x.rank - 2;
    this.axes.forEach((a, i) => {
      if (a >= r) throw new ValueError('MdTpe', `axes[${i}]`, `a token axis of x in [0, ${r})`, String(a));
    });
    return tidy(() => {
      const parts = (this.tpes.children() as Tpe[]).map((t, i) => t.forward(x, this.axes[i]));
      return parts.reduce((acc, p) => acc.add(p));
    });
  }
}
