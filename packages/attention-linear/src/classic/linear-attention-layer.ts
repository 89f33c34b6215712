// The multi-head layer around linear attention in idiap/fast-transformers (`AttentionLayer` with a
// `LinearAttention` / `CausalLinearAttention` inner attention): parameter names as there.
import { type FactoryOptions, Linear, Module, reshape, type Tensor, tidy, ValueError } from '@attnkit/core';
import { checkInt } from '../util/check.js';
import type { FeatureMap } from './feature-maps.js';
import { linearAttention } from './linear-attention.js';

/** Options of {@link LinearAttentionLayer}. */
export interface LinearAttentionLayerOptions extends FactoryOptions {
  /** Query/key channels per head (default `dModel / nHeads`). */
  dKeys?: number;
  /** Value channels per head (default `dModel / nHeads`). */
  dValues?: number;
  /** Width of the key/value source (default `dModel`), for cross-attention. */
  dModelKeys?: number;
  /** Causal (fast-transformers' `CausalLinearAttention`; default false). */
  causal?: boolean;
  /** Feature map (default `'elu+1'`, fast-transformers' `elu_feature_map`). */
  featureMap?: FeatureMap;
  /** Added to the normaliser (default 1e-6). */
  eps?: number;
}

/**
 * Multi-head linear attention, as fast-transformers' `AttentionLayer`: `queries` `[batch, L, dModel]` and
 * `keys`, `values` `[batch, S, dModelKeys]` are projected to heads, attended by {@link linearAttention} and
 * projected back. Parameters `query_projection`, `key_projection`, `value_projection`, `out_projection`
 * (all with biases).
 */
export class LinearAttentionLayer extends Module {
  /** Heads. */
  readonly nHeads: number;
  /** Query/key channels per head. */
  readonly dKeys: number;
  /** Value channels per head. */
  readonly dValues: number;
  /** `Linear(dModel, dKeys * nHeads)`. */
  readonly query_projection: Linear;
  /** `Linear(dModelKeys, dKeys * nHeads)`. */
  readonly key_projection: Linear;
  /** `Linear(dModelKeys, dValues * nHeads)`. */
  readonly value_projection: Linear;
  /** `Linear(dValues * nHeads, dModel)`. */
  readonly out_projection: Linear;
  readonly #opts: { causal: boolean; featureMap?: FeatureMap; eps?: number };

  constructor(dModel: number, nHeads: number, opts: LinearAttentionLayerOptions = {}) {
    super();
    const op = 'LinearAttentionLayer';
    checkInt(op, 'dModel', dModel, 1);
    this.nHeads = checkInt(op, 'nHeads', nHeads, 1);
    this.dKeys = checkInt(op, 'dKeys', opts.dKeys ?? Math.floor(dModel / nHeads), 1);
    this.dValues = checkInt(op, 'dValues', opts.dValues ?? Math.floor(dModel / nHeads), 1);
    const dModelKeys = checkInt(op, 'dModelKeys', opts.dModelKeys ?? dModel, 1);
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.query_projection = this.registerModule(
      'query_projection',
      new Linear(dModel, this.dKeys * nHeads, f),
    );
    this.key_projection = this.registerModule(
      'key_projection',
      new Linear(dModelKeys, this.dKeys * nHeads, f),
    );
    this.value_projection = this.registerModule(
      'value_projection',
      new Linear(dModelKeys, this.dValues * nHeads, f),
    );
    this.out_projection = this.registerModule('out_projection', new Linear(this.dValues * nHeads, dModel, f));
    this.#opts = { causal: opts.causal ?? false, featureMap: opts.featureMap, eps: opts.eps };
  }

  /** Self-attention with `forward(x)`, cross-attention with `forward(queries, keys, values)`. */
  override forward(queries: Tensor, keys: Tensor = queries, values: Tensor = keys): Tensor {
    const op = 'LinearAttentionLayer';
    for (const [arg, t] of [
      ['queries', queries],
      ['keys', keys],
      ['values', values],
    ] as const) {
      if (t.rank !== 3)
        throw new ValueError(op, arg, 'a tensor [batch, tokens, features]', `[${t.shape.join(', ')}]`);
    }
    if (this.#opts.causal && keys.shape[1] !== queries.shape[1]) {
      throw new ValueError(
        op,
        'keys',
        `${queries.shape[1]} tokens like queries (causal)`,
        String(keys.shape[1]),
      );
    }
    const [b, l] = queries.shape;
    const s = keys.shape[1];
    const h = this.nHeads;
    return tidy(() => {
      const q = reshape(this.query_projection.forward(queries), [b, l, h, this.dKeys]);
      const k = reshape(this.key_projection.forward(keys), [b, s, h, this.dKeys]);
      const v = reshape(this.value_projection.forward(values), [b, s, h, this.dValues]);
      const o = linearAttention(q, k, v, this.#opts);
      return this.out_projection.forward(reshape(o, [b, l, h * this.dValues]));
    });
  }
}
