import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { TypedArray } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** -1, 0 or 1 as `a` sorts before, with or after `b` ascending, NaN above every number (and equal to NaN). */
function compareValues(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * For every lane of `x` along `axis` (outer x inner lanes of length n), the positions 0..n-1 ordered best
 * first, handed to `emit(order, write)` where `write(j, position)` stores position `j` of the output lane.
 */
function sortLanes(
  x: Tensor,
  axis: number,
  descending: boolean,
  outLen: number,
  emit: (order: number[], write: (j: number, v: number) => void) => void,
): TypedArray {
  const data = cpuData(x);
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  const out = cpuAlloc('int32', outer * outLen * inner);
  const sign = descending ? -1 : 1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (k: number) => data[(o * n + k) * inner + i];
      const order = Array.from({ length: n }, (_, k) => k);
      // Descending flips the value comparison only, so ties still go lower index first (stable either way).
      order.sort((p, q) => sign * compareValues(at(p), at(q)) || p - q);
      emit(order, (j, v) => {
        out[(o * outLen + j) * inner + i] = v;
      });
    }
  }
  return out;
}

registerKernel<{ axis: number; descending: boolean }>({
  op: 'argsort',
  backend: 'cpu',
  run: ([x], { axis, descending }) => {
    const out = sortLanes(x, axis, descending, x.shape[axis], (order, write) => {
      order.forEach((p, j) => write(j, p));
    });
    return [cpuTensor(out, x.shape)];
  },
});

registerKernel<{ axis: number; k: number; largest: boolean; sorted: boolean }>({
  op: 'topk',
  backend: 'cpu',
  run: ([x], { axis, k, largest, sorted }) => {
    const out = sortLanes(x, axis, largest, k, (order, write) => {
      const best = order.slice(0, k);
      if (!sorted) best.sort((p, q) => p - q);
      best.forEach((p, j) => write(j, p));
    });
    return [
      cpuTensor(
        out,
        x.shape.map((d, a) => (a === axis ? k : d)),
      ),
    ];
  },
});
