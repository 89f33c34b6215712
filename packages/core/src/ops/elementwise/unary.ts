import { type DType, isFloat } from '../../dtype.js';
import { ValueError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp1 } from '../op.js';
import { add, ge, gt, le, logicalAnd, mul, sub } from './binary.js';
import { cast } from './cast.js';
import { where } from './where.js';

/** Options of `gelu`. */
export interface GeluAttrs {
  /** `'none'` for the exact erf form (default), `'tanh'` for the tanh approximation. */
  approximate?: 'none' | 'tanh';
}

type UnaryVjp<A> = (g: Tensor, x: Tensor, y: Tensor, attrs: A) => Tensor | null;

/** How an op treats integer input: keep the dtype, compute in float32, or give bool. */
export type OutKind = 'same' | 'float' | 'bool';

/** Every unary op: its output kind (backends use it to pick the output dtype). */
export const UNARY_OPS: Record<string, OutKind> = {};

function unary<A = Record<string, never>>(name: string, out: OutKind, vjp?: UnaryVjp<A>) {
  UNARY_OPS[name] = out;
  const op = defineOp<A>({ name, vjp: vjp ? ([g], [x], [y], attrs) => [vjp(g!, x, y, attrs)] : undefined });
  return (x: Tensor, attrs: A): Tensor => {
    x.assertAlive(name, 'x');
    const target: DType | undefined = out === 'float' && !isFloat(x.dtype) ? 'float32' : undefined;
    const src = target ? cast(x, target) : x;
    try {
      return runOp1(op, [src], attrs);
    } finally {
      if (src !== x) src.dispose();
    }
  };
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const E = {} as Record<string, never>;
const negR = unary('neg', 'same', (g) => mul(g, -1));
const absR = unary('abs', 'same', (g, x) => mul(g, sign(x)));
const signR = unary('sign', 'same');
const expR = unary('exp', 'float', (g, _x, y) => mul(g, y));
const logR = unary('log', 'float', (g, x) => div0(g, x));
const log1pR = unary('log1p', 'float', (g, x) => div0(g, add(x, 1)));
const expm1R = unary('expm1', 'float', (g, _x, y) => mul(g, add(y, 1)));
const sqrtR = unary('sqrt', 'float', (g, _x, y) => div0(g, mul(y, 2)));
const rsqrtR = unary('rsqrt', 'float', (g, _x, y) => mul(g, mul(mul(y, mul(y, y)), -0.5)));
const squareR = unary('square', 'same', (g, x) => mul(g, mul(x, 2)));
const reciprocalR = unary('reciprocal', 'float', (g, _x, y) => mul(g, mul(mul(y, y), -1)));
const sinR = unary('sin', 'float', (g, x) => mul(g, cos(x)));
const cosR = unary('cos', 'float', (g, x) => mul(g, mul(sin(x), -1)));
const tanhR = unary('tanh', 'float', (g, _x, y) => mul(g, sub(1, mul(y, y))));
const sigmoidR = unary('sigmoid', 'float', (g, _x, y) => mul(g, mul(y, sub(1, y))));
const erfR = unary('erf', 'float', (g, x) => mul(g, mul(exp(mul(mul(x, x), -1)), 2 / Math.sqrt(Math.PI))));
const reluR = unary('relu', 'same', (g, x) => mul(g, gt(x, 0)));
const siluR = unary('silu', 'float', (g, x) => {
  const s = sigmoid(x);
  return mul(g, mul(s, add(mul(x, sub(1, s)), 1)));
});
const geluR = unary<GeluAttrs>('gelu', 'float', (g, x, _y, { approximate }) => {
  if (approximate === 'tanh') {
    const x2 = mul(x, x);
    const t = tanh(mul(add(x, mul(mul(x2, x), 0.044715)), SQRT_2_OVER_PI));
    const dt = mul(mul(sub(1, mul(t, t)), add(mul(x2, 3 * 0.044715), 1)), SQRT_2_OVER_PI);
    return mul(g, add(mul(add(t, 1), 0.5), mul(mul(x, dt), 0.5)));
  }
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(mul(x, x), -0.5)), INV_SQRT_2PI);
  return mul(g, add(cdf, mul(x, pdf)));
});
const eluR = unary<{ alpha: number }>('elu', 'float', (g, x, y, { alpha }) =>
  where(gt(x, 0), g, mul(g, add(y, alpha))),
);
const leakyReluR = unary<{ slope: number }>('leakyRelu', 'float', (g, x, _y, { slope }) =>
  where(gt(x, 0), g, mul(g, slope)),
);
const softplusR = unary<{ beta: number; threshold: number }>(
  'softplus',
  'float',
  (g, x, _y, { beta, threshold }) => {
    const bx = mul(x, beta);
    return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
  },
);
const clampR = unary<{ min: number; max: number }>('clamp', 'same', (g, x, _y, { min, max }) =>
  mul(g, logicalAnd(ge(x, min), le(x, max))),
);
const floorR = unary('floor', 'same');
const ceilR = unary('ceil', 'same');
const roundR = unary('round', 'same');
const notR = unary('logicalNot', 'bool');

// a / b inside vjps (div itself lives in binary.ts and promotes to float).
function div0(a: Tensor, b: Tensor): Tensor {
  return mul(a, reciprocal(b));
}

/** `-x`. */
export const neg = (x: Tensor): Tensor => negR(x, E);
/** `|x|`; gradient `sign(x)` (0 at 0). */
export const abs = (x: Tensor): Tensor => absR(x, E);
/** -1, 0 or 1. */
export const sign = (x: Tensor): Tensor => signR(x, E);
/** `e^x`. */
export const exp = (x: Tensor): Tensor => expR(x, E);
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => logR(x, E);
/** `log(1 + x)`, accurate near 0. */
export const log1p = (x: Tensor): Tensor => log1pR(x, E);
/** `e^x - 1`, accurate near 0. */
export const expm1 = (x: Tensor): Tensor => expm1R(x, E);
/** Square root. */
export const sqrt = (x: Tensor): Tensor => sqrtR(x, E);
/** `1 / sqrt(x)`. */
export const rsqrt = (x: Tensor): Tensor => rsqrtR(x, E);
/** `x * x`. */
export const square = (x: Tensor): Tensor => squareR(x, E);
/** `1 / x`. */
export const reciprocal = (x: Tensor): Tensor => reciprocalR(x, E);
/** Sine. */
export const sin = (x: Tensor): Tensor => sinR(x, E);
/** Cosine. */
export const cos = (x: Tensor): Tensor => cosR(x, E);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => tanhR(x, E);
/** `1 / (1 + e^-x)`. */
export const sigmoid = (x: Tensor): Tensor => sigmoidR(x, E);
/** The error function. */
export const erf = (x: Tensor): Tensor => erfR(x, E);
/** `max(x, 0)`; gradient 0 at 0, as in PyTorch. */
export const relu = (x: Tensor): Tensor => reluR(x, E);
/** `x * sigmoid(x)` (swish). */
export const silu = (x: Tensor): Tensor => siluR(x, E);
/** Gaussian error linear unit: exact (erf) by default, or the tanh approximation. */
export const gelu = (x: Tensor, opts: GeluAttrs = {}): Tensor => {
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new ValueError('gelu', 'approximate', "'none' or 'tanh'", JSON.stringify(approximate));
  }
  return geluR(x, { approximate });
};
/** `x` for x > 0, else `alpha * (e^x - 1)`. */
export const elu = (x: Tensor, alpha = 1): Tensor => eluR(x, { alpha });
/** `x` for x > 0, else `slope * x`. */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => leakyReluR(x, { slope });
/** `log(1 + e^(beta x)) / beta`, linear above `threshold` (as PyTorch). */
export const softplus = (x: Tensor, opts: { beta?: number; threshold?: number } = {}): Tensor =>
  softplusR(x, { beta: opts.beta ?? 1, threshold: opts.threshold ?? 20 });
/** Clamps into `[min, max]` (either may be +-Infinity); gradient passes where min <= x <= max. */
export const clamp = (x: Tensor, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): Tensor => {
  if (min > max) throw new ValueError('clamp', 'min', `<= max (${max})`, String(min));
  return clampR(x, { min, max });
};
/** Rounds down. */
export const floor = (x: Tensor): Tensor => floorR(x, E);
/** Rounds up. */
export const ceil = (x: Tensor): Tensor => ceilR(x, E);
/** Rounds half to even, as PyTorch. */
export const round = (x: Tensor): Tensor => roundR(x, E);
/** Logical NOT of truth values (non-zero is true); bool output. */
export const logicalNot = (x: Tensor): Tensor => notR(x, E);
