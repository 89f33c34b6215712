import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { sizeOf } from '../../shape.js';

registerKernel<{ axis: number; shape: number[] }>({
  op: 'concat',
  backend: 'cpu',
  // Inputs share one dtype and every size but the axis. Seen as [outer, n_i * inner], each input contributes
  // one contiguous run per outer index, placed after the runs of the inputs before it.
  run: (xs, { axis, shape }) => {
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const row = shape[axis] * inner;
    const out = cpuAlloc(xs[0].dtype, sizeOf(shape));
    let col = 0;
    for (const x of xs) {
      const src = cpuData(x);
      const run = x.shape[axis] * inner;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < run; j++) out[o * row + col + j] = src[o * run + j];
      }
      col += run;
    }
    return [cpuTensor(out, shape)];
  },
});
