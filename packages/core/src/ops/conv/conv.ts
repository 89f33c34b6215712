import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { shapesEqual } from '../../shape.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add } from '../elementwise/binary.js';
import { defineOp, type OpDef, runOp1 } from '../op.js';
import { sum } from '../reduce/reduce.js';
import { perAxis, type SpatialArg } from '../spatial-args.js';
import { reshape } from '../views/views.js';

/**
 * Attributes shared by the three convolution ops (`'conv2d'`, `'conv2dInputGrad'`, `'conv2dWeightGrad'`).
 * They describe one cross-correlation `y = conv(x, w)` in NCHW layout; each op computes a different one of
 * its three tensors from the other two, so a backend kernel reads the same geometry for all three.
 * Output position `(oh, ow)` reads input row `oh * stride[0] - padding[0] + kh * dilation[0]` (likewise for
 * columns); positions outside the input are the zero padding. Trailing padding is implied by `yShape`.
 */
export interface Conv2dAttrs {
  /** Step between output positions, `[sh, sw]`. */
  stride: [number, number];
  /** Zero padding before the first row and column, `[top, left]`. */
  padding: [number, number];
  /** Spacing between kernel taps, `[dh, dw]`. */
  dilation: [number, number];
  /** Channel groups: input channel group `c / (C / groups)` meets output channels of the same group. */
  groups: number;
  /** Shape of `x`: `[N, C, H, W]`. */
  xShape: [number, number, number, number];
  /** Shape of `w`: `[O, C / groups, kH, kW]`. */
  wShape: [number, number, number, number];
  /** Shape of `y`: `[N, O, OH, OW]`. */
  yShape: [number, number, number, number];
}

type Quad = [number, number, number, number];

/**
 * @internal `y = conv(x, w) (+ b)`. Inputs `[x, w]` or `[x, w, b]`. Its gradients are the two ops below and a
 * sum for the bias; each of the three is linear in each input, so their vjps are each other.
 */
export const conv2dOp: OpDef<Conv2dAttrs> = defineOp<Conv2dAttrs>({
  name: 'conv2d',
  vjp: ([g], [x, w, b], _y, a) => [
    runOp1(conv2dInputGradOp, [g!, w], a),
    runOp1(conv2dWeightGradOp, [x, g!], a),
    ...(b ? [sum(g!, { axis: [0, 2, 3] })] : []),
  ],
});

/** @internal `dx` of a convolution from `[dy, w]` (a transposed convolution); shape `xShape`. */
export const conv2dInputGradOp: OpDef<Conv2dAttrs> = defineOp<Conv2dAttrs>({
  name: 'conv2dInputGrad',
  vjp: ([g], [dy, w], _y, a) => [runOp1(conv2dOp, [g!, w], a), runOp1(conv2dWeightGradOp, [g!, dy], a)],
});

/** @internal `dw` of a convolution from `[x, dy]` (a correlation of the input with the output gradient). */
export const conv2dWeightGradOp: OpDef<Conv2dAttrs> = defineOp<Conv2dAttrs>({
  name: 'conv2dWeightGrad',
  vjp: ([g], [x, dy], _y, a) => [runOp1(conv2dInputGradOp, [dy, g!], a), runOp1(conv2dOp, [x, g!], a)],
});

/** Options of {@link conv1d} and {@link conv2d} (as `torch.nn.functional.conv2d`'s keyword arguments). */
export interface ConvOptions {
  /** Step between output positions (default 1). */
  stride?: SpatialArg;
  /**
   * Zero padding on both sides of each spatial axis (default 0), or `'valid'` (none), or `'same'` (output as
   * large as the input; stride must be 1; an odd total goes one more to the end, as in torch).
   */
  padding?: SpatialArg | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: SpatialArg;
  /** Channel groups (default 1); `groups == C_in` is a depthwise convolution. */
  groups?: number;
}

/** Options of {@link convTranspose1d} and {@link convTranspose2d}. */
export interface ConvTransposeOptions {
  /** Stride of the convolution this transposes (default 1). */
  stride?: SpatialArg;
  /** Padding of the convolution this transposes: removed from both ends of the output (default 0). */
  padding?: SpatialArg;
  /** Extra rows/columns added to the end of the output, each below `stride` or `dilation` (default 0). */
  outputPadding?: SpatialArg;
  /** Spacing between kernel taps (default 1). */
  dilation?: SpatialArg;
  /** Channel groups (default 1). */
  groups?: number;
}

/** Lifts per-axis values of a 1-d op to the 2-d op it runs as (a height-1 image). */
const lift = (v: number[], pad: number): [number, number] => (v.length === 1 ? [pad, v[0]] : [v[0], v[1]]);

interface Checked {
  x: Tensor;
  w: Tensor;
  bias?: Tensor;
  /** Whether `x` has a batch axis (torch also accepts one unbatched sample). */
  batched: boolean;
  groups: number;
}

/** Checks what every convolution checks: liveness, dtypes, ranks, groups and bias. */
function checkCommon(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined | null,
  groups: number | undefined,
  dims: number,
): Checked {
  x.assertAlive(op, 'x');
  w.assertAlive(op, 'weight');
  bias?.assertAlive(op, 'bias');
  if (!isFloat(x.dtype)) throw new DTypeError(op, 'x', 'a float32 or float64 tensor', x.dtype);
  if (w.dtype !== x.dtype) throw new DTypeError(op, 'weight', `of x's dtype (${x.dtype})`, w.dtype);
  if (bias && bias.dtype !== x.dtype)
    throw new DTypeError(op, 'bias', `of x's dtype (${x.dtype})`, bias.dtype);
  const layout = dims === 1 ? '[N, C, L] or [C, L]' : '[N, C, H, W] or [C, H, W]';
  if (x.rank !== dims + 2 && x.rank !== dims + 1)
    throw new ShapeError(op, 'x', `of shape ${layout}`, fmtShape(x.shape));
  if (w.rank !== dims + 2) {
    throw new ShapeError(
      op,
      'weight',
      `of rank ${dims + 2} (${dims === 1 ? '[O, C/groups, k]' : '[O, C/groups, kH, kW]'})`,
      fmtShape(w.shape),
    );
  }
  if (w.shape.slice(2).some((k) => k < 1))
    throw new ShapeError(op, 'weight', 'non-empty kernel axes', fmtShape(w.shape));
  const g = groups ?? 1;
  if (!Number.isInteger(g) || g < 1) throw new ValueError(op, 'groups', 'a positive integer', String(groups));
  return { x, w, bias: bias ?? undefined, batched: x.rank === dims + 2, groups: g };
}

/** `t` viewed with `shape` (itself when it already has it). */
const as = (t: Tensor, shape: readonly number[]) => (shapesEqual(t.shape, shape) ? t : reshape(t, shape));

/** Runs the conv2d op on 4-d views of the arguments and gives the result `outShape`; the views are freed. */
function runConv2d(c: Checked, a: Conv2dAttrs, outShape: number[]): Tensor {
  return tidy(() => {
    const inputs = [as(c.x, a.xShape), as(c.w, a.wShape)];
    if (c.bias) inputs.push(c.bias);
    return as(runOp1(conv2dOp, inputs, a), outShape);
  });
}

function convNd(
  op: string,
  dims: number,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | undefined | null,
  o: ConvOptions,
): Tensor {
  const c = checkCommon(op, x, weight, bias, o.groups, dims);
  const xs = c.batched ? [...x.shape] : [1, ...x.shape];
  const [n, cin] = xs;
  const [cout, cg] = weight.shape;
  const g = c.groups;
  if (cin % g !== 0)
    throw new ValueError(op, 'groups', `a divisor of the input channels (${cin})`, String(g));
  if (cout % g !== 0)
    throw new ValueError(op, 'groups', `a divisor of the output channels (${cout})`, String(g));
  if (cg * g !== cin) {
    throw new ShapeError(
      op,
      'weight',
      `of shape [O, ${cin / g}, ...] for ${cin} input channels and groups ${g}`,
      fmtShape(weight.shape),
    );
  }
  if (c.bias && (c.bias.rank !== 1 || c.bias.shape[0] !== cout))
    throw new ShapeError(op, 'bias', `of shape [${cout}]`, fmtShape(c.bias.shape));
  const stride = perAxis(op, 'stride', o.stride, dims, 1, 1);
  const dilation = perAxis(op, 'dilation', o.dilation, dims, 1, 1);
  const kernel = weight.shape.slice(2);
  const inSize = xs.slice(2);
  let before: number[];
  let after: number[];
  if (o.padding === 'same') {
    if (stride.some((s) => s !== 1))
      throw new ValueError(op, 'stride', "1 when padding is 'same'", JSON.stringify(o.stride));
    before = kernel.map((k, i) => Math.floor((dilation[i] * (k - 1)) / 2));
    after = kernel.map((k, i) => dilation[i] * (k - 1) - before[i]);
  } else if (o.padding === 'valid') {
    before = new Array<number>(dims).fill(0);
    after = before;
  } else {
    if (typeof o.padding === 'string') {
      throw new ValueError(
        op,
        'padding',
        "'same', 'valid', a non-negative integer or a list",
        JSON.stringify(o.padding),
      );
    }
    before = perAxis(op, 'padding', o.padding, dims, 0, 0);
    after = before;
  }
  const outSize = inSize.map((len, i) => {
    const span = dilation[i] * (kernel[i] - 1) + 1;
    const padded = len + before[i] + after[i];
    if (span > padded) {
      throw new ShapeError(
        op,
        'x',
        `at least the dilated kernel size ${span} along spatial axis ${i} once padded`,
        `${padded} (input ${fmtShape(x.shape)})`,
      );
    }
    return Math.floor((padded - span) / stride[i]) + 1;
  });
  const attrs: Conv2dAttrs = {
    stride: lift(stride, 1),
    padding: lift(before, 0),
    dilation: lift(dilation, 1),
    groups: g,
    xShape: [n, cin, ...lift(inSize, 1)] as Quad,
    wShape: [cout, cg, ...lift(kernel, 1)] as Quad,
    yShape: [n, cout, ...lift(outSize, 1)] as Quad,
  };
  return runConv2d(c, attrs, c.batched ? [n, cout, ...outSize] : [cout, ...outSize]);
}

/**
 * 2-d convolution (cross-correlation, as `torch.nn.functional.conv2d`): `x` `[N, C_in, H, W]` (or unbatched
 * `[C_in, H, W]`), `weight` `[C_out, C_in / groups, kH, kW]`, optional `bias` `[C_out]`; the result is
 * `[N, C_out, OH, OW]` with `OH = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride) + 1`.
 * Differentiable in all three arguments (the input gradient is a transposed convolution, the weight gradient
 * a correlation: dedicated ops `'conv2dInputGrad'` and `'conv2dWeightGrad'` that backends can register).
 *
 * @example
 * const y = conv2d(x, w, b, { stride: 2, padding: 1 });
 * const depthwise = conv2d(x, wDw, null, { padding: 'same', groups: x.shape[1] });
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv2d', 2, x, weight, bias, opts);
}

/**
 * 1-d convolution (as `torch.nn.functional.conv1d`): `x` `[N, C_in, L]` (or `[C_in, L]`), `weight`
 * `[C_out, C_in / groups, k]`, optional `bias` `[C_out]`; result `[N, C_out, L_out]`. Runs as {@link conv2d}
 * on a height-1 view, so it has the same options (one number each) and is differentiable the same way.
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv1d', 1, x, weight, bias, opts);
}

function convTransposeNd(
  op: string,
  dims: number,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | undefined | null,
  o: ConvTransposeOptions,
): Tensor {
  const c = checkCommon(op, x, weight, bias, o.groups, dims);
  const xs = c.batched ? [...x.shape] : [1, ...x.shape];
  const [n, cin] = xs;
  const [wIn, cg] = weight.shape;
  const g = c.groups;
  if (cin % g !== 0)
    throw new ValueError(op, 'groups', `a divisor of the input channels (${cin})`, String(g));
  if (wIn !== cin)
    throw new ShapeError(
      op,
      'weight',
      `of shape [${cin}, C_out / groups, ...] for ${cin} input channels`,
      fmtShape(weight.shape),
    );
  const cout = cg * g;
  if (c.bias && (c.bias.rank !== 1 || c.bias.shape[0] !== cout))
    throw new ShapeError(op, 'bias', `of shape [${cout}]`, fmtShape(c.bias.shape));
  const stride = perAxis(op, 'stride', o.stride, dims, 1, 1);
  const padding = perAxis(op, 'padding', o.padding, dims, 0, 0);
  const dilation = perAxis(op, 'dilation', o.dilation, dims, 1, 1);
  const outPad = perAxis(op, 'outputPadding', o.outputPadding, dims, 0, 0);
  outPad.forEach((p, i) => {
    if (p >= stride[i] && p >= dilation[i]) {
      throw new ValueError(
        op,
        'outputPadding',
        `smaller than stride or dilation (${stride[i]}, ${dilation[i]}) on spatial axis ${i}`,
        String(p),
      );
    }
  });
  const kernel = weight.shape.slice(2);
  const inSize = xs.slice(2);
  const outSize = inSize.map(
    (len, i) => (len - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outPad[i] + 1,
  );
  if (outSize.some((s) => s < 1)) {
    throw new ShapeError(
      op,
      'x',
      `large enough for a positive output size (input ${fmtShape(x.shape)}, padding ${JSON.stringify(padding)})`,
      `output size ${fmtShape(outSize)}`,
    );
  }
  // The transposed convolution is the input gradient of the convolution that maps the output back to x.
  const attrs: Conv2dAttrs = {
    stride: lift(stride, 1),
    padding: lift(padding, 0),
    dilation: lift(dilation, 1),
    groups: g,
    xShape: [n, cout, ...lift(outSize, 1)] as Quad,
    wShape: [cin, cg, ...lift(kernel, 1)] as Quad,
    yShape: [n, cin, ...lift(inSize, 1)] as Quad,
  };
  const outShape = c.batched ? [n, cout, ...outSize] : [cout, ...outSize];
  return tidy(() => {
    const y = as(runOp1(conv2dInputGradOp, [as(x, attrs.yShape), as(weight, attrs.wShape)], attrs), outShape);
    return c.bias ? add(y, reshape(c.bias, [cout, ...new Array<number>(dims).fill(1)])) : y;
  });
}

/**
 * 2-d transposed convolution (as `torch.nn.functional.conv_transpose2d`, the gradient of {@link conv2d} with
 * respect to its input): `x` `[N, C_in, H, W]` (or `[C_in, H, W]`), `weight` `[C_in, C_out / groups, kH, kW]`,
 * optional `bias` `[C_out]`; the result is `[N, C_out, OH, OW]` with
 * `OH = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1`. Differentiable.
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTransposeOptions = {},
): Tensor {
  return convTransposeNd('convTranspose2d', 2, x, weight, bias, opts);
}

/**
 * 1-d transposed convolution (as `torch.nn.functional.conv_transpose1d`): `x` `[N, C_in, L]` (or `[C_in, L]`),
 * `weight` `[C_in, C_out / groups, k]`, optional `bias` `[C_out]`. See {@link convTranspose2d}.
 */
export function convTranspose1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTransposeOptions = {},
): Tensor {
  return convTransposeNd('convTranspose1d', 1, x, weight, bias, opts);
}
