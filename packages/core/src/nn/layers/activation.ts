import { ValueError } from '../../errors.js';
import { type GeluAttrs, gelu, relu, sigmoid, silu, tanh } from '../../ops/elementwise/unary.js';
import { flatten } from '../../ops/views/views.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** `max(x, 0)` as a module (`torch.nn.ReLU`). */
export class ReLU extends Module {
  /** Applies ReLU element-wise. */
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Gaussian error linear unit as a module (`torch.nn.GELU`): exact by default, or `approximate: 'tanh'`. */
export class GELU extends Module {
  /** `'none'` (erf form) or `'tanh'`. */
  readonly approximate: 'none' | 'tanh';

  constructor(opts: GeluAttrs = {}) {
    super();
    const approximate = opts.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new ValueError('GELU', 'approximate', "'none' or 'tanh'", JSON.stringify(approximate));
    }
    this.approximate = approximate;
  }

  /** Applies GELU element-wise. */
  override forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** `x · sigmoid(x)` as a module (`torch.nn.SiLU`, swish). */
export class SiLU extends Module {
  /** Applies SiLU element-wise. */
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** Hyperbolic tangent as a module (`torch.nn.Tanh`). */
export class Tanh extends Module {
  /** Applies tanh element-wise. */
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Logistic sigmoid as a module (`torch.nn.Sigmoid`). */
export class Sigmoid extends Module {
  /** Applies the sigmoid element-wise. */
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/**
 * Returns its input unchanged (`torch.nn.Identity`): the placeholder for an optional layer, so state-dict
 * names stay the same whether the layer is used or not.
 */
export class Identity extends Module {
  /** Returns `x` itself. */
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** Options of {@link Flatten}. */
export interface FlattenOptions {
  /** First axis to flatten (default 1, keeping the batch axis). */
  startDim?: number;
  /** Last axis to flatten (default -1). */
  endDim?: number;
}

/** Merges axes `startDim..endDim` into one (`torch.nn.Flatten`; by default all but the batch axis). */
export class Flatten extends Module {
  /** First axis flattened. */
  readonly startDim: number;
  /** Last axis flattened. */
  readonly endDim: number;

  constructor(opts: FlattenOptions = {}) {
    super();
    this.startDim = opts.startDim ?? 1;
    this.endDim = opts.endDim ?? -1;
  }

  /** Flattens `x` (a view when `x` is contiguous). */
  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
