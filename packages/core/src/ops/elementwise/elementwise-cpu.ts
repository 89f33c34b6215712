import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { erf, roundHalfEven } from '../../backend/cpu/math.js';
import { registerKernel } from '../../backend/registry.js';
import type { DType } from '../../dtype.js';
import { broadcastStrides, sizeOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BinaryAttrs } from './binary.js';
import { UNARY_OPS } from './unary.js';

type UnaryFn = (x: number, a: Record<string, number | string>) => number;

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

const UNARY: Record<string, UnaryFn> = {
  neg: (x) => -x,
  abs: (x) => Math.abs(x),
  sign: (x) => Math.sign(x),
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  log1p: (x) => Math.log1p(x),
  expm1: (x) => Math.expm1(x),
  sqrt: (x) => Math.sqrt(x),
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sin: (x) => Math.sin(x),
  cos: (x) => Math.cos(x),
  tanh: (x) => Math.tanh(x),
  sigmoid,
  erf,
  relu: (x) => (x > 0 ? x : 0),
  silu: (x) => x * sigmoid(x),
  gelu: (x, a) =>
    a.approximate === 'tanh'
      ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
      : 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
  elu: (x, a) => (x > 0 ? x : (a.alpha as number) * Math.expm1(x)),
  leakyRelu: (x, a) => (x > 0 ? x : (a.slope as number) * x),
  softplus: (x, a) => {
    const b = a.beta as number;
    return b * x > (a.threshold as number) ? x : Math.log1p(Math.exp(b * x)) / b;
  },
  clamp: (x, a) => Math.min(Math.max(x, a.min as number), a.max as number),
  floor: (x) => Math.floor(x),
  ceil: (x) => Math.ceil(x),
  round: roundHalfEven,
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

for (const [name, kind] of Object.entries(UNARY_OPS)) {
  const f = UNARY[name];
  registerKernel<Record<string, number | string>>({
    op: name,
    backend: 'cpu',
    run: ([x], attrs) => {
      const src = cpuData(x);
      const out = cpuAlloc(kind === 'bool' ? 'bool' : x.dtype, x.size);
      for (let i = 0; i < x.size; i++) out[i] = f(src[i], attrs);
      return [cpuTensor(out, x.shape)];
    },
  });
}

type BinaryFn = (a: number, b: number) => number;

const BINARY: Record<string, { f: BinaryFn; bool?: boolean }> = {
  add: { f: (a, b) => a + b },
  sub: { f: (a, b) => a - b },
  mul: { f: (a, b) => a * b },
  div: { f: (a, b) => a / b },
  pow: { f: (a, b) => a ** b },
  maximum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)) },
  minimum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)) },
  eq: { f: (a, b) => +(a === b), bool: true },
  ne: { f: (a, b) => +(a !== b), bool: true },
  lt: { f: (a, b) => +(a < b), bool: true },
  le: { f: (a, b) => +(a <= b), bool: true },
  gt: { f: (a, b) => +(a > b), bool: true },
  ge: { f: (a, b) => +(a >= b), bool: true },
  logicalAnd: { f: (a, b) => +(a !== 0 && b !== 0), bool: true },
  logicalOr: { f: (a, b) => +(a !== 0 || b !== 0), bool: true },
  logicalXor: { f: (a, b) => +((a !== 0) !== (b !== 0)), bool: true },
};

/**
 * Calls `body(outIndex, offsets)` for every element of `shape`, with each operand's flat offset under
 * broadcasting. The obvious odometer loop: the oracle, not the fast path.
 */
export function forEachBroadcast(
  shape: readonly number[],
  operands: readonly Tensor[],
  body: (i: number, offs: number[]) => void,
): void {
  const rank = shape.length;
  const strides = operands.map((t) => broadcastStrides(t.shape, shape));
  const offs = operands.map(() => 0);
  const idx = new Array<number>(rank).fill(0);
  const n = sizeOf(shape);
  for (let i = 0; i < n; i++) {
    body(i, offs);
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][a];
      if (idx[a] < shape[a]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][a] * shape[a];
      idx[a] = 0;
    }
  }
}

for (const [name, { f, bool }] of Object.entries(BINARY)) {
  registerKernel<BinaryAttrs>({
    op: name,
    backend: 'cpu',
    run: ([a, b], { shape }) => {
      const da = cpuData(a);
      const db = cpuData(b);
      const dtype: DType = bool ? 'bool' : a.dtype;
      const out = cpuAlloc(dtype, sizeOf(shape));
      const n = out.length;
      // Fast paths for the common layouts; the odometer loop handles general broadcasting.
      if (a.size === n && b.size === n) for (let i = 0; i < n; i++) out[i] = f(da[i], db[i]);
      else if (b.size === 1 && a.size === n) for (let i = 0, vb = db[0]; i < n; i++) out[i] = f(da[i], vb);
      else if (a.size === 1 && b.size === n) for (let i = 0, va = da[0]; i < n; i++) out[i] = f(va, db[i]);
      else {
        forEachBroadcast(shape, [a, b], (i, [oa, ob]) => {
          out[i] = f(da[oa], db[ob]);
        });
      }
      return [cpuTensor(out, shape)];
    },
  });
}

registerKernel<{ shape: number[] }>({
  op: 'where',
  backend: 'cpu',
  run: ([c, a, b], { shape }) => {
    const dc = cpuData(c);
    const da = cpuData(a);
    const db = cpuData(b);
    const out = cpuAlloc(a.dtype, sizeOf(shape));
    forEachBroadcast(shape, [c, a, b], (i, [oc, oa, ob]) => {
      out[i] = dc[oc] !== 0 ? da[oa] : db[ob];
    });
    return [cpuTensor(out, shape)];
  },
});

registerKernel<{ dtype: DType }>({
  op: 'cast',
  backend: 'cpu',
  run: ([x], { dtype }) => {
    const src = cpuData(x);
    const out = cpuAlloc(dtype, x.size);
    if (dtype === 'bool') for (let i = 0; i < x.size; i++) out[i] = src[i] !== 0 ? 1 : 0;
    else if (dtype === 'int32') for (let i = 0; i < x.size; i++) out[i] = Math.trunc(src[i]);
    else out.set(src);
    return [cpuTensor(out, x.shape)];
  },
});
