// A consciousness-prior bottleneck (after Bengio's "consciousness prior"): from many tokens, attention selects
// a few elements (the top-k keys by the attention score of the sequence's mean query), and every token then
// reads only those: the selected elements are broadcast back to the whole sequence. On the engine this is a
// per-head key selection (as Dynamic Mask Attention's) with an element mask inside the touched key blocks.
import {
  add,
  einsum,
  type FactoryOptions,
  fmtShape,
  gt,
  Linear,
  Module,
  mean,
  mul,
  noGrad,
  reshape,
  ShapeError,
  scatter,
  split,
  type Tensor,
  tidy,
  topk,
  ValueError,
  zeros,
} from '@attnkit/core';
import { blockSparseAttention } from '../../engine/index.js';
import { dmaLayout } from '../dynamic-mask/dma.js';
import { checkInt, checkQkv, expandKvHeads } from '../select.js';

/** Options of {@link consciousnessAttention}. */
export interface ConsciousnessOptions {
  /** Number of elements selected per (batch, head): the size of the "conscious" set. */
  elements: number;
  /** Tokens per block of the engine layout (default 64). */
  blockSize?: number;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

const OP = 'consciousnessAttention';

/**
 * The selected elements: bool `[batch, heads, nk]`, the `elements` keys with the largest score
 * `scale * mean_i(q_i) . k_j` per (batch, head). No gradient (a hard choice).
 */
export function consciousSelection(q: Tensor, k: Tensor, elements: number, scale: number): Tensor {
  const [b, , heads] = q.shape;
  const nk = k.shape[1];
  return noGrad(() =>
    tidy(() => {
      const summary = mean(q, { axis: 1 }); // [b, heads, d]
      const scores = einsum('bhd,bnhd->bhn', mul(summary, scale), expandKvHeads(k, heads));
      const { indices } = topk(scores, Math.min(elements, nk));
      return gt(scatter(zeros([b, heads, nk], { backend: q.backend.name }), 2, indices, 1), 0);
    }),
  );
}

/**
 * Bottleneck attention: `q` `[batch, nq, heads, dim]`, `k`/`v` `[batch, nk, kvHeads, .]`. Each head selects
 * `elements` keys (see {@link consciousSelection}) and every query attends only them (non-causal).
 * Differentiable in q, k, v through the attention.
 */
export function consciousnessAttention(q: Tensor, k: Tensor, v: Tensor, opts: ConsciousnessOptions): Tensor {
  checkQkv(OP, q, k, v);
  const [b, nq, heads, d] = q.shape;
  const nk = k.shape[1];
  const elements = checkInt(OP, 'elements', opts.elements);
  const blockSize = checkInt(OP, 'blockSize', opts.blockSize ?? 64);
  const scale = opts.scale ?? d ** -0.5;
  return tidy(() => {
    const sel = consciousSelection(q, k, elements, scale);
    const layout = dmaLayout(sel, nq, blockSize);
    const mask = elements >= nk ? null : reshape(sel, [b, heads, 1, nk]);
    return blockSparseAttention(q, k, v, layout, { scale, mask }).out;
  });
}

/** Options of {@link ConsciousnessBottleneck}. */
export interface BottleneckOptions extends FactoryOptions {
  /** Heads (dim must be a multiple). */
  heads: number;
  /** Elements selected per head. */
  elements: number;
  /** Tokens per block of the engine layout (default 64). */
  blockSize?: number;
}

/**
 * A residual bottleneck layer: `x` `[batch, n, dim]` to `x + proj(consciousnessAttention(qkv(x)))`, so every
 * token receives what the few selected elements carry. Parameters `qkv` (dim to 3 dim) and `proj`.
 *
 * @example
 * const layer = new ConsciousnessBottleneck(64, { heads: 4, elements: 8 });
 * const y = layer.forward(x); // x [batch, n, 64]
 */
export class ConsciousnessBottleneck extends Module {
  /** Channels. */
  readonly dim: number;
  /** Options. */
  readonly opts: Readonly<BottleneckOptions>;
  /** Joint q, k, v projection. */
  readonly qkv: Linear;
  /** Output projection. */
  readonly proj: Linear;

  constructor(dim: number, opts: BottleneckOptions) {
    super();
    if (!(Number.isInteger(opts.heads) && opts.heads >= 1 && dim % opts.heads === 0)) {
      throw new ValueError('ConsciousnessBottleneck', 'heads', `a divisor of dim ${dim}`, String(opts.heads));
    }
    checkInt('ConsciousnessBottleneck', 'elements', opts.elements);
    this.dim = dim;
    this.opts = { ...opts };
    const f = { dtype: opts.dtype, backend: opts.backend };
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, f));
    this.proj = this.registerModule('proj', new Linear(dim, dim, f));
  }

  /** `x` `[batch, n, dim]` to `[batch, n, dim]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ShapeError('ConsciousnessBottleneck', 'x', `[batch, n, ${this.dim}]`, fmtShape(x.shape));
    }
    const [b, n] = x.shape;
    const h = this.opts.heads;
    return tidy(() => {
      const [q, k, v] = split(this.qkv.forward(x), this.dim, -1).map((t) =>
        reshape(t, [b, n, h, this.dim / h]),
      );
      const y = consciousnessAttention(q, k, v, {
        elements: this.opts.elements,
        blockSize: this.opts.blockSize,
      });
      return add(x, this.proj.forward(reshape(y, [b, n, this.dim])));
    });
  }
}
