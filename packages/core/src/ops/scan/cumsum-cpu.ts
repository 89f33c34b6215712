import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { sizeOf, stridesOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Calls `scan(at)` once per lane of `x` along `axis`, where `at(k)` is the flat offset of the lane's element k
 * (in x and in any output of x's shape).
 */
function forEachLane(x: Tensor, axis: number, scan: (at: (k: number) => number, n: number) => void): void {
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) scan((k) => (o * n + k) * inner + i, n);
  }
}

registerKernel<{ axis: number; reverse: boolean }>({
  op: 'cumsum',
  backend: 'cpu',
  run: ([x], { axis, reverse }) => {
    const src = cpuData(x);
    const out = cpuAlloc(x.dtype, x.size);
    forEachLane(x, axis, (at, n) => {
      let acc = 0; // a JS number: float64, rounded once per stored element
      for (let j = 0; j < n; j++) {
        const k = reverse ? n - 1 - j : j;
        acc += src[at(k)];
        out[at(k)] = acc;
      }
    });
    return [cpuTensor(out, x.shape)];
  },
});

registerKernel<{ axis: number }>({
  op: 'cumprod',
  backend: 'cpu',
  run: ([x], { axis }) => {
    const src = cpuData(x);
    const out = cpuAlloc(x.dtype, x.size);
    forEachLane(x, axis, (at, n) => {
      let acc = 1;
      for (let k = 0; k < n; k++) {
        acc *= src[at(k)];
        out[at(k)] = acc;
      }
    });
    return [cpuTensor(out, x.shape)];
  },
});

registerKernel<{ axis: number }>({
  op: 'cumprodGrad',
  backend: 'cpu',
  // dx_i = sum_{j>=i} g_j * prod_{k<=j, k!=i} x_k = before_i * after_i, where before_i = prod_{k<i} x_k and
  // after_i = sum_{j>=i} g_j * prod_{i<k<=j} x_k obeys after_i = g_i + x_{i+1} * after_{i+1}. No division, so
  // zeros in x are handled exactly.
  run: ([x, g], { axis }) => {
    const xs = cpuData(x);
    const gs = cpuData(g);
    const out = cpuAlloc(g.dtype, x.size);
    forEachLane(x, axis, (at, n) => {
      const after = new Float64Array(n);
      for (let i = n - 1; i >= 0; i--) after[i] = gs[at(i)] + (i + 1 < n ? xs[at(i + 1)] * after[i + 1] : 0);
      let before = 1;
      for (let i = 0; i < n; i++) {
        out[at(i)] = before * after[i];
        before *= xs[at(i)];
      }
    });
    return [cpuTensor(out, x.shape)];
  },
});

registerKernel<{ axes: number[] }>({
  op: 'flip',
  backend: 'cpu',
  run: ([x], { axes }) => {
    const src = cpuData(x);
    const out = cpuAlloc(x.dtype, x.size);
    const rank = x.rank;
    // Walk the output row-major; along a flipped axis the source moves backwards from its last element.
    const strides = stridesOf(x.shape).map((s, a) => (axes.includes(a) ? -s : s));
    let p = 0;
    for (const a of axes) p += (x.shape[a] - 1) * -strides[a];
    const pos = new Array<number>(rank).fill(0);
    for (let i = 0; i < x.size; i++) {
      out[i] = src[p];
      for (let a = rank - 1; a >= 0; a--) {
        pos[a]++;
        p += strides[a];
        if (pos[a] < x.shape[a]) break;
        p -= strides[a] * x.shape[a];
        pos[a] = 0;
      }
    }
    return [cpuTensor(out, x.shape)];
  },
});
