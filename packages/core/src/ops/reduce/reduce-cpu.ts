import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { DType } from '../../dtype.js';
import { sizeOf, stridesOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ReduceAttrs } from './reduce.js';

/** For each input element (row-major), the flat index of the output element it reduces into. */
export function reductionMap(
  shape: readonly number[],
  axes: readonly number[],
): { map: Int32Array; outSize: number } {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(keptShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const n = sizeOf(shape);
  const map = new Int32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    map[i] = o;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a]++;
      o += outStrides[a];
      if (idx[a] < shape[a]) break;
      o -= outStrides[a] * shape[a];
      idx[a] = 0;
    }
  }
  return { map, outSize: sizeOf(keptShape) };
}

function reduceKernel(
  name: string,
  outDType: (x: Tensor) => DType,
  run: (x: ArrayLike<number>, map: Int32Array, outSize: number) => ArrayLike<number>,
) {
  registerKernel<ReduceAttrs>({
    op: name,
    backend: 'cpu',
    run: ([x], { axes, shape }) => {
      const { map, outSize } = reductionMap(x.shape, axes);
      const acc = run(cpuData(x), map, outSize);
      const out = cpuAlloc(outDType(x), outSize);
      for (let i = 0; i < outSize; i++) out[i] = acc[i];
      return [cpuTensor(out, shape)];
    },
  });
}

reduceKernel(
  'sum',
  (x) => x.dtype,
  (x, map, n) => {
    const acc = new Float64Array(n);
    for (let i = 0; i < x.length; i++) acc[map[i]] += x[i];
    return acc;
  },
);

for (const [name, better, init] of [
  ['max', (a: number, b: number) => a > b || Number.isNaN(a), Number.NEGATIVE_INFINITY],
  ['min', (a: number, b: number) => a < b || Number.isNaN(a), Number.POSITIVE_INFINITY],
] as const) {
  reduceKernel(
    name,
    (x) => x.dtype,
    (x, map, n) => {
      const acc = new Float64Array(n).fill(init);
      for (let i = 0; i < x.length; i++) if (better(x[i], acc[map[i]])) acc[map[i]] = x[i];
      return acc;
    },
  );
}

reduceKernel(
  'logsumexp',
  (x) => x.dtype,
  (x, map, n) => {
    const m = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < x.length; i++) if (x[i] > m[map[i]] || Number.isNaN(x[i])) m[map[i]] = x[i];
    const s = new Float64Array(n);
    for (let i = 0; i < x.length; i++) {
      const mi = m[map[i]];
      if (mi !== Number.NEGATIVE_INFINITY) s[map[i]] += Math.exp(x[i] - mi);
    }
    for (let j = 0; j < n; j++) s[j] = m[j] === Number.NEGATIVE_INFINITY ? m[j] : m[j] + Math.log(s[j]);
    return s;
  },
);

for (const [name, better] of [
  ['argmax', (a: number, b: number) => a > b || (Number.isNaN(a) && !Number.isNaN(b))],
  ['argmin', (a: number, b: number) => a < b || (Number.isNaN(a) && !Number.isNaN(b))],
] as const) {
  registerKernel<ReduceAttrs>({
    op: name,
    backend: 'cpu',
    run: ([x], { axes, shape }) => {
      const axis = axes[0];
      const data = cpuData(x);
      const len = x.shape[axis];
      const inner = sizeOf(x.shape.slice(axis + 1));
      const outer = sizeOf(x.shape.slice(0, axis));
      const out = cpuAlloc('int32', outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let best = 0;
          let bv = data[o * len * inner + i];
          for (let k = 1; k < len; k++) {
            const v = data[(o * len + k) * inner + i];
            if (better(v, bv)) {
              best = k;
              bv = v;
            }
          }
          out[o * inner + i] = best;
        }
      }
      return [cpuTensor(out, shape)];
    },
  });
}
