import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { TypedArray } from '../../dtype.js';
import { sizeOf, stridesOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Copies a strided view into a packed array, walking the output in row-major order. */
export function gatherStrided(x: Tensor): TypedArray {
  const src = x.storage.handle as TypedArray;
  const out = cpuAlloc(x.dtype, x.size);
  const rank = x.rank;
  if (rank === 0) {
    out[0] = src[x.offset];
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  let p = x.offset;
  for (let i = 0; i < x.size; i++) {
    out[i] = src[p];
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      p += x.strides[a];
      if (idx[a] < x.shape[a]) break;
      p -= x.strides[a] * x.shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

registerKernel({
  op: 'contiguous',
  backend: 'cpu',
  inputLayout: 'strided',
  run: ([x]) => [cpuTensor(gatherStrided(x), x.shape)],
});

registerKernel<{ starts: number[]; sizes: number[]; steps: number[]; drop: boolean[]; inputShape: number[] }>(
  {
    op: 'unslice',
    backend: 'cpu',
    run: ([g], { starts, sizes, steps, inputShape }) => {
      const out = cpuAlloc(g.dtype, sizeOf(inputShape));
      const src = cpuData(g);
      const inStrides = stridesOf(inputShape);
      const rank = inputShape.length;
      // Walk the slice region (sizes, including dropped axes of size 1) in row-major order, which is g's order.
      const idx = new Array<number>(rank).fill(0);
      let base = 0;
      for (let a = 0; a < rank; a++) base += starts[a] * inStrides[a];
      const n = sizeOf(sizes);
      let p = base;
      for (let i = 0; i < n; i++) {
        out[p] = src[i];
        for (let a = rank - 1; a >= 0; a--) {
          idx[a]++;
          p += inStrides[a] * steps[a];
          if (idx[a] < sizes[a]) break;
          p -= inStrides[a] * steps[a] * sizes[a];
          idx[a] = 0;
        }
      }
      return [cpuTensor(out, inputShape)];
    },
  },
);
