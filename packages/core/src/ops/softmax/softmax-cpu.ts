import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { sizeOf } from '../../shape.js';
import type { SoftmaxAttrs } from './softmax.js';

for (const log of [false, true]) {
  registerKernel<SoftmaxAttrs>({
    op: log ? 'logSoftmax' : 'softmax',
    backend: 'cpu',
    run: ([x], { axis }) => {
      const src = cpuData(x);
      const out = cpuAlloc(x.dtype, x.size);
      const len = x.shape[axis];
      const inner = sizeOf(x.shape.slice(axis + 1));
      const outer = sizeOf(x.shape.slice(0, axis));
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * len * inner + i;
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < len; j++) m = Math.max(m, src[base + j * inner]);
          // When every element is -Infinity, m is too and x - m is NaN: the NaN row PyTorch gives.
          let s = 0;
          for (let j = 0; j < len; j++) s += Math.exp(src[base + j * inner] - m);
          const logS = Math.log(s);
          for (let j = 0; j < len; j++) {
            const d = src[base + j * inner] - m;
            out[base + j * inner] = log ? d - logS : Math.exp(d) / s;
          }
        }
      }
      return [cpuTensor(out, x.shape)];
    },
  });
}
