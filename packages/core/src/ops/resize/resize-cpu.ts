import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { DType } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import type { ResizeBilinearAttrs, ResizeNearestAttrs } from './resize.js';

/** The two input neighbours of one output index along an axis and their weights (torch's formula). */
interface Taps {
  i0: number;
  i1: number;
  l0: number;
  l1: number;
}

function linearTaps(inSize: number, outSize: number, ratio: number, alignCorners: boolean): Taps[] {
  return Array.from({ length: outSize }, (_, o) => {
    if (inSize === outSize) return { i0: o, i1: o, l0: 1, l1: 0 };
    const src = alignCorners ? ratio * o : Math.max(ratio * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    return { i0, i1: i0 < inSize - 1 ? i0 + 1 : i0, l0: 1 - l1, l1 };
  });
}

/**
 * Visits the four weighted source pixels of every output element: `visit(xi, yi, weight)`. The resize and
 * its gradient share this enumeration, so they are exact adjoints.
 */
function bilinearTerms(a: ResizeBilinearAttrs, visit: (xi: number, yi: number, weight: number) => void) {
  const [n, c, h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  const rows = linearTaps(h, oh, a.ratio[0], a.alignCorners);
  const cols = linearTaps(w, ow, a.ratio[1], a.alignCorners);
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      const r = rows[i];
      for (let j = 0; j < ow; j++) {
        const q = cols[j];
        const yi = (b * oh + i) * ow + j;
        const base = b * h * w;
        visit(base + r.i0 * w + q.i0, yi, r.l0 * q.l0);
        visit(base + r.i0 * w + q.i1, yi, r.l0 * q.l1);
        visit(base + r.i1 * w + q.i0, yi, r.l1 * q.l0);
        visit(base + r.i1 * w + q.i1, yi, r.l1 * q.l1);
      }
    }
  }
}

/** torch's legacy nearest source index along one axis (float32 arithmetic, with its two special cases). */
function nearestIndex(o: number, inSize: number, outSize: number, scale: number): number {
  if (outSize === inSize) return o;
  if (outSize === 2 * inSize) return o >> 1;
  return Math.min(Math.floor(Math.fround(o * scale)), inSize - 1);
}

/** For every output element, the flat input index nearest resize copies. */
function nearestMap(a: ResizeNearestAttrs): Int32Array {
  const [n, c, h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  const rows = Array.from({ length: oh }, (_, i) => nearestIndex(i, h, oh, a.scale[0]));
  const cols = Array.from({ length: ow }, (_, j) => nearestIndex(j, w, ow, a.scale[1]));
  const map = new Int32Array(sizeOf(a.yShape));
  for (let b = 0; b < n * c; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) map[(b * oh + i) * ow + j] = b * h * w + rows[i] * w + cols[j];
  return map;
}

function store(acc: Float64Array, dtype: DType, shape: readonly number[]) {
  const out = cpuAlloc(dtype, acc.length);
  out.set(acc);
  return cpuTensor(out, shape);
}

registerKernel<ResizeBilinearAttrs>({
  op: 'resizeBilinear',
  backend: 'cpu',
  run: ([x], a) => {
    const src = cpuData(x);
    const acc = new Float64Array(sizeOf(a.yShape));
    bilinearTerms(a, (xi, yi, wt) => {
      acc[yi] += wt * src[xi];
    });
    return [store(acc, x.dtype, a.yShape)];
  },
});

registerKernel<ResizeBilinearAttrs>({
  op: 'resizeBilinearGrad',
  backend: 'cpu',
  run: ([g], a) => {
    const src = cpuData(g);
    const acc = new Float64Array(sizeOf(a.xShape));
    bilinearTerms(a, (xi, yi, wt) => {
      acc[xi] += wt * src[yi];
    });
    return [store(acc, g.dtype, a.xShape)];
  },
});

registerKernel<ResizeNearestAttrs>({
  op: 'resizeNearest',
  backend: 'cpu',
  run: ([x], a) => {
    const src = cpuData(x);
    const map = nearestMap(a);
    const out = cpuAlloc(x.dtype, map.length);
    for (let yi = 0; yi < map.length; yi++) out[yi] = src[map[yi]];
    return [cpuTensor(out, a.yShape)];
  },
});

registerKernel<ResizeNearestAttrs>({
  op: 'resizeNearestGrad',
  backend: 'cpu',
  run: ([g], a) => {
    const src = cpuData(g);
    const map = nearestMap(a);
    const acc = new Float64Array(sizeOf(a.xShape));
    for (let yi = 0; yi < map.length; yi++) acc[map[yi]] += src[yi];
    return [store(acc, g.dtype, a.xShape)];
  },
});
