import { noGrad } from '../autograd/mode.js';
import { promoteTypes } from '../dtype.js';
import { ValueError } from '../errors.js';
import { add, div, maximum, mul, pow } from '../ops/elementwise/binary.js';
import { cast } from '../ops/elementwise/cast.js';
import { abs, clamp, sqrt } from '../ops/elementwise/unary.js';
import { max, sum } from '../ops/reduce/reduce.js';
import { toBackend } from '../ops/views/views.js';
import { full } from '../tensor/creation.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (default false; reads the norm back synchronously). */
  errorIfNonfinite?: boolean;
}

const on = (t: Tensor, backend: string) => (t.backend.name === backend ? t : toBackend(t, backend));

/** Replaces each parameter's gradient with `f(grad)` (a new tensor), freeing the old one. */
function mapGrads(params: Tensor[], f: (g: Tensor) => Tensor): void {
  for (const p of params) {
    const g = p.grad!;
    p.grad = keep(noGrad(() => tidy(() => f(g))));
    g.dispose();
  }
}

/**
 * Scales the gradients of `params` in place so that their joint norm (the norm of all gradients concatenated)
 * is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`: each gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))`, without reading the norm back to the host. Parameters without a
 * gradient are skipped. Returns the total norm before clipping as a 0-d tensor of the gradients' float type (the caller frees
 * it).
 * `normType` is any p >= 1 or `Infinity` (the largest absolute value).
 */
export function clipGradNorm(
  params: Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  opts: ClipGradNormOptions = {},
): Tensor {
  const op = 'clipGradNorm';
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw new ValueError(op, 'maxNorm', 'a non-negative number', String(maxNorm));
  }
  if (typeof normType !== 'number' || !(normType >= 1)) {
    throw new ValueError(op, 'normType', 'a number >= 1 or Infinity', String(normType));
  }
  const withGrad = [...params].filter((p) => p.grad !== null);
  if (withGrad.length === 0) return full([], 0);
  const home = withGrad[0].grad!.backend.name;
  const inf = normType === Number.POSITIVE_INFINITY;
  const dtype = withGrad.map((p) => p.grad!.dtype).reduce(promoteTypes);
  const total = noGrad(() =>
    tidy(() => {
      const parts = withGrad.map((p) => {
        const g = p.grad!;
        const part = inf ? max(abs(g)) : sum(normType === 2 ? mul(g, g) : pow(abs(g), normType));
        return cast(on(part, home), dtype);
      });
      if (inf) return parts.reduce((m, x) => maximum(m, x));
      const s = parts.reduce((acc, x) => add(acc, x));
      return normType === 2 ? sqrt(s) : pow(s, 1 / normType);
    }),
  );
  if (opts.errorIfNonfinite && !Number.isFinite(total.item())) {
    const value = total.item();
    total.dispose();
    throw new ValueError(
      op,
      'gradients',
      'of finite total norm (errorIfNonfinite)',
      `a total norm of ${value}`,
    );
  }
  const coef = noGrad(() => tidy(() => clamp(div(maxNorm, add(total, 1e-6)), Number.NEGATIVE_INFINITY, 1)));
  mapGrads(withGrad, (g) => mul(g, cast(on(coef, g.backend.name), g.dtype)));
  coef.dispose();
  return total;
}

/** Clamps every gradient of `params` into `[-clipValue, clipValue]` (`torch.nn.utils.clip_grad_value_`). */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) {
    throw new ValueError('clipGradValue', 'clipValue', 'a non-negative number', String(clipValue));
  }
  mapGrads(
    [...params].filter((p) => p.grad !== null),
    (g) => clamp(g, -clipValue, clipValue),
  );
}
