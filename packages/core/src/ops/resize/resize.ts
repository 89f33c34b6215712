import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, type OpDef, runOp1 } from '../op.js';

type Pair = [number, number];
type Quad = [number, number, number, number];

/**
 * Attributes of `'resizeBilinear'` and `'resizeBilinearGrad'`, as torch's bilinear upsampling: along each
 * axis, an output index `o` reads source position `ratio * o` (`alignCorners`) or
 * `max(ratio * (o + 0.5) - 0.5, 0)`, blending the two neighbouring input elements; an axis whose size does
 * not change is copied.
 */
export interface ResizeBilinearAttrs {
  /** Whether the corner pixels' centres of input and output are aligned. */
  alignCorners: boolean;
  /** Source step per output step `[rh, rw]` (torch's `area_pixel_compute_scale`). */
  ratio: [number, number];
  /** Input shape `[N, C, H, W]`. */
  xShape: [number, number, number, number];
  /** Output shape `[N, C, OH, OW]`. */
  yShape: [number, number, number, number];
}

/**
 * Attributes of `'resizeNearest'` and `'resizeNearestGrad'`, as torch's `'nearest'` mode: along each axis,
 * output `o` reads input `min(floor(fround(o * scale)), in - 1)` in float32 arithmetic, except that an
 * unchanged size copies and an exactly doubled size reads `o >> 1`.
 */
export interface ResizeNearestAttrs {
  /** Source step per output step, rounded to float32 `[sh, sw]`. */
  scale: [number, number];
  /** Input shape `[N, C, H, W]`. */
  xShape: [number, number, number, number];
  /** Output shape `[N, C, OH, OW]`. */
  yShape: [number, number, number, number];
}

/** @internal Bilinear resize; its gradient spreads each output's gradient over its four source pixels. */
export const resizeBilinearOp: OpDef<ResizeBilinearAttrs> = defineOp<ResizeBilinearAttrs>({
  name: 'resizeBilinear',
  vjp: ([g], _x, _y, a) => [runOp1(resizeBilinearGradOp, [g!], a)],
});

/** @internal The gradient of bilinear resize (of `xShape`); linear, so its vjp is the resize itself. */
export const resizeBilinearGradOp: OpDef<ResizeBilinearAttrs> = defineOp<ResizeBilinearAttrs>({
  name: 'resizeBilinearGrad',
  vjp: ([g], _x, _y, a) => [runOp1(resizeBilinearOp, [g!], a)],
});

/** @internal Nearest-neighbour resize. */
export const resizeNearestOp: OpDef<ResizeNearestAttrs> = defineOp<ResizeNearestAttrs>({
  name: 'resizeNearest',
  vjp: ([g], _x, _y, a) => [runOp1(resizeNearestGradOp, [g!], a)],
});

/** @internal The gradient of nearest resize: each output's gradient summed into the pixel it copied. */
export const resizeNearestGradOp: OpDef<ResizeNearestAttrs> = defineOp<ResizeNearestAttrs>({
  name: 'resizeNearestGrad',
  vjp: ([g], _x, _y, a) => [runOp1(resizeNearestOp, [g!], a)],
});

/** Options of {@link interpolate} (as `torch.nn.functional.interpolate` on an NCHW tensor). */
export interface InterpolateOptions {
  /** Output size `[OH, OW]` (one number for both). Give this or `scaleFactor`. */
  size?: number | readonly number[];
  /** Multiplier of the input size (output `floor(H * scaleFactor)`); one number for both axes or one per axis. */
  scaleFactor?: number | readonly number[];
  /** `'nearest'` (default, torch's legacy nearest: `floor(o * in / out)`) or `'bilinear'`. */
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only: align the corner pixels' centres (default false). */
  alignCorners?: boolean;
  /**
   * With `scaleFactor`: compute the sampling step from the rounded output size (`in / out`) instead of from
   * `1 / scaleFactor` (default false, torch's default).
   */
  recomputeScaleFactor?: boolean;
}

function pairOf(
  op: string,
  arg: string,
  v: number | readonly number[],
  ok: (d: number) => boolean,
  want: string,
): Pair {
  const list = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (list.length !== 2 || !list.every(ok))
    throw new ValueError(op, arg, `${want} or a list of 2`, JSON.stringify(v));
  return [list[0], list[1]];
}

/**
 * Resizes the spatial axes of `x` `[N, C, H, W]`, as `torch.nn.functional.interpolate` with modes `'nearest'`
 * and `'bilinear'`: the source positions follow torch's formulas exactly, including the effect of a given
 * `scaleFactor` on the sampling step (`1 / scaleFactor`, not `in / out`, unless `recomputeScaleFactor`).
 * Differentiable.
 *
 * @example
 * interpolate(x, { scaleFactor: 2, mode: 'bilinear' });
 * interpolate(x, { size: [7, 9], mode: 'bilinear', alignCorners: true });
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const op = 'interpolate';
  x.assertAlive(op, 'x');
  if (!isFloat(x.dtype)) throw new DTypeError(op, 'x', 'a float32 or float64 tensor', x.dtype);
  if (x.rank !== 4) throw new ShapeError(op, 'x', 'of shape [N, C, H, W]', fmtShape(x.shape));
  const mode = opts?.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear')
    throw new ValueError(op, 'mode', "'nearest' or 'bilinear'", JSON.stringify(mode));
  if (mode === 'nearest' && opts.alignCorners !== undefined) {
    throw new ValueError(
      op,
      'alignCorners',
      "unset in 'nearest' mode (it only applies to 'bilinear')",
      String(opts.alignCorners),
    );
  }
  // null counts as unset, as Python's None does in torch.
  const size = opts.size ?? undefined;
  const factor = opts.scaleFactor ?? undefined;
  if ((size === undefined) === (factor === undefined)) {
    throw new ValueError(
      op,
      'size/scaleFactor',
      'exactly one of them',
      size === undefined ? 'neither' : 'both',
    );
  }
  const inSize: Pair = [x.shape[2], x.shape[3]];
  let outSize: Pair;
  // The user's scale factor, when the kernel should use it for the sampling step (torch passes it through).
  let scale: Pair | undefined;
  if (size !== undefined) {
    outSize = pairOf(op, 'size', size, (d) => Number.isInteger(d) && d > 0, 'a positive integer');
  } else {
    const f = pairOf(op, 'scaleFactor', factor!, (d) => Number.isFinite(d) && d > 0, 'a positive number');
    outSize = [Math.floor(inSize[0] * f[0]), Math.floor(inSize[1] * f[1])];
    if (outSize.some((d) => d < 1)) {
      throw new ValueError(
        op,
        'scaleFactor',
        `large enough for a non-empty output from input ${fmtShape(x.shape)}`,
        `${JSON.stringify(factor)} (output ${fmtShape(outSize)})`,
      );
    }
    if (!opts.recomputeScaleFactor) scale = f;
  }
  if (x.shape[1] === 0 || inSize.some((d) => d === 0))
    throw new ShapeError(op, 'x', 'non-empty in C, H and W', fmtShape(x.shape));
  const xShape = [...x.shape] as Quad;
  const yShape: Quad = [x.shape[0], x.shape[1], outSize[0], outSize[1]];
  if (mode === 'nearest') {
    // torch computes this step in float32: 1 / scale, or in / out.
    const s = (i: 0 | 1) => Math.fround(scale ? 1 / scale[i] : inSize[i] / outSize[i]);
    return runOp1(resizeNearestOp, [x], { scale: [s(0), s(1)], xShape, yShape });
  }
  const alignCorners = opts.alignCorners ?? false;
  const ratio = (i: 0 | 1) => {
    if (alignCorners) return outSize[i] > 1 ? (inSize[i] - 1) / (outSize[i] - 1) : 0;
    return scale ? 1 / scale[i] : inSize[i] / outSize[i];
  };
  return runOp1(resizeBilinearOp, [x], { alignCorners, ratio: [ratio(0), ratio(1)], xShape, yShape });
}

/**
 * Bilinear resize of `x` `[N, C, H, W]` to `size` (`[OH, OW]`, or one number for both): the same as
 * `interpolate(x, { size, mode: 'bilinear', alignCorners })`. Differentiable.
 */
export function resizeBilinear(
  x: Tensor,
  size: number | readonly number[],
  opts: { alignCorners?: boolean } = {},
): Tensor {
  x.assertAlive('resizeBilinear', 'x');
  return interpolate(x, { size, mode: 'bilinear', alignCorners: opts.alignCorners ?? false });
}
