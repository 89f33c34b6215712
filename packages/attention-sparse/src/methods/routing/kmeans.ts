// The Routing Transformer's online k-means as a module: centroids per head, updated in training by an
// exponential moving average of cluster counts and sums with Laplace smoothing (the official TF rule, VQ-VAE
// style), and the commitment loss that pulls routed items toward their centroid.
import {
  add,
  argmax,
  cast,
  div,
  einsum,
  type FactoryOptions,
  fmtShape,
  Generator,
  layerNorm,
  Module,
  mean,
  mul,
  noGrad,
  oneHot,
  ShapeError,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  ValueError,
  zeros,
} from '@attnkit/core';
import { routingAttention } from './routing.js';

/** Options of {@link RoutingAttention}. */
export interface RoutingAttentionOptions extends FactoryOptions {
  /** Heads. */
  heads: number;
  /** Channels per head. */
  headDim: number;
  /** Clusters C (lucidrains: `max_seq_len // window`). */
  clusters: number;
  /** Members per cluster w. */
  window: number;
  /** EMA decay lambda (default 0.999, the official function's). */
  decay?: number;
  /** Commitment loss weight beta (default 1e-4). */
  commitment?: number;
  /** Causal by true positions (default true). */
  causal?: boolean;
  /** q and k share their projection (default false). */
  shareQK?: boolean;
  /** Seed of the centroid initialisation (default 0). */
  seed?: number;
}

/** What {@link RoutingAttention.forward} returns. */
export interface RoutingResult {
  /** Attention output `[batch, n, heads, valueDim]`. */
  out: Tensor;
  /** Commitment loss `beta * mean ||x - sg(mu_assigned)||^2` over routed queries (and keys). */
  loss: Tensor;
}

const LAPLACE = 1e-5;

/**
 * Routing attention with its online k-means state. Buffers: `means` `[heads, C, headDim]` (initialised as
 * the layer norm of standard normal draws), `ema_count` `[heads, C]`, `ema_sum` `[heads, C, headDim]`. In
 * training mode each forward call updates them from the layer-normed queries (and keys unless shared).
 *
 * @example
 * const attn = new RoutingAttention({ heads: 4, headDim: 32, clusters: 8, window: 64 });
 * const { out, loss } = attn.forward(q, k, v);
 */
export class RoutingAttention extends Module {
  /** Options. */
  readonly opts: Readonly<RoutingAttentionOptions>;
  /** Centroids `[heads, clusters, headDim]`. */
  readonly means: Tensor;
  /** EMA of cluster sizes `[heads, clusters]`. */
  readonly emaCount: Tensor;
  /** EMA of cluster sums `[heads, clusters, headDim]`. */
  readonly emaSum: Tensor;

  constructor(opts: RoutingAttentionOptions) {
    super();
    for (const key of ['heads', 'headDim', 'clusters', 'window'] as const) {
      const v = opts[key];
      if (!(Number.isInteger(v) && v >= 1))
        throw new ValueError('RoutingAttention', key, 'a positive integer', String(v));
    }
    const decay = opts.decay ?? 0.999;
    if (!(decay >= 0 && decay < 1))
      throw new ValueError('RoutingAttention', 'decay', 'a number in [0, 1)', String(decay));
    this.opts = { ...opts };
    const { heads, clusters, headDim } = opts;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const gen = new Generator(opts.seed ?? 0);
    const draws = Float64Array.from({ length: heads * clusters * headDim }, () => gen.normal());
    const init = tidy(() => layerNorm(tensor(draws, { shape: [heads, clusters, headDim], ...f }), [headDim]));
    this.means = this.registerBuffer('means', init);
    this.emaCount = this.registerBuffer('ema_count', zeros([heads, clusters], f));
    this.emaSum = this.registerBuffer('ema_sum', zeros([heads, clusters, headDim], f));
  }

  /**
   * `q` `[batch, n, heads, headDim]`, `k`/`v` `[batch, n, kvHeads, .]`: routing attention with the current
   * centroids, the commitment loss, and (training mode) one EMA update of the centroids.
   */
  override forward(q: Tensor, k: Tensor, v: Tensor): RoutingResult {
    const { heads, headDim } = this.opts;
    if (q.rank !== 4 || q.shape[2] !== heads || q.shape[3] !== headDim) {
      throw new ShapeError('RoutingAttention', 'q', `[batch, n, ${heads}, ${headDim}]`, fmtShape(q.shape));
    }
    const out = routingAttention(q, k, v, {
      centroids: this.means,
      window: this.opts.window,
      causal: this.opts.causal,
      shareQK: this.opts.shareQK,
    });
    const items = this.opts.shareQK || k.shape[2] !== heads ? [q] : [q, k];
    const loss = tidy(() => {
      const parts = items.map((x) => this.commitment(x));
      return parts.length === 1 ? parts[0] : add(parts[0], parts[1]);
    });
    if (this.training) this.update(items);
    return { out, loss };
  }

  /** `beta * mean ||layerNorm(x) - mu_assigned||^2` with the centroids held constant. */
  private commitment(x: Tensor): Tensor {
    const xn = layerNorm(x, [this.opts.headDim]);
    const assigned = noGrad(() => einsum('bhnc,hcd->bnhd', this.assign(xn), this.means));
    return mul(mean(square(sub(xn, assigned))), this.opts.commitment ?? 1e-4);
  }

  /** One-hot nearest centroid (largest inner product) of normalised items: `[batch, heads, n, C]`. */
  private assign(xn: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        const scores = einsum('bnhd,hcd->bhnc', xn, cast(this.means, xn.dtype));
        return cast(oneHot(argmax(scores, { axis: -1 }), this.opts.clusters), xn.dtype);
      }),
    );
  }

  /**
   * One EMA step from `items` (each `[batch, n, heads, headDim]`): `count = decay count + (1 - decay) n_c`,
   * `sum = decay sum + (1 - decay) sum_c`, Laplace smoothing of the counts, `means = sum / count`. Called by
   * `forward` in training mode; public so a fixed batch can be iterated to convergence.
   */
  update(items: Tensor[]): void {
    const lambda = this.opts.decay ?? 0.999;
    const c = this.opts.clusters;
    noGrad(() =>
      tidy(() => {
        let count: Tensor | null = null;
        let total: Tensor | null = null;
        for (const x of items) {
          const xn = layerNorm(x, [this.opts.headDim]);
          const hot = this.assign(xn);
          const n = sum(hot, { axis: [0, 2] });
          const s = einsum('bhnc,bnhd->hcd', hot, xn);
          count = count ? add(count, n) : n;
          total = total ? add(total, s) : s;
        }
        if (!count || !total) return;
        const newCount = add(mul(this.emaCount, lambda), mul(cast(count, this.emaCount.dtype), 1 - lambda));
        const newSum = add(mul(this.emaSum, lambda), mul(cast(total, this.emaSum.dtype), 1 - lambda));
        const all = sum(newCount, { axis: -1, keepDims: true });
        const smoothed = mul(div(add(newCount, LAPLACE), add(all, c * LAPLACE)), all);
        const means = div(newSum, smoothed.reshape([...smoothed.shape, 1]));
        // assign takes over its argument, so every new value is computed first.
        this.means.assign(means);
        this.emaCount.assign(newCount);
        this.emaSum.assign(newSum);
      }),
    );
  }
}
