import { valueAndGrad } from '../autograd/grad.js';
import { isFloat } from '../dtype.js';
import { fmtShape, ValueError } from '../errors.js';
import { mul } from '../ops/elementwise/binary.js';
import { sum } from '../ops/reduce/reduce.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { compareArrays } from './compare.js';
import { type GradcheckOptions, gradcheck } from './gradcheck.js';
import { toleranceFor } from './tolerances.js';

/** The CPU copy of `t`'s values, in float64 when `t` is a float tensor (the reference precision). */
async function cpuCopy(t: Tensor): Promise<Tensor> {
  const values = await t.data();
  if (!isFloat(t.dtype)) return tensor(values, { shape: t.shape, dtype: t.dtype, backend: 'cpu' });
  return tensor(Float64Array.from(values), { shape: t.shape, dtype: 'float64', backend: 'cpu' });
}

/**
 * Checks the gradients of `f` on the backend its inputs live on, so that a backend suite covers backward
 * kernels too.
 *
 * - On the CPU it is {@link gradcheck}: float64 central finite differences against autograd.
 * - On any other backend (which has no float64 and no synchronous read, so finite differences are out), it
 *   compares the backend's autograd gradients with the CPU's float64 autograd gradients of the same function
 *   on the same values, within the backend's tolerance from `toleranceFor`. The CPU gradients are the ones
 *   the CPU run of the same suite checked by finite differences.
 *
 * Like gradcheck, the output is projected onto a fixed random direction (`opts.seed`), so every output element
 * matters. `f` must take every tensor it uses as an argument (constants such as masks or indices too, left
 * out of `opts.wrt`), since it runs once on the CPU copies of the inputs. `opts.eps`, `atol` and `rtol` are
 * gradcheck's and apply on the CPU only.
 */
export async function checkGradients(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): Promise<void> {
  const backend = inputs[0]?.backend.name ?? 'cpu';
  if (backend === 'cpu') {
    gradcheck(f, inputs, opts);
    return;
  }
  const wrt = opts.wrt ?? inputs.map((x, i) => (isFloat(x.dtype) ? i : -1)).filter((i) => i >= 0);
  const cpuInputs = await Promise.all(inputs.map(cpuCopy));
  const withWrt = (xs: Tensor[], vars: Tensor[]) =>
    xs.map((x, k) => (wrt.includes(k) ? vars[wrt.indexOf(k)] : x));
  const gradsOf = (xs: Tensor[], dtype: 'float64' | 'float32', on: string) => {
    const probe = f(...xs);
    const gen = new Generator(opts.seed ?? 0);
    const w = tensor(
      Float64Array.from({ length: probe.size }, () => gen.normal()),
      { shape: probe.shape, dtype, backend: on },
    );
    probe.dispose();
    const { value, grads } = valueAndGrad((...vars: Tensor[]) => sum(mul(f(...withWrt(xs, vars)), w)))(
      ...wrt.map((i) => xs[i]),
    );
    value.dispose();
    w.dispose();
    return grads;
  };
  const expected = gradsOf(cpuInputs, 'float64', 'cpu');
  const dtype = inputs[wrt[0]]?.dtype === 'float64' ? 'float64' : 'float32';
  const actual = gradsOf(inputs, dtype, backend);
  const tol = toleranceFor(backend);
  try {
    for (const [k, i] of wrt.entries()) {
      const [a, e] = [await actual[k].data(), await expected[k].data()];
      const d = compareArrays(a, e, tol);
      if (d.bad > 0 || a.length !== e.length) {
        throw new ValueError(
          'checkGradients',
          `gradient of input ${i} (shape ${fmtShape(inputs[i].shape)}) on ${backend}`,
          `within atol ${tol.atol} + rtol ${tol.rtol} of the CPU's float64 gradient`,
          `${d.bad} elements off; worst at flat index ${d.worst}: ${a[d.worst]} vs ${e[d.worst]} (max abs error ${d.maxAbs})`,
        );
      }
    }
  } finally {
    for (const t of [...actual, ...expected, ...cpuInputs]) t.dispose();
  }
}
