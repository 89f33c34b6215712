import { ValueError } from '../errors.js';
import { full } from '../tensor/creation.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { propagate } from './backward.js';

/** What {@link valueAndGrad} returns. */
export interface ValueAndGrad {
  /** The scalar value of the function (detached from the graph). */
  value: Tensor;
  /** The gradient with respect to each argument, in order (zeros where the value does not depend on it). */
  grads: Tensor[];
}

/**
 * Turns a scalar function of tensors into one that also returns its gradients, as `jax.value_and_grad`.
 * The arguments' own `.grad` are not touched; the graph is freed afterwards.
 *
 * @example
 * const { value, grads: [dw] } = valueAndGrad((w) => sum(mul(w, w)))(w);
 */
export function valueAndGrad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => ValueAndGrad {
  // Everything f creates is freed when it returns, except the value and the gradients.
  return (...args: Tensor[]) =>
    tidy(() => {
      const leaves = args.map((a, i) => {
        a.assertAlive('valueAndGrad', `argument ${i}`);
        return new Tensor(a.storage, a.shape, a.strides, a.offset).setRequiresGrad(true);
      });
      const out = f(...leaves);
      if (!(out instanceof Tensor) || out.size !== 1) {
        const got = out instanceof Tensor ? `shape [${out.shape}]` : typeof out;
        throw new ValueError('valueAndGrad', 'f', 'a function returning a one-element tensor', got);
      }
      const found = out.requiresGrad
        ? propagate(out, full(out.shape, 1, { dtype: out.dtype, backend: out.backend.name }))
        : new Map<Tensor, Tensor>();
      const grads = leaves.map(
        (l) => found.get(l) ?? full(l.shape, 0, { dtype: l.dtype, backend: l.backend.name }),
      );
      return { value: out.detach(), grads };
    });
}

/** The gradient of a scalar function with respect to each argument (see {@link valueAndGrad}). */
export function grad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...args: Tensor[]) => {
    const { value, grads } = vg(...args);
    value.dispose();
    return grads;
  };
}
