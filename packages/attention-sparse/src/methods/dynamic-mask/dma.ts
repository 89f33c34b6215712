// Dynamic Mask Attention (SmallDoges/flash-dmattn, spec section 7): a value-derived, query-independent bias
// per key and kv head; each kv head keeps only its `windowSize` keys of largest bias (then causality), and
// attends them with the bias added to the logits. The bias enters the engine exactly by widening q and k
// by one channel: [q * scale, 1] . [k, bias] = scale q.k + bias, so its gradient comes with k's.
import {
  cast,
  concat,
  contiguous,
  einsum,
  expand,
  type FactoryOptions,
  fmtShape,
  gt,
  indexSelect,
  Linear,
  Module,
  mul,
  noGrad,
  ones,
  permute,
  reshape,
  ShapeError,
  scatter,
  softplus,
  type Tensor,
  tensor,
  tidy,
  topk,
  zeros,
} from '@attnkit/core';
import { type BlockLayout, blockSparseAttention } from '../../engine/index.js';
import { checkInt, checkQkv, listsFromSelection } from '../select.js';

/** Options of {@link dynamicMaskAttention}. */
export interface DmaOptions {
  /** Per-key bias `[batch, nk, kvHeads]` (e.g. from {@link DynamicMaskBias}); added to the scaled logits. */
  bias: Tensor;
  /** Keys kept per kv head (`window_size`); with `nk <= windowSize` attention is dense plus bias. */
  windowSize: number;
  /** Causal (default true): key `j <= i + nk - nq`, applied after the selection. */
  causal?: boolean;
  /** Tokens per block of the engine layout (default 64). */
  blockSize?: number;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

const OP = 'dynamicMaskAttention';

/**
 * The keys each head keeps: bool `[batch, heads, nk]`, the top `windowSize` biases of its kv head (no
 * gradient; all keys when `nk <= windowSize`).
 */
export function dmaKeySelection(bias: Tensor, heads: number, windowSize: number): Tensor {
  const [b, nk, kvHeads] = bias.shape;
  return noGrad(() =>
    tidy(() => {
      if (nk <= windowSize) return gt(ones([b, heads, nk], { backend: bias.backend.name }), 0);
      const perHead = permute(bias, [0, 2, 1]); // [b, kvHeads, nk]
      const { indices } = topk(perHead, windowSize);
      const sel = scatter(zeros([b, kvHeads, nk], { backend: bias.backend.name }), 2, indices, 1);
      // Repeat kv heads for their query heads (grouped-query attention).
      const group = heads / kvHeads;
      const map = Int32Array.from({ length: heads }, (_, h) => Math.floor(h / group));
      return gt(indexSelect(sel, 1, tensor(map, { dtype: 'int32', backend: bias.backend.name })), 0);
    }),
  );
}

/**
 * The engine layout of a key selection: every query block lists the key blocks holding a kept key (the
 * same for all query blocks), `[batch, heads, nQB, width]`.
 */
export function dmaLayout(sel: Tensor, nq: number, blockSize: number): BlockLayout {
  const [b, heads, nk] = sel.shape;
  const nkb = Math.ceil(nk / blockSize);
  const nqb = Math.ceil(nq / blockSize);
  const member = new Float32Array(nkb * nk);
  for (let j = 0; j < nk; j++) member[Math.floor(j / blockSize) * nk + j] = 1;
  const kvBlocks = noGrad(() =>
    tidy(() => {
      const m = tensor(member, { shape: [nkb, nk], backend: sel.backend.name });
      const any = gt(einsum('bhn,cn->bhc', cast(sel, 'float32'), m), 0);
      const lists = reshape(listsFromSelection(any, nkb), [b, heads, 1, nkb]);
      return contiguous(expand(lists, [b, heads, nqb, nkb]));
    }),
  );
  return { blockQ: blockSize, blockK: blockSize, kvBlocks };
}

/**
 * Dynamic Mask Attention: `q` `[batch, nq, heads, dim]`, `k`/`v` `[batch, nk, kvHeads, .]`, `bias`
 * `[batch, nk, kvHeads]`. Each kv head keeps its `windowSize` keys of largest bias (query-independent),
 * causality is applied after, and the kept keys are attended with `softmax(scale q.k + bias)`. Early queries
 * can be left with no key: their output is 0. Differentiable in q, k, v and the bias (not the selection).
 *
 * @example
 * const y = dynamicMaskAttention(q, k, v, { bias: dmaBias.forward(v), windowSize: 1024 });
 */
export function dynamicMaskAttention(q: Tensor, k: Tensor, v: Tensor, opts: DmaOptions): Tensor {
  checkQkv(OP, q, k, v);
  const [b, nq, heads, d] = q.shape;
  const [, nk, kvHeads] = k.shape;
  const bias = opts.bias;
  bias.assertAlive(OP, 'bias');
  if (bias.rank !== 3 || bias.shape[0] !== b || bias.shape[1] !== nk || bias.shape[2] !== kvHeads) {
    throw new ShapeError(
      OP,
      'bias',
      `[${b}, ${nk}, ${kvHeads}] (batch, keys, kvHeads)`,
      fmtShape(bias.shape),
    );
  }
  const window = checkInt(OP, 'windowSize', opts.windowSize);
  const blockSize = checkInt(OP, 'blockSize', opts.blockSize ?? 64);
  const scale = opts.scale ?? d ** -0.5;
  return tidy(() => {
    const sel = dmaKeySelection(bias, heads, window);
    const layout = dmaLayout(sel, nq, blockSize);
    const mask = nk <= window ? null : reshape(sel, [b, heads, 1, nk]);
    const qx = concat(
      [mul(q, scale), ones([b, nq, heads, 1], { backend: q.backend.name, dtype: q.dtype })],
      3,
    );
    const kx = concat([k, reshape(cast(bias, k.dtype), [b, nk, kvHeads, 1])], 3);
    const { out } = blockSparseAttention(qx, kx, v, layout, { scale: 1, causal: opts.causal ?? true, mask });
    return out;
  });
}

/**
 * Doge's value-derived bias: `A * softplus(dt_proj(v))` with `v` `[batch, nk, kvHeads, headDim]` flattened to
 * `kvHeads * headDim` features, giving `[batch, nk, kvHeads]`. `A` starts at zeros (as Doge), so the bias
 * starts at 0 and is learned. Parameter names follow Doge: `dt_proj`, `A`.
 */
export class DynamicMaskBias extends Module {
  /** `Linear(kvHeads * headDim, kvHeads)`. */
  readonly dt_proj: Linear;
  /** `[kvHeads]`. */
  readonly A: Tensor;
  /** Key/value heads. */
  readonly kvHeads: number;

  constructor(kvHeads: number, headDim: number, opts: FactoryOptions = {}) {
    super();
    this.kvHeads = checkInt('DynamicMaskBias', 'kvHeads', kvHeads);
    checkInt('DynamicMaskBias', 'headDim', headDim);
    this.dt_proj = this.registerModule('dt_proj', new Linear(kvHeads * headDim, kvHeads, opts));
    this.A = this.registerParameter(
      'A',
      zeros([kvHeads], { dtype: opts.dtype ?? 'float32', backend: opts.backend }),
    );
  }

  /** `v` `[batch, nk, kvHeads, headDim]` to the bias `[batch, nk, kvHeads]`. */
  override forward(v: Tensor): Tensor {
    if (v.rank !== 4 || v.shape[2] !== this.kvHeads) {
      throw new ShapeError(
        'DynamicMaskBias',
        'v',
        `[batch, nk, ${this.kvHeads}, headDim]`,
        fmtShape(v.shape),
      );
    }
    return tidy(() => mul(softplus(this.dt_proj.forward(reshape(v, [v.shape[0], v.shape[1], -1]))), this.A));
  }
}
