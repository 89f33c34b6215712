import { ValueError } from '../errors.js';
import { add, mul, sub } from '../ops/elementwise/binary.js';
import { neg } from '../ops/elementwise/unary.js';
import { clone } from '../ops/views/views.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkNonNegative,
  Optimizer,
  type OptimizerParams,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';

/** Hyperparameters of {@link SGD} (as `torch.optim.SGD`). */
export interface SGDHyperparams {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay,
 * with PyTorch's exact update: `g += wd·p`; `buf = g` on the first step, then
 * `buf = momentum·buf + (1 - dampening)·g`; `g = nesterov ? g + momentum·buf : buf`; `p -= lr·g`. Its state
 * per parameter is `momentum_buffer`.
 */
export class SGD extends Optimizer<SGDHyperparams> {
  constructor(params: OptimizerParams<SGDHyperparams>, opts: Partial<SGDHyperparams> = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override get name(): string {
    return 'SGD';
  }

  protected override checkHyperparams(h: SGDHyperparams): void {
    checkNonNegative('SGD', 'lr', h.lr);
    checkNonNegative('SGD', 'momentum', h.momentum);
    checkNonNegative('SGD', 'dampening', h.dampening);
    checkNonNegative('SGD', 'weightDecay', h.weightDecay);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      const got = `momentum ${h.momentum}, dampening ${h.dampening}`;
      throw new ValueError('SGD', 'nesterov', 'used with momentum > 0 and dampening 0', got);
    }
  }

  protected override update(p: Tensor, grad: Tensor, h: ParamGroup<SGDHyperparams>, state: ParamState): void {
    let g = h.maximize ? neg(grad) : grad;
    if (h.weightDecay !== 0) g = add(g, mul(p, h.weightDecay));
    if (h.momentum !== 0) {
      let buf = state.momentum_buffer as Tensor | undefined;
      if (!buf) {
        buf = this.persistent(clone(g));
        state.momentum_buffer = buf;
      } else {
        buf.assign(add(mul(buf, h.momentum), h.dampening === 0 ? g : mul(g, 1 - h.dampening)));
      }
      g = h.nesterov ? add(g, mul(buf, h.momentum)) : buf;
    }
    p.assign(sub(p, mul(g, h.lr)));
  }
}
