import { isGradEnabled, noGrad } from '../../autograd/mode.js';
import { DTypeError, ValueError } from '../../errors.js';
import { eq } from '../../ops/elementwise/binary.js';
import { where } from '../../ops/elementwise/where.js';
import { indexSelect } from '../../ops/indexing/indexing.js';
import { reshape } from '../../ops/views/views.js';
import { arange, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { normal_ } from '../init.js';
import { type FactoryOptions, Module } from '../module.js';
import { checkInt } from './util.js';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions extends FactoryOptions {
  /**
   * A row (negative counts from the end) that is initialised to zeros and never receives a gradient, as
   * `padding_idx` in PyTorch: padding tokens then contribute nothing and stay fixed during training.
   */
  paddingIdx?: number;
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim` (`torch.nn.Embedding`): `weight`
 * `[num, dim]` initialised N(0, 1), the padding row zeroed. Input int32 indices of any shape, output
 * `[...indices.shape, dim]`.
 */
export class Embedding extends Module {
  /** Number of rows. */
  readonly numEmbeddings: number;
  /** Size of each vector. */
  readonly embeddingDim: number;
  /** The padding row (normalised to `[0, num)`), or undefined. */
  readonly paddingIdx: number | undefined;
  /** `[num, dim]`. */
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    checkInt('Embedding', 'numEmbeddings', numEmbeddings);
    checkInt('Embedding', 'embeddingDim', embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const p = opts.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)) {
      const range = `an integer in [${-numEmbeddings}, ${numEmbeddings - 1}]`;
      throw new ValueError('Embedding', 'paddingIdx', range, String(p));
    }
    this.paddingIdx = p === undefined ? undefined : p < 0 ? p + numEmbeddings : p;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    this.weight = this.registerParameter('weight', zeros([numEmbeddings, embeddingDim], f));
    this.resetParameters();
  }

  /** Redraws the table from N(0, 1) and zeroes the padding row. */
  resetParameters(): void {
    normal_(this.weight);
    const p = this.paddingIdx;
    if (p === undefined) return;
    noGrad(() => {
      const rows = arange(0, this.numEmbeddings, 1, { dtype: 'int32', backend: this.weight.backend.name });
      const col = reshape(rows, [this.numEmbeddings, 1]);
      const isPad = eq(col, p);
      this.weight.assign(where(isPad, 0, this.weight));
      for (const t of [rows, col, isPad]) t.dispose();
    });
  }

  /** Looks up int32 `indices` (any shape; values in `[0, num)`): `[...indices.shape, dim]`. */
  override forward(indices: Tensor): Tensor {
    indices.assertAlive('Embedding', 'indices');
    if (indices.dtype !== 'int32')
      throw new DTypeError('Embedding', 'indices', 'an int32 tensor', indices.dtype);
    const flat = reshape(indices, [indices.size]);
    const rows = indexSelect(this.weight, 0, flat);
    const out = reshape(rows, [...indices.shape, this.embeddingDim]);
    flat.dispose();
    if (out !== rows) rows.dispose();
    const p = this.paddingIdx;
    if (p === undefined || !out.requiresGrad || !isGradEnabled()) return out;
    // The padding row keeps its value in the output but must get no gradient: take it from a detached copy.
    const hit = eq(indices, p);
    const mask = reshape(hit, [...indices.shape, 1]);
    const frozen = out.detach();
    const r = where(mask, frozen, out);
    for (const t of [hit, mask, frozen, out]) t.dispose();
    return r;
  }

  override extraRepr(): string {
    const pad = this.paddingIdx === undefined ? '' : `, padding_idx=${this.paddingIdx}`;
    return `${this.numEmbeddings}, ${this.embeddingDim}${pad}`;
  }
}
