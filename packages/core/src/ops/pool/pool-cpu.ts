import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { DType } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import type { AvgPool2dAttrs, MaxPool2dAttrs, PoolShapes } from './pool.js';

/** A window along one axis: input positions `[start, end)` and, for averages, the divisor's extent. */
interface Span {
  start: number;
  end: number;
  /** Extent counting padding (clipped to the padded input), for `countIncludePad`. */
  padded: number;
}

/** Torch's average-pool window along one axis for output `o`. */
function avgSpan(o: number, len: number, k: number, s: number, p: number): Span {
  const start = o * s - p;
  const endPadded = Math.min(start + k, len + p);
  return { start: Math.max(start, 0), end: Math.min(endPadded, len), padded: endPadded - start };
}

/** Torch's adaptive window along one axis: `[floor(o * len / out), ceil((o + 1) * len / out))`. */
function adaptiveSpan(o: number, len: number, out: number): Span {
  const start = Math.floor((o * len) / out);
  const end = Math.ceil(((o + 1) * len) / out);
  return { start, end, padded: end - start };
}

/**
 * Visits every output element of a 2-d pooling with its window: `visit(plane, yi, hSpan, wSpan)`, where
 * `plane` is the flat offset of its `H * W` input plane and `yi` its flat output index.
 */
function forEachWindow(
  a: PoolShapes,
  span: (axis: 0 | 1, o: number) => Span,
  visit: (plane: number, yi: number, h: Span, w: Span) => void,
) {
  const [n, c, h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  const hs = Array.from({ length: oh }, (_, i) => span(0, i));
  const ws = Array.from({ length: ow }, (_, j) => span(1, j));
  for (let b = 0; b < n * c; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) visit(b * h * w, (b * oh + i) * ow + j, hs[i], ws[j]);
    }
  }
}

function store(acc: Float64Array, dtype: DType, shape: readonly number[]) {
  const out = cpuAlloc(dtype, acc.length);
  out.set(acc);
  return cpuTensor(out, shape);
}

/** The average pool's windows and divisors; forward and gradient share them, so they are adjoint. */
function avgWindows(
  a: AvgPool2dAttrs,
  visit: (plane: number, yi: number, h: Span, w: Span, div: number) => void,
) {
  const [, , h, w] = a.xShape;
  forEachWindow(
    a,
    (axis, o) =>
      axis === 0
        ? avgSpan(o, h, a.kernel[0], a.stride[0], a.padding[0])
        : avgSpan(o, w, a.kernel[1], a.stride[1], a.padding[1]),
    (plane, yi, hs, ws) => {
      const div =
        a.divisor !== 0
          ? a.divisor
          : a.countIncludePad
            ? hs.padded * ws.padded
            : (hs.end - hs.start) * (ws.end - ws.start);
      visit(plane, yi, hs, ws, div);
    },
  );
}

function adaptiveWindows(a: PoolShapes, visit: (plane: number, yi: number, h: Span, w: Span) => void) {
  const [, , h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  forEachWindow(a, (axis, o) => (axis === 0 ? adaptiveSpan(o, h, oh) : adaptiveSpan(o, w, ow)), visit);
}

registerKernel<AvgPool2dAttrs>({
  op: 'avgPool2d',
  backend: 'cpu',
  run: ([x], a) => {
    const src = cpuData(x);
    const w = a.xShape[3];
    const acc = new Float64Array(sizeOf(a.yShape));
    avgWindows(a, (plane, yi, hs, ws, div) => {
      let s = 0;
      for (let i = hs.start; i < hs.end; i++)
        for (let j = ws.start; j < ws.end; j++) s += src[plane + i * w + j];
      acc[yi] = s / div;
    });
    return [store(acc, x.dtype, a.yShape)];
  },
});

registerKernel<AvgPool2dAttrs>({
  op: 'avgPool2dGrad',
  backend: 'cpu',
  run: ([g], a) => {
    const src = cpuData(g);
    const w = a.xShape[3];
    const acc = new Float64Array(sizeOf(a.xShape));
    avgWindows(a, (plane, yi, hs, ws, div) => {
      const v = src[yi] / div;
      for (let i = hs.start; i < hs.end; i++)
        for (let j = ws.start; j < ws.end; j++) acc[plane + i * w + j] += v;
    });
    return [store(acc, g.dtype, a.xShape)];
  },
});

registerKernel<PoolShapes>({
  op: 'adaptiveAvgPool2d',
  backend: 'cpu',
  run: ([x], a) => {
    const src = cpuData(x);
    const w = a.xShape[3];
    const acc = new Float64Array(sizeOf(a.yShape));
    adaptiveWindows(a, (plane, yi, hs, ws) => {
      let s = 0;
      for (let i = hs.start; i < hs.end; i++)
        for (let j = ws.start; j < ws.end; j++) s += src[plane + i * w + j];
      acc[yi] = s / (hs.padded * ws.padded);
    });
    return [store(acc, x.dtype, a.yShape)];
  },
});

registerKernel<PoolShapes>({
  op: 'adaptiveAvgPool2dGrad',
  backend: 'cpu',
  run: ([g], a) => {
    const src = cpuData(g);
    const w = a.xShape[3];
    const acc = new Float64Array(sizeOf(a.xShape));
    adaptiveWindows(a, (plane, yi, hs, ws) => {
      const v = src[yi] / (hs.padded * ws.padded);
      for (let i = hs.start; i < hs.end; i++)
        for (let j = ws.start; j < ws.end; j++) acc[plane + i * w + j] += v;
    });
    return [store(acc, g.dtype, a.xShape)];
  },
});

/**
 * Max over windows given as lists of in-plane positions per axis (rows and columns inside the input). The
 * first maximum in row-major order wins, and a NaN beats everything (the last NaN, as torch); a window with no position
 * inside the input gives -inf and index -1.
 */
function maxOver(
  x: ReturnType<typeof cpuData>,
  dtype: DType,
  a: PoolShapes,
  rows: (o: number) => number[],
  cols: (o: number) => number[],
) {
  const [n, c, h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  const rs = Array.from({ length: oh }, (_, i) => rows(i));
  const cs = Array.from({ length: ow }, (_, j) => cols(j));
  const values = cpuAlloc(dtype, sizeOf(a.yShape));
  const indices = cpuAlloc('int32', sizeOf(a.yShape));
  for (let b = 0; b < n * c; b++) {
    const plane = b * h * w;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = Number.NEGATIVE_INFINITY;
        let at = -1;
        for (const r of rs[i]) {
          for (const q of cs[j]) {
            const v = x[plane + r * w + q];
            if (at < 0 || v > best || Number.isNaN(v)) {
              best = v;
              at = r * w + q;
            }
          }
        }
        const yi = (b * oh + i) * ow + j;
        values[yi] = best;
        indices[yi] = at;
      }
    }
  }
  return [cpuTensor(values, a.yShape), cpuTensor(indices, a.yShape)];
}

/** Positions `o * s - p + t * d` (t < k) that lie inside `[0, len)`. */
function taps(o: number, len: number, k: number, s: number, p: number, d: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < k; t++) {
    const i = o * s - p + t * d;
    if (i >= 0 && i < len) out.push(i);
  }
  return out;
}

const range = (s: Span) => Array.from({ length: s.end - s.start }, (_, i) => s.start + i);

registerKernel<MaxPool2dAttrs>({
  op: 'maxPool2d',
  backend: 'cpu',
  run: ([x], a) =>
    maxOver(
      cpuData(x),
      x.dtype,
      a,
      (i) => taps(i, a.xShape[2], a.kernel[0], a.stride[0], a.padding[0], a.dilation[0]),
      (j) => taps(j, a.xShape[3], a.kernel[1], a.stride[1], a.padding[1], a.dilation[1]),
    ),
});

registerKernel<PoolShapes>({
  op: 'adaptiveMaxPool2d',
  backend: 'cpu',
  run: ([x], a) =>
    maxOver(
      cpuData(x),
      x.dtype,
      a,
      (i) => range(adaptiveSpan(i, a.xShape[2], a.yShape[2])),
      (j) => range(adaptiveSpan(j, a.xShape[3], a.yShape[3])),
    ),
});

/** Per output element, the flat input index its in-plane index points to (or -1). */
function planeIndex(a: PoolShapes, idx: ArrayLike<number>, yi: number): number {
  const [, , h, w] = a.xShape;
  const [, , oh, ow] = a.yShape;
  const k = idx[yi];
  return k < 0 ? -1 : Math.floor(yi / (oh * ow)) * h * w + k;
}

registerKernel<PoolShapes>({
  op: 'maxPool2dGrad',
  backend: 'cpu',
  run: ([g, idx], a) => {
    const src = cpuData(g);
    const at = cpuData(idx);
    const acc = new Float64Array(sizeOf(a.xShape));
    for (let yi = 0; yi < src.length; yi++) {
      const xi = planeIndex(a, at, yi);
      if (xi >= 0) acc[xi] += src[yi];
    }
    return [store(acc, g.dtype, a.xShape)];
  },
});

registerKernel<PoolShapes>({
  op: 'maxPool2dGather',
  backend: 'cpu',
  run: ([x, idx], a) => {
    const src = cpuData(x);
    const at = cpuData(idx);
    const out = cpuAlloc(x.dtype, at.length);
    for (let yi = 0; yi < at.length; yi++) {
      const xi = planeIndex(a, at, yi);
      out[yi] = xi < 0 ? 0 : src[xi];
    }
    return [cpuTensor(out, a.yShape)];
  },
});
