// Registers the CPU kernel of the fused update whenever Adam is used.
import './adam-step-cpu.js';
import { ValueError } from '../errors.js';
import { add, div, maximum, mul, sub } from '../ops/elementwise/binary.js';
import { neg, sqrt } from '../ops/elementwise/unary.js';
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AdamStepAttrs, tryFusedAdamStep } from './adam-step.js';
import {
  checkNonNegative,
  checkUnitInterval,
  Optimizer,
  type OptimizerParams,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';

/** Hyperparameters of {@link Adam} and {@link AdamW} (as `torch.optim.Adam`/`AdamW`). */
export interface AdamHyperparams {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** Weight decay (default 0 for Adam, 1e-2 for AdamW). */
  weightDecay: number;
  /**
   * Shrink parameters directly, `p *= 1 - lr·wd` (AdamW), instead of adding `wd·p` to the gradient (L2, Adam's
   * default), as PyTorch's `decoupled_weight_decay`.
   */
  decoupledWeightDecay: boolean;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

function withDefaults(
  opts: Partial<AdamHyperparams>,
  weightDecay: number,
  decoupled: boolean,
): AdamHyperparams {
  return {
    lr: opts.lr ?? 1e-3,
    betas: opts.betas ?? [0.9, 0.999],
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay ?? weightDecay,
    decoupledWeightDecay: opts.decoupledWeightDecay ?? decoupled,
    amsgrad: opts.amsgrad ?? false,
    maximize: opts.maximize ?? false,
  };
}

/**
 * Adam (Kingma & Ba), as `torch.optim.Adam`, in PyTorch's exact order: weight decay (L2 into the gradient by
 * default, or decoupled); `m = lerp(m, g, 1 - β1)`; `v = β2·v + (1 - β2)·g²`;
 * `p -= lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + eps)` (with AMSGrad, the running maximum of `v`).
 * State per parameter: `step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`). On backends with a kernel for
 * {@link adamStepOp} (the CPU has one) each parameter's update is one fused pass; elsewhere it runs as
 * element-wise ops.
 */
export class Adam extends Optimizer<AdamHyperparams> {
  constructor(params: OptimizerParams<AdamHyperparams>, opts: Partial<AdamHyperparams> = {}) {
    super(params, withDefaults(opts, 0, false));
  }

  protected override get name(): string {
    return 'Adam';
  }

  protected override checkHyperparams(h: AdamHyperparams): void {
    checkNonNegative(this.name, 'lr', h.lr);
    checkNonNegative(this.name, 'eps', h.eps);
    checkNonNegative(this.name, 'weightDecay', h.weightDecay);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) {
      throw new ValueError(this.name, 'betas', 'a pair [beta1, beta2]', JSON.stringify(h.betas));
    }
    checkUnitInterval(this.name, 'betas[0]', h.betas[0]);
    checkUnitInterval(this.name, 'betas[1]', h.betas[1]);
  }

  protected override update(
    p: Tensor,
    grad: Tensor,
    h: ParamGroup<AdamHyperparams>,
    state: ParamState,
  ): void {
    const [b1, b2] = h.betas;
    const step = ((state.step as number | undefined) ?? 0) + 1;
    state.step = step;
    let m = state.exp_avg as Tensor | undefined;
    let v = state.exp_avg_sq as Tensor | undefined;
    if (!m || !v) {
      m = this.persistent(zerosLike(p));
      v = this.persistent(zerosLike(p));
      state.exp_avg = m;
      state.exp_avg_sq = v;
    }
    let vmax = state.max_exp_avg_sq as Tensor | undefined;
    if (h.amsgrad && !vmax) {
      vmax = this.persistent(zerosLike(p));
      state.max_exp_avg_sq = vmax;
    }
    const wd = h.weightDecay;
    const attrs: AdamStepAttrs = {
      beta1: b1,
      beta2: b2,
      eps: h.eps,
      l2: h.decoupledWeightDecay ? 0 : wd,
      decay: h.decoupledWeightDecay ? 1 - h.lr * wd : 1,
      stepSize: h.lr / (1 - b1 ** step),
      bc2Sqrt: Math.sqrt(1 - b2 ** step),
      maximize: h.maximize,
      amsgrad: h.amsgrad,
    };
    const fused = tryFusedAdamStep(vmax && h.amsgrad ? [p, grad, m, v, vmax] : [p, grad, m, v], attrs);
    if (fused) {
      const [np, nm, nv, nvmax] = fused;
      m.assign(nm);
      v.assign(nv);
      if (nvmax) vmax!.assign(nvmax);
      p.assign(np);
      return;
    }
    stepByOps(p, grad, m, v, h.amsgrad ? vmax! : null, attrs);
  }
}

/** The same update as the fused op, one element-wise op at a time: for backends without the kernel. */
function stepByOps(
  p: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  vmax: Tensor | null,
  a: AdamStepAttrs,
): void {
  let g = a.maximize ? neg(grad) : grad;
  if (a.l2 !== 0) g = add(g, mul(p, a.l2));
  m.assign(add(m, mul(sub(g, m), 1 - a.beta1)));
  v.assign(add(mul(v, a.beta2), mul(mul(g, g), 1 - a.beta2)));
  let second = v;
  if (vmax) {
    vmax.assign(maximum(vmax, v));
    second = vmax;
  }
  // Decoupled decay multiplies p before the step; the step does not read p, so it is folded in here.
  const base = a.decay === 1 ? p : mul(p, a.decay);
  const denom = add(div(sqrt(second), a.bc2Sqrt), a.eps);
  p.assign(sub(base, mul(div(m, denom), a.stepSize)));
}

/**
 * AdamW (Loshchilov & Hutter), as `torch.optim.AdamW`: {@link Adam} with decoupled weight decay
 * (`p *= 1 - lr·wd` before the Adam step) and a default `weightDecay` of 1e-2.
 */
export class AdamW extends Adam {
  constructor(params: OptimizerParams<AdamHyperparams>, opts: Partial<AdamHyperparams> = {}) {
    super(params, withDefaults(opts, 1e-2, true));
  }

  protected override get name(): string {
    return 'AdamW';
  }
}
