import { valueAndGrad } from '../autograd/grad.js';
import { isFloat } from '../dtype.js';
import { fmtShape, ValueError } from '../errors.js';
import { mul } from '../ops/elementwise/binary.js';
import { cast } from '../ops/elementwise/cast.js';
import { sum } from '../ops/reduce/reduce.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { GRADCHECK_DEFAULTS } from './tolerances.js';

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Which arguments to check (default: every floating-point one). */
  wrt?: number[];
  /** Seed of the random output projection (default 0). */
  seed?: number;
}

/**
 * Checks the analytic gradient of `f` against central finite differences, in float64 on the CPU. Inputs are
 * cast to float64 copies; `f` may return any shape (it is projected onto a fixed random direction to get a
 * scalar, so every output element matters). Throws a ValueError naming the argument and element that disagree.
 * Keep inputs small: the cost is two evaluations of `f` per input element.
 */
export function gradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): void {
  const { eps, atol, rtol } = { ...GRADCHECK_DEFAULTS, ...opts };
  tidy(() => {
    const xs = inputs.map((x) =>
      isFloat(x.dtype)
        ? tensor(x.to('cpu').cast('float64').dataSync(), { shape: x.shape, dtype: 'float64', backend: 'cpu' })
        : x.to('cpu'),
    );
    const wrt = opts.wrt ?? xs.map((x, i) => (isFloat(x.dtype) ? i : -1)).filter((i) => i >= 0);
    const probe = f(...xs);
    const gen = new Generator(opts.seed ?? 0);
    const w = tensor(
      Float64Array.from({ length: probe.size }, () => gen.normal()),
      {
        shape: probe.shape,
        dtype: 'float64',
        backend: 'cpu',
      },
    );
    // Only the checked inputs become variables; the others (int indices, masks) stay constants.
    const withWrt = (vars: Tensor[]) => xs.map((x, k) => (wrt.includes(k) ? vars[wrt.indexOf(k)] : x));
    const scalarF = (...vars: Tensor[]) => sum(mul(cast(f(...withWrt(vars)), 'float64'), w));
    const { grads } = valueAndGrad(scalarF)(...wrt.map((i) => xs[i]));
    for (const i of wrt) {
      const x = xs[i];
      const base = x.dataSync() as Float64Array;
      const analytic = grads[wrt.indexOf(i)].dataSync();
      for (let j = 0; j < x.size; j++) {
        const evalAt = (v: number) =>
          tidy(() => {
            const p = base.slice();
            p[j] = v;
            // scalarF takes the checked inputs only (in `wrt` order), the perturbed one among them.
            const args = wrt.map((k) =>
              k === i ? tensor(p, { shape: x.shape, dtype: 'float64', backend: 'cpu' }) : xs[k],
            );
            return scalarF(...args).item();
          });
        const numeric = (evalAt(base[j] + eps) - evalAt(base[j] - eps)) / (2 * eps);
        const a = analytic[j];
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          throw new ValueError(
            'gradcheck',
            `gradient of input ${i} (shape ${fmtShape(x.shape)}) at flat index ${j}`,
            `${numeric} (finite differences)`,
            `${a} (autograd)`,
          );
        }
      }
    }
  });
}
