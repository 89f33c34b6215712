import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { DType } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import type { Conv2dAttrs } from './conv.js';

/** Which of the convolution's three tensors a pass accumulates. */
const FORWARD = 0; // y[yi] += x[xi] * w[wi]
const INPUT_GRAD = 1; // dx[xi] += dy[yi] * w[wi]
const WEIGHT_GRAD = 2; // dw[wi] += x[xi] * dy[yi]

/**
 * Visits every product of the convolution described by `a`, one per (n, o, c, kh, kw, oh, ow) whose input
 * position lies inside x (taps on the zero padding contribute nothing), and accumulates it into `acc` as
 * `mode` says. The three ops share this one enumeration, so they are exact adjoints of each other.
 */
function accumulate(
  a: Conv2dAttrs,
  mode: number,
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  acc: Float64Array,
) {
  const [n, c, h, w] = a.xShape;
  const [o, cg, kh, kw] = a.wShape;
  const [, , oh, ow] = a.yShape;
  const [sh, sw] = a.stride;
  const [ph, pw] = a.padding;
  const [dh, dw] = a.dilation;
  const og = o / a.groups;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const group = Math.floor(oc / og);
      for (let ci = 0; ci < cg; ci++) {
        const xc = group * cg + ci;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wi = ((oc * cg + ci) * kh + i) * kw + j;
            for (let y = 0; y < oh; y++) {
              const ih = y * sh - ph + i * dh;
              if (ih < 0 || ih >= h) continue;
              for (let x = 0; x < ow; x++) {
                const iw = x * sw - pw + j * dw;
                if (iw < 0 || iw >= w) continue;
                const xi = ((b * c + xc) * h + ih) * w + iw;
                const yi = ((b * o + oc) * oh + y) * ow + x;
                if (mode === FORWARD) acc[yi] += p[xi] * q[wi];
                else if (mode === INPUT_GRAD) acc[xi] += p[yi] * q[wi];
                else acc[wi] += p[xi] * q[yi];
              }
            }
          }
        }
      }
    }
  }
}

/** Rounds a float64 accumulator once into an output of `dtype`. */
function store(acc: Float64Array, dtype: DType, shape: readonly number[]) {
  const out = cpuAlloc(dtype, acc.length);
  out.set(acc);
  return cpuTensor(out, shape);
}

registerKernel<Conv2dAttrs>({
  op: 'conv2d',
  backend: 'cpu',
  run: ([x, w, b], a) => {
    const acc = new Float64Array(sizeOf(a.yShape));
    if (b) {
      const bias = cpuData(b);
      const plane = a.yShape[2] * a.yShape[3];
      for (let i = 0; i < acc.length; i++) acc[i] = bias[Math.floor(i / plane) % a.yShape[1]];
    }
    accumulate(a, FORWARD, cpuData(x), cpuData(w), acc);
    return [store(acc, x.dtype, a.yShape)];
  },
});

registerKernel<Conv2dAttrs>({
  op: 'conv2dInputGrad',
  backend: 'cpu',
  run: ([dy, w], a) => {
    const acc = new Float64Array(sizeOf(a.xShape));
    accumulate(a, INPUT_GRAD, cpuData(dy), cpuData(w), acc);
    return [store(acc, dy.dtype, a.xShape)];
  },
});

registerKernel<Conv2dAttrs>({
  op: 'conv2dWeightGrad',
  backend: 'cpu',
  run: ([x, dy], a) => {
    const acc = new Float64Array(sizeOf(a.wShape));
    accumulate(a, WEIGHT_GRAD, cpuData(x), cpuData(dy), acc);
    return [store(acc, x.dtype, a.wShape)];
  },
});
