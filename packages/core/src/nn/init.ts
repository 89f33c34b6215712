/**
 * Parameter initialisers, as `torch.nn.init`: each fills a floating-point leaf tensor in place (through
 * `assign`, without recording gradients) and returns it. Random ones draw from the global generator
 * ({@link manualSeed}) unless given a `generator`; the values follow the same distributions as PyTorch, not the
 * same random streams.
 *
 * @module
 */
import { noGrad } from '../autograd/mode.js';
import { isFloat } from '../dtype.js';
import { fmtShape, ShapeError, ValueError } from '../errors.js';
import { full } from '../tensor/creation.js';
import {
  type Generator,
  globalGenerator,
  randomNormal,
  randomUniform,
  truncatedNormal,
} from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** Options shared by the random initialisers. */
export interface InitOptions {
  /** Generator to draw from (default: the global one). */
  generator?: Generator;
}

/** Activation names understood by {@link calculateGain} (PyTorch's spelling). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** Which fan the Kaiming initialisers preserve: the forward pass's variance (`fan_in`) or the backward's. */
export type FanMode = 'fan_in' | 'fan_out';

/** Options of {@link kaimingUniform_} and {@link kaimingNormal_}. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (default 0; Linear and Conv use √5). */
  a?: number;
  /** Fan to scale by (default `'fan_in'`). */
  mode?: FanMode;
  /** Activation that follows (default `'leaky_relu'`, with slope `a`). */
  nonlinearity?: Nonlinearity;
}

/** Options of {@link xavierUniform_} and {@link xavierNormal_}. */
export interface XavierOptions extends InitOptions {
  /** Scale factor (default 1; see {@link calculateGain}). */
  gain?: number;
}

/** Options of {@link truncNormal_}. */
export interface TruncNormalOptions extends InitOptions {
  /** Mean (default 0). */
  mean?: number;
  /** Standard deviation before truncation (default 1). */
  std?: number;
  /** Lower cut-off, an absolute value (default -2, as PyTorch: not in units of std). */
  a?: number;
  /** Upper cut-off, an absolute value (default 2). */
  b?: number;
}

/**
 * The recommended gain for an activation (`torch.nn.init.calculate_gain`): 1 for linear layers, convolutions
 * and sigmoid, 5/3 for tanh, √2 for ReLU, √(2 / (1 + slope²)) for leaky ReLU (`param` is the slope, default
 * 0.01), 3/4 for SELU.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) {
        throw new ValueError('calculateGain', 'param', 'a finite negative slope', String(param));
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ValueError(
        'calculateGain',
        'nonlinearity',
        "one of 'linear', 'conv1d'..'conv_transpose3d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'",
        JSON.stringify(nonlinearity),
      );
  }
}

/**
 * `[fanIn, fanOut]` of a weight (or its shape) in PyTorch's layout: `[out, in, ...kernel]`, so
 * `fanIn = in · ∏kernel` and `fanOut = out · ∏kernel`. Needs at least two axes.
 */
export function calculateFanInAndFanOut(t: Tensor | readonly number[]): [number, number] {
  const shape = t instanceof Tensor ? t.shape : t;
  if (shape.length < 2) {
    throw new ShapeError('calculateFanInAndFanOut', 'tensor', 'at least 2-D (a weight)', fmtShape(shape));
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return [shape[1] * receptive, shape[0] * receptive];
}

function target(op: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new ValueError(op, 'tensor', 'a Tensor', typeof t);
  t.assertAlive(op, 'tensor');
  if (!isFloat(t.dtype)) throw new ValueError(op, 'tensor', 'a floating-point tensor', t.dtype);
}

function fill(t: Tensor, make: (opts: { dtype: 'float32' | 'float64'; backend: string }) => Tensor): Tensor {
  const spec = { dtype: t.dtype as 'float32' | 'float64', backend: t.backend.name };
  noGrad(() => t.assign(make(spec)));
  return t;
}

function finite(op: string, arg: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValueError(op, arg, 'a finite number', String(v));
}

/** Fills with samples of U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, opts: InitOptions = {}): Tensor {
  target('uniform_', t);
  finite('uniform_', 'low', low);
  finite('uniform_', 'high', high);
  if (!(high >= low)) throw new ValueError('uniform_', 'high', `>= low (${low})`, String(high));
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomUniform(t.shape, { ...s, low, high, generator }));
}

/** Fills with samples of N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  target('normal_', t);
  finite('normal_', 'mean', mean);
  finite('normal_', 'std', std);
  if (std < 0) throw new ValueError('normal_', 'std', 'a non-negative number', String(std));
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomNormal(t.shape, { ...s, mean, std, generator }));
}

/**
 * Fills with samples of N(mean, std²) conditioned on `[a, b]` (absolute bounds, default [-2, 2], as
 * `torch.nn.init.trunc_normal_`; timm's `trunc_normal_(w, std=.02)` is `truncNormal_(w, { std: 0.02 })`).
 */
export function truncNormal_(t: Tensor, opts: TruncNormalOptions = {}): Tensor {
  target('truncNormal_', t);
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  for (const [k, v] of Object.entries({ mean, std, a, b })) finite('truncNormal_', k, v);
  if (std < 0) throw new ValueError('truncNormal_', 'std', 'a non-negative number', String(std));
  if (!(b > a)) throw new ValueError('truncNormal_', 'b', `> a (${a})`, String(b));
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => truncatedNormal(t.shape, { ...s, mean, std, a, b, generator }));
}

/** Fills with `value`. */
export function constant_(t: Tensor, value: number): Tensor {
  target('constant_', t);
  if (typeof value !== 'number') throw new ValueError('constant_', 'value', 'a number', typeof value);
  return fill(t, (s) => full(t.shape, value, s));
}

/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  target(op, t);
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  if (mode !== 'fan_in' && mode !== 'fan_out') {
    throw new ValueError(op, 'mode', "'fan_in' or 'fan_out'", JSON.stringify(mode));
  }
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  return fan === 0 ? 0 : calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * He initialisation with a uniform distribution: U(-bound, bound) with `bound = gain · √(3 / fan)`. With
 * `a: Math.sqrt(5)` this is PyTorch's default for Linear and Conv weights: U(±1/√fanIn).
 */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomUniform(t.shape, { ...s, low: -bound, high: bound, generator }));
}

/** He initialisation with a normal distribution: N(0, std²) with `std = gain / √fan`. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd('kaimingNormal_', t, opts);
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomNormal(t.shape, { ...s, mean: 0, std, generator }));
}

function xavierStd(op: string, t: Tensor, gain: number): number {
  target(op, t);
  finite(op, 'gain', gain);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return fanIn + fanOut === 0 ? 0 : gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot initialisation, uniform: U(-bound, bound) with `bound = gain · √(6 / (fanIn + fanOut))`. */
export function xavierUniform_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const bound = Math.sqrt(3) * xavierStd('xavierUniform_', t, opts.gain ?? 1);
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomUniform(t.shape, { ...s, low: -bound, high: bound, generator }));
}

/** Glorot initialisation, normal: N(0, std²) with `std = gain · √(2 / (fanIn + fanOut))`. */
export function xavierNormal_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const std = xavierStd('xavierNormal_', t, opts.gain ?? 1);
  const generator = opts.generator ?? globalGenerator();
  return fill(t, (s) => randomNormal(t.shape, { ...s, mean: 0, std, generator }));
}
