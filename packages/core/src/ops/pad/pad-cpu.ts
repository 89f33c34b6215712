import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { sizeOf, stridesOf } from '../../shape.js';
import type { PadAttrs, PadMode } from './pad.js';

/** The input index that padded position `i` (already shifted by `-before`) reads, or -1 for the constant fill. */
function source(i: number, n: number, mode: PadMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'reflect':
      return i < 0 ? -i : 2 * (n - 1) - i;
    case 'replicate':
      return i < 0 ? 0 : n - 1;
    case 'circular':
      return ((i % n) + n) % n;
  }
}

/**
 * For every output element (row-major), the flat input index it reads, or -1 where it is the fill value.
 * Per-axis index tables keep the walk short: the flat index is a sum of one table entry per axis.
 */
function sourceMap(a: PadAttrs): Int32Array {
  const xStrides = stridesOf(a.xShape);
  const tables = a.yShape.map((m, ax) =>
    Array.from({ length: m }, (_, o) => {
      const s = source(o - a.before[ax], a.xShape[ax], a.mode);
      return s < 0 ? -1 : s * xStrides[ax];
    }),
  );
  const n = sizeOf(a.yShape);
  const map = new Int32Array(n);
  const idx = new Array<number>(a.yShape.length).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let ax = 0; ax < idx.length; ax++) {
      const t = tables[ax][idx[ax]];
      if (t < 0) {
        src = -1;
        break;
      }
      src += t;
    }
    map[o] = src;
    for (let ax = idx.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < a.yShape[ax]) break;
      idx[ax] = 0;
    }
  }
  return map;
}

registerKernel<PadAttrs>({
  op: 'pad',
  backend: 'cpu',
  run: ([x], a) => {
    const src = cpuData(x);
    const map = sourceMap(a);
    const out = cpuAlloc(x.dtype, map.length);
    for (let o = 0; o < map.length; o++) out[o] = map[o] < 0 ? a.value : src[map[o]];
    return [cpuTensor(out, a.yShape)];
  },
});

registerKernel<PadAttrs>({
  op: 'padGrad',
  backend: 'cpu',
  run: ([g], a) => {
    const src = cpuData(g);
    const map = sourceMap(a);
    const acc = new Float64Array(sizeOf(a.xShape));
    for (let o = 0; o < map.length; o++) if (map[o] >= 0) acc[map[o]] += src[o];
    const out = cpuAlloc(g.dtype, acc.length);
    out.set(acc);
    return [cpuTensor(out, a.xShape)];
  },
});
