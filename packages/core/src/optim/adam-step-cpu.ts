import { cpuAlloc, cpuData, cpuTensor } from '../backend/cpu/cpu-backend.js';
import { registerKernel } from '../backend/registry.js';
import type { AdamStepAttrs } from './adam-step.js';

// One pass over the elements instead of ~13 element-wise ops: the optimizer step of a small model on the CPU
// costs about as much as one op. Computes in float64 and rounds once when storing.
registerKernel<AdamStepAttrs>({
  op: 'optim.adamStep',
  backend: 'cpu',
  run: (inputs, a) => {
    const [p, g, m, v, vmax] = inputs.map(cpuData);
    const n = p.length;
    const dtype = inputs[0].dtype;
    const shape = inputs[0].shape;
    const P = cpuAlloc(dtype, n);
    const M = cpuAlloc(dtype, n);
    const V = cpuAlloc(dtype, n);
    const VM = a.amsgrad ? cpuAlloc(dtype, n) : null;
    const sign = a.maximize ? -1 : 1;
    for (let i = 0; i < n; i++) {
      const pi = p[i];
      const gi = sign * g[i] + a.l2 * pi;
      const mi = m[i] + (gi - m[i]) * (1 - a.beta1);
      const vi = a.beta2 * v[i] + (1 - a.beta2) * gi * gi;
      let second = vi;
      if (VM) {
        second = Math.max(vmax[i], vi);
        VM[i] = second;
      }
      P[i] = a.decay * pi - (a.stepSize * mi) / (Math.sqrt(second) / a.bc2Sqrt + a.eps);
      M[i] = mi;
      V[i] = vi;
    }
    const out = [cpuTensor(P, shape), cpuTensor(M, shape), cpuTensor(V, shape)];
    if (VM) out.push(cpuTensor(VM, shape));
    return out;
  },
});
