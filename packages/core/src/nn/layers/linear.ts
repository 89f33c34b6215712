import { fmtShape, ShapeError } from '../../errors.js';
import { add } from '../../ops/elementwise/binary.js';
import { matmul } from '../../ops/linalg/matmul.js';
import { transpose } from '../../ops/views/views.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { kaimingUniform_, uniform_ } from '../init.js';
import { type FactoryOptions, Module } from '../module.js';
import { checkInt, pyBool } from './util.js';

/** Options of {@link Linear}. */
export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * `y = x Wᵀ + b` over the last axis, as `torch.nn.Linear`: `weight` `[out, in]`, `bias` `[out]`, both
 * initialised U(±1/√in) (PyTorch's `kaiming_uniform_(a=√5)`). Input `[..., in]`, output `[..., out]`.
 */
export class Linear extends Module {
  /** Size of each input sample. */
  readonly inFeatures: number;
  /** Size of each output sample. */
  readonly outFeatures: number;
  /** `[out, in]`. */
  readonly weight: Tensor;
  /** `[out]`, or null without bias. */
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkInt('Linear', 'inFeatures', inFeatures);
    checkInt('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures], f));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', zeros([outFeatures], f)) : null;
    this.resetParameters();
  }

  /** Redraws the parameters with the default initialisation. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inFeatures);
      uniform_(this.bias, -bound, bound);
    }
  }

  /** `x` `[..., in]` to `[..., out]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError('Linear', 'x', `of shape [..., ${this.inFeatures}]`, fmtShape(x.shape));
    }
    const wt = transpose(this.weight);
    const y = matmul(x, wt);
    wt.dispose();
    if (!this.bias) return y;
    const out = add(y, this.bias);
    y.dispose();
    return out;
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}
