import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { sizeOf, stridesOf } from '../../shape.js';

// Indices arrive checked (the public functions reject out-of-range ones), so kernels only do the arithmetic.

/**
 * Calls `visit(i, at)` for every element `i` (row-major) of a tensor of shape `idxShape`, where `at` is the
 * flat offset of the same position in a row-major tensor of shape `target` with `axis` left at 0: adding
 * `index[i] * stride(target, axis)` to it gives the element that index[i] points to.
 */
function forEachPosition(
  idxShape: readonly number[],
  target: readonly number[],
  axis: number,
  visit: (i: number, at: number) => void,
): void {
  const rank = idxShape.length;
  const strides = stridesOf(target).map((s, a) => (a === axis ? 0 : s));
  const pos = new Array<number>(rank).fill(0);
  const n = sizeOf(idxShape);
  let at = 0;
  for (let i = 0; i < n; i++) {
    visit(i, at);
    for (let a = rank - 1; a >= 0; a--) {
      pos[a]++;
      at += strides[a];
      if (pos[a] < idxShape[a]) break;
      at -= strides[a] * idxShape[a];
      pos[a] = 0;
    }
  }
}

registerKernel<{ axis: number }>({
  op: 'gather',
  backend: 'cpu',
  run: ([x, index], { axis }) => {
    const src = cpuData(x);
    const idx = cpuData(index);
    const step = stridesOf(x.shape)[axis];
    const out = cpuAlloc(x.dtype, index.size);
    forEachPosition(index.shape, x.shape, axis, (i, at) => {
      out[i] = src[at + idx[i] * step];
    });
    return [cpuTensor(out, index.shape)];
  },
});

registerKernel<{ axis: number }>({
  op: 'indexSelect',
  backend: 'cpu',
  run: ([x, index], { axis }) => {
    const src = cpuData(x);
    const idx = cpuData(index);
    const n = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const outer = sizeOf(x.shape.slice(0, axis));
    const k = index.size;
    const shape = x.shape.map((d, a) => (a === axis ? k : d));
    const out = cpuAlloc(x.dtype, outer * k * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < k; j++) {
        const from = (o * n + idx[j]) * inner;
        const to = (o * k + j) * inner;
        for (let i = 0; i < inner; i++) out[to + i] = src[from + i];
      }
    }
    return [cpuTensor(out, shape)];
  },
});

registerKernel<{ axis: number }>({
  op: 'scatterAdd',
  backend: 'cpu',
  run: ([x, index, src], { axis }) => {
    // Sums in float64 and rounds once, so float32 results do not depend on how many indices repeat.
    const acc = Float64Array.from(cpuData(x));
    const idx = cpuData(index);
    const s = cpuData(src);
    const step = stridesOf(x.shape)[axis];
    forEachPosition(index.shape, x.shape, axis, (i, at) => {
      acc[at + idx[i] * step] += s[i];
    });
    const out = cpuAlloc(x.dtype, x.size);
    out.set(acc);
    return [cpuTensor(out, x.shape)];
  },
});

registerKernel<{ axis: number }>({
  op: 'scatter',
  backend: 'cpu',
  run: ([x, index, src], { axis }) => {
    const out = cpuData(x).slice();
    const idx = cpuData(index);
    const s = cpuData(src);
    const step = stridesOf(x.shape)[axis];
    forEachPosition(index.shape, x.shape, axis, (i, at) => {
      out[at + idx[i] * step] = s[i];
    });
    return [cpuTensor(out, x.shape)];
  },
});
