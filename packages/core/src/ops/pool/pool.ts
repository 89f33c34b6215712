import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { shapesEqual } from '../../shape.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, type OpDef, runOp, runOp1 } from '../op.js';
import { perAxis, type SpatialArg } from '../spatial-args.js';
import { reshape } from '../views/views.js';

type Pair = [number, number];
type Quad = [number, number, number, number];

/** Shapes of a 2-d pooling op: input `[N, C, H, W]` and output `[N, C, OH, OW]`. */
export interface PoolShapes {
  /** Input shape. */
  xShape: [number, number, number, number];
  /** Output shape. */
  yShape: [number, number, number, number];
}

/**
 * Attributes of `'avgPool2d'` and `'avgPool2dGrad'`. The window of output `(oh, ow)` starts at row
 * `oh * stride[0] - padding[0]` and spans `kernel[0]` rows, clipped to `H + padding[0]` (torch's rule for
 * `ceilMode` windows); the sum of its input elements is divided by `divisor` when non-zero, else by the
 * clipped window's area (`countIncludePad`) or by its number of input elements.
 */
export interface AvgPool2dAttrs extends PoolShapes {
  /** Window size `[kH, kW]`. */
  kernel: [number, number];
  /** Window step `[sH, sW]`. */
  stride: [number, number];
  /** Implicit zero padding `[pH, pW]` on both sides. */
  padding: [number, number];
  /** Whether padded positions count in the divisor. */
  countIncludePad: boolean;
  /** A fixed divisor, or 0 for the window's count. */
  divisor: number;
}

/**
 * Attributes of `'maxPool2d'`: the window of output `(oh, ow)` holds rows `oh * stride[0] - padding[0] +
 * i * dilation[0]` for `i < kernel[0]` (likewise columns); positions outside the input are -inf padding.
 */
export interface MaxPool2dAttrs extends PoolShapes {
  /** Window size `[kH, kW]`. */
  kernel: [number, number];
  /** Window step `[sH, sW]`. */
  stride: [number, number];
  /** Implicit -inf padding `[pH, pW]` on both sides. */
  padding: [number, number];
  /** Spacing between window taps `[dH, dW]`. */
  dilation: [number, number];
}

/** @internal The gradient of max pooling: `g` summed into zeros of `xShape` at the flat in-plane indices. */
export const maxPool2dGradOp: OpDef<PoolShapes> = defineOp<PoolShapes>({
  name: 'maxPool2dGrad',
  vjp: ([g], [_dy, idx], _y, a) => [runOp1(maxPool2dGatherOp, [g!, idx], a), null],
});

/** @internal `x` (of `xShape`) read at flat in-plane indices (of `yShape`): the adjoint of maxPool2dGrad. */
export const maxPool2dGatherOp: OpDef<PoolShapes> = defineOp<PoolShapes>({
  name: 'maxPool2dGather',
  vjp: ([g], [_x, idx], _y, a) => [runOp1(maxPool2dGradOp, [g!, idx], a), null],
});

// Max pools output [values, int32 indices into each H*W plane]; the indices route the gradient.
const maxVjp = ([g]: (Tensor | null)[], _x: Tensor[], [, idx]: Tensor[], a: PoolShapes) => [
  runOp1(maxPool2dGradOp, [g!, idx], { xShape: a.xShape, yShape: a.yShape }),
];

/** @internal Max pooling; outputs `[values, indices]`. */
export const maxPool2dOp: OpDef<MaxPool2dAttrs> = defineOp<MaxPool2dAttrs>({
  name: 'maxPool2d',
  vjp: maxVjp,
});

/** @internal Adaptive max pooling; outputs `[values, indices]`. */
export const adaptiveMaxPool2dOp: OpDef<PoolShapes> = defineOp<PoolShapes>({
  name: 'adaptiveMaxPool2d',
  vjp: maxVjp,
});

/** @internal Average pooling. */
export const avgPool2dOp: OpDef<AvgPool2dAttrs> = defineOp<AvgPool2dAttrs>({
  name: 'avgPool2d',
  vjp: ([g], _x, _y, a) => [runOp1(avgPool2dGradOp, [g!], a)],
});

/** @internal The gradient of average pooling (each output's gradient spread over its window); linear. */
export const avgPool2dGradOp: OpDef<AvgPool2dAttrs> = defineOp<AvgPool2dAttrs>({
  name: 'avgPool2dGrad',
  vjp: ([g], _x, _y, a) => [runOp1(avgPool2dOp, [g!], a)],
});

/** @internal Adaptive average pooling (torch's windows `floor(i * L / out)` to `ceil((i + 1) * L / out)`). */
export const adaptiveAvgPool2dOp: OpDef<PoolShapes> = defineOp<PoolShapes>({
  name: 'adaptiveAvgPool2d',
  vjp: ([g], _x, _y, a) => [runOp1(adaptiveAvgPool2dGradOp, [g!], a)],
});

/** @internal The gradient of adaptive average pooling; linear. */
export const adaptiveAvgPool2dGradOp: OpDef<PoolShapes> = defineOp<PoolShapes>({
  name: 'adaptiveAvgPool2dGrad',
  vjp: ([g], _x, _y, a) => [runOp1(adaptiveAvgPool2dOp, [g!], a)],
});

/** A per-axis integer option of the pooling functions: one number for every spatial axis, or one per axis. */
export type PoolArg = SpatialArg;

/** Options of {@link avgPool1d} and {@link avgPool2d} (as torch's `avg_pool2d`). */
export interface AvgPoolOptions {
  /** Window size (required). */
  kernelSize: PoolArg;
  /** Window step (default: `kernelSize`). */
  stride?: PoolArg;
  /** Implicit zero padding on both sides, at most half the window (default 0). */
  padding?: PoolArg;
  /** Round the output size up instead of down (default false); windows must still start inside the input or left padding. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead (2-d only in torch; default none). */
  divisorOverride?: number;
}

/** Options of {@link maxPool1d} and {@link maxPool2d} (as torch's `max_pool2d`). */
export interface MaxPoolOptions {
  /** Window size (required). */
  kernelSize: PoolArg;
  /** Window step (default: `kernelSize`). */
  stride?: PoolArg;
  /** Implicit -inf padding on both sides, at most half the window (default 0). */
  padding?: PoolArg;
  /** Spacing between window taps (default 1). */
  dilation?: PoolArg;
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
}

/** What {@link maxPool2dWithIndices} returns. */
export interface MaxPoolResult {
  /** The maxima, `[N, C, OH, OW]`. */
  values: Tensor;
  /** Where each maximum was, as a flat index `h * W + w` into its input plane (int32; torch's `return_indices`). */
  indices: Tensor;
}

/** The input as `[N, C, H, W]` (a 1-d input becomes a height-1 image) and the shape to give the result. */
function checkInput(op: string, x: Tensor, dims: number): { x4: Quad; out: (s: number[]) => number[] } {
  x.assertAlive(op, 'x');
  if (!isFloat(x.dtype)) throw new DTypeError(op, 'x', 'a float32 or float64 tensor', x.dtype);
  const layout = dims === 1 ? '[N, C, L] or [C, L]' : '[N, C, H, W] or [C, H, W]';
  if (x.rank !== dims + 1 && x.rank !== dims + 2)
    throw new ShapeError(op, 'x', `of shape ${layout}`, fmtShape(x.shape));
  const batched = x.rank === dims + 2;
  if (x.shape.slice(batched ? 1 : 0).some((d) => d === 0)) {
    throw new ShapeError(op, 'x', `non-empty in every axis but the batch (${layout})`, fmtShape(x.shape));
  }
  const s = batched ? [...x.shape] : [1, ...x.shape];
  const x4 = (dims === 1 ? [s[0], s[1], 1, s[2]] : s) as Quad;
  const lead = x.shape.slice(0, x.rank - dims);
  return { x4, out: (spatial) => [...lead, ...(dims === 1 ? spatial.slice(1) : spatial)] };
}

/** Lifts 1-d values to the height-1 image they run on. */
const lift = (v: number[], fill: number): Pair => (v.length === 1 ? [fill, v[0]] : [v[0], v[1]]);

/** Torch's pooled size: floor (or ceil) division, with a ceil-mode window that would start in the right padding dropped. */
function pooledSize(len: number, k: number, pad: number, stride: number, dil: number, ceil: boolean): number {
  const span = dil * (k - 1) + 1;
  let out = Math.floor((len + 2 * pad - span + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= len + pad) out--;
  return out;
}

interface Window {
  x4: [number, number, number, number];
  y4: [number, number, number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  out: number[];
}

function windowGeometry(
  op: string,
  x: Tensor,
  dims: number,
  o: { kernelSize: PoolArg; stride?: PoolArg; padding?: PoolArg; dilation?: PoolArg; ceilMode?: boolean },
): Window {
  const { x4, out } = checkInput(op, x, dims);
  const kernel = perAxis(op, 'kernelSize', o?.kernelSize, dims, 1);
  const stride =
    o.stride === undefined || (Array.isArray(o.stride) && o.stride.length === 0)
      ? kernel
      : perAxis(op, 'stride', o.stride, dims, 1);
  const padding =
    o.padding === undefined ? new Array<number>(dims).fill(0) : perAxis(op, 'padding', o.padding, dims, 0);
  const dilation =
    o.dilation === undefined ? new Array<number>(dims).fill(1) : perAxis(op, 'dilation', o.dilation, dims, 1);
  const inSize = x4.slice(4 - dims);
  const size = inSize.map((len, i) => {
    if (padding[i] > Math.floor(kernel[i] / 2)) {
      throw new ValueError(
        op,
        'padding',
        `at most half the kernel size (${Math.floor(kernel[i] / 2)}) on spatial axis ${i}`,
        String(padding[i]),
      );
    }
    return pooledSize(len, kernel[i], padding[i], stride[i], dilation[i], o.ceilMode ?? false);
  });
  if (size.some((s) => s < 1)) {
    throw new ShapeError(
      op,
      'x',
      `large enough for the window (kernel ${fmtShape(kernel)}, dilation ${fmtShape(dilation)}, padding ${fmtShape(padding)})`,
      `${fmtShape(x.shape)}, giving output size ${fmtShape(size)}`,
    );
  }
  const spatial = lift(size, 1);
  return {
    x4,
    y4: [x4[0], x4[1], ...spatial],
    kernel: lift(kernel, 1),
    stride: lift(stride, 1),
    padding: lift(padding, 0),
    dilation: lift(dilation, 1),
    out: out(spatial),
  };
}

/** Runs a pooling op on the 4-d view of `x`; returns its outputs reshaped to `outShape` (views freed). */
function run4<A extends PoolShapes>(op: OpDef<A>, x: Tensor, attrs: A, outShape: number[]): Tensor[] {
  const as = (t: Tensor, s: readonly number[]) => (shapesEqual(t.shape, s) ? t : reshape(t, s));
  return tidy(() => runOp(op, [as(x, attrs.xShape)], attrs).map((y) => as(y, outShape)));
}

function avgPoolNd(op: string, dims: number, x: Tensor, o: AvgPoolOptions): Tensor {
  // Plain-JS callers may pass max pooling's option; say so rather than silently ignore it.
  const dilation = (o as { dilation?: unknown } | undefined)?.dilation;
  if (dilation !== undefined)
    throw new ValueError(op, 'dilation', 'unset (average pooling has none)', String(dilation));
  const w = windowGeometry(op, x, dims, o);
  const d = o.divisorOverride;
  if (d !== undefined && (!Number.isFinite(d) || d === 0))
    throw new ValueError(op, 'divisorOverride', 'a non-zero number', String(d));
  const attrs: AvgPool2dAttrs = {
    kernel: w.kernel,
    stride: w.stride,
    padding: w.padding,
    countIncludePad: o.countIncludePad ?? true,
    divisor: d ?? 0,
    xShape: w.x4,
    yShape: w.y4,
  };
  return run4(avgPool2dOp, x, attrs, w.out)[0];
}

/**
 * 2-d average pooling over `x` `[N, C, H, W]` (or `[C, H, W]`), as `torch.nn.functional.avg_pool2d`: output
 * size `floor((H + 2 * padding - kernelSize) / stride) + 1` (ceil with `ceilMode`). Differentiable.
 */
export function avgPool2d(x: Tensor, opts: AvgPoolOptions): Tensor {
  return avgPoolNd('avgPool2d', 2, x, opts);
}

/** 1-d average pooling over `x` `[N, C, L]` (or `[C, L]`), as `torch.nn.functional.avg_pool1d`. See {@link avgPool2d}. */
export function avgPool1d(x: Tensor, opts: AvgPoolOptions): Tensor {
  return avgPoolNd('avgPool1d', 1, x, opts);
}

function maxPoolNd(op: string, dims: number, x: Tensor, o: MaxPoolOptions): Tensor[] {
  const w = windowGeometry(op, x, dims, o);
  const attrs: MaxPool2dAttrs = {
    kernel: w.kernel,
    stride: w.stride,
    padding: w.padding,
    dilation: w.dilation,
    xShape: w.x4,
    yShape: w.y4,
  };
  return run4(maxPool2dOp, x, attrs, w.out);
}

/**
 * 2-d max pooling over `x` `[N, C, H, W]` (or `[C, H, W]`), as `torch.nn.functional.max_pool2d`: padding
 * is -inf, output size `floor((H + 2 * padding - dilation * (kernelSize - 1) - 1) / stride) + 1` (ceil with
 * `ceilMode`). The gradient goes to the first maximum of each window in row-major order; NaN counts as the
 * maximum. A window that covers only padding (possible with dilation) gives -inf and no gradient.
 * Differentiable.
 */
export function maxPool2d(x: Tensor, opts: MaxPoolOptions): Tensor {
  const [values, indices] = maxPoolNd('maxPool2d', 2, x, opts);
  indices.dispose();
  return values;
}

/** {@link maxPool2d} that also returns where each maximum was (torch's `return_indices=True`). */
export function maxPool2dWithIndices(x: Tensor, opts: MaxPoolOptions): MaxPoolResult {
  const [values, indices] = maxPoolNd('maxPool2d', 2, x, opts);
  return { values, indices };
}

/** 1-d max pooling over `x` `[N, C, L]` (or `[C, L]`), as `torch.nn.functional.max_pool1d`. See {@link maxPool2d}. */
export function maxPool1d(x: Tensor, opts: MaxPoolOptions): Tensor {
  const [values, indices] = maxPoolNd('maxPool1d', 1, x, opts);
  indices.dispose();
  return values;
}

/** Output size of the adaptive pools: a number for every spatial axis, or one per axis (null keeps the input's). */
export type AdaptiveSize = number | readonly (number | null)[];

function adaptive(
  op: string,
  dims: number,
  x: Tensor,
  outputSize: AdaptiveSize,
): { attrs: PoolShapes; out: number[] } {
  const { x4, out } = checkInput(op, x, dims);
  const inSize = x4.slice(4 - dims);
  const list =
    typeof outputSize === 'number'
      ? new Array<number>(dims).fill(outputSize)
      : Array.isArray(outputSize)
        ? [...outputSize]
        : [];
  const size = list.map((s, i) => (s === null ? inSize[i] : s));
  if (size.length !== dims || size.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ValueError(
      op,
      'outputSize',
      `a positive integer or a list of ${dims}${dims > 1 ? ' (null keeps an axis)' : ''}`,
      JSON.stringify(outputSize),
    );
  }
  const spatial = lift(size, 1);
  return { attrs: { xShape: x4, yShape: [x4[0], x4[1], ...spatial] }, out: out(spatial) };
}

/**
 * 2-d adaptive average pooling to `outputSize` (as `torch.nn.functional.adaptive_avg_pool2d`): output row `i`
 * averages input rows `floor(i * H / OH)` to `ceil((i + 1) * H / OH)` (exclusive), likewise columns.
 * Differentiable.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const { attrs, out } = adaptive('adaptiveAvgPool2d', 2, x, outputSize);
  return run4(adaptiveAvgPool2dOp, x, attrs, out)[0];
}

/** 1-d adaptive average pooling of `x` `[N, C, L]` (or `[C, L]`) to length `outputSize`. See {@link adaptiveAvgPool2d}. */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  const { attrs, out } = adaptive('adaptiveAvgPool1d', 1, x, outputSize);
  return run4(adaptiveAvgPool2dOp, x, attrs, out)[0];
}

/**
 * 2-d adaptive max pooling to `outputSize` (as `torch.nn.functional.adaptive_max_pool2d`), with the windows of
 * {@link adaptiveAvgPool2d}; the gradient goes to the first maximum of each window. Differentiable.
 */
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const { attrs, out } = adaptive('adaptiveMaxPool2d', 2, x, outputSize);
  const [values, indices] = run4(adaptiveMaxPool2dOp, x, attrs, out);
  indices.dispose();
  return values;
}

/** 1-d adaptive max pooling of `x` `[N, C, L]` (or `[C, L]`) to length `outputSize`. See {@link adaptiveMaxPool2d}. */
export function adaptiveMaxPool1d(x: Tensor, outputSize: number): Tensor {
  const { attrs, out } = adaptive('adaptiveMaxPool1d', 1, x, outputSize);
  const [values, indices] = run4(adaptiveMaxPool2dOp, x, attrs, out);
  indices.dispose();
  return values;
}
