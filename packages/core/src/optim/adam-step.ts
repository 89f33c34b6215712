import { getKernel } from '../backend/registry.js';
import { defineOp, runOp } from '../ops/op.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Attributes of the fused `'optim.adamStep'` op: one Adam/AdamW update with everything that does not depend on
 * the element precomputed, so every backend's kernel is the same per-element formula.
 */
export interface AdamStepAttrs {
  /** `β1`. */
  beta1: number;
  /** `β2`. */
  beta2: number;
  /** `eps`. */
  eps: number;
  /** L2 weight decay added to the gradient (0 when decoupled). */
  l2: number;
  /** Factor the parameter is multiplied by first: `1 - lr·wd` when decoupled, else 1. */
  decay: number;
  /** `lr / (1 - β1^t)`. */
  stepSize: number;
  /** `√(1 - β2^t)`. */
  bc2Sqrt: number;
  /** Negate the gradient. */
  maximize: boolean;
  /** Inputs and outputs include `max_exp_avg_sq`. */
  amsgrad: boolean;
}

/**
 * The fused Adam update, for backends that register a kernel for it. Inputs `[p, g, m, v]` (plus `vmax` with
 * AMSGrad), all of p's shape and dtype; outputs the new `[p, m, v]` (plus `vmax`). Per element, in PyTorch's
 * order: `g = ±g + l2·p`; `m += (g - m)·(1 - β1)`; `v = β2·v + (1 - β2)·g²`; `vmax = max(vmax, v)`;
 * `p = decay·p - stepSize·m / (√(vmax or v) / bc2Sqrt + eps)`. Not differentiable (an optimizer step).
 */
export const adamStepOp = defineOp<AdamStepAttrs>({ name: 'optim.adamStep' });

/**
 * Runs the fused update when `p`'s backend has a kernel for it and the tensors line up (same shape and
 * dtype); returns the new tensors, or undefined to use the op-by-op update instead.
 */
export function tryFusedAdamStep(inputs: Tensor[], attrs: AdamStepAttrs): Tensor[] | undefined {
  const p = inputs[0];
  if (!getKernel(adamStepOp.name, p.backend.name)) return undefined;
  if (inputs.some((t) => t.dtype !== p.dtype || t.backend !== p.backend || !shapesEqual(t.shape, p.shape))) {
    return undefined;
  }
  return runOp(adamStepOp, inputs, attrs);
}
