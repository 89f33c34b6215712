import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, type OpDef, runOp1 } from '../op.js';

/**
 * How {@link pad} fills the new elements: a constant, the mirror image without repeating the edge
 * (`reflect`: `[1, 2, 3]` padded by 2 on the left gives `3, 2, 1, 2, 3`), the edge value repeated
 * (`replicate`), or the other end of the axis (`circular`).
 */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Options of {@link pad}. */
export interface PadOptions {
  /** Fill mode (default `'constant'`). */
  mode?: PadMode;
  /** Fill value of `'constant'` mode (default 0); the other modes take none. */
  value?: number;
}

/**
 * Attributes of the `'pad'` and `'padGrad'` ops, one entry per axis of x: output index `o` along axis `a`
 * reads input index `o - before[a]`, mapped back into range as `mode` says.
 */
export interface PadAttrs {
  /** Elements added before each axis (negative: removed). */
  before: number[];
  /** Elements added after each axis (negative: removed). */
  after: number[];
  /** Fill mode. */
  mode: PadMode;
  /** Fill value of constant mode (0 otherwise). */
  value: number;
  /** Shape of x. */
  xShape: number[];
  /** Shape of the padded result. */
  yShape: number[];
}

const MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/** @internal Pads x. Its gradient sums each output gradient into the input element it was read from. */
export const padOp: OpDef<PadAttrs> = defineOp<PadAttrs>({
  name: 'pad',
  vjp: ([g], _x, _y, a) => [runOp1(padGradOp, [g!], a)],
});

/** @internal The gradient of pad: `g` (of `yShape`) summed back into `xShape`; linear, so its vjp is pad. */
export const padGradOp: OpDef<PadAttrs> = defineOp<PadAttrs>({
  name: 'padGrad',
  vjp: ([g], _x, _y, a) => [runOp1(padOp, [g!], { ...a, value: 0 })],
});

/**
 * Pads (or, with negative amounts, crops) `x`, as `torch.nn.functional.pad`: `pads` lists `[before, after]`
 * pairs starting from the LAST axis, so `[left, right, top, bottom]` pads the width then the height of an
 * NCHW tensor. Any number of trailing axes may be padded in every mode (torch limits the non-constant modes
 * to the last 1-3 axes). Limits per axis, as in torch: `reflect` pads less than the axis size, `circular` at
 * most the axis size, and crops may not remove more than the axis holds. Differentiable.
 *
 * @example
 * pad(x, [1, 1, 2, 0]);                     // width +1 on both sides, height +2 on top
 * pad(x, [2, 2], { mode: 'reflect' });      // [1, 2, 3] -> [3, 2, 1, 2, 3, 2, 1]
 * pad(x, [-1, 0]);                          // drops the first column
 */
export function pad(x: Tensor, pads: readonly number[], opts: PadOptions = {}): Tensor {
  x.assertAlive('pad', 'x');
  const mode = opts.mode ?? 'constant';
  if (!MODES.includes(mode))
    throw new ValueError('pad', 'mode', `one of ${MODES.join(', ')}`, JSON.stringify(mode));
  if (
    !Array.isArray(pads) ||
    pads.length % 2 !== 0 ||
    pads.length > 2 * x.rank ||
    pads.some((p) => !Number.isInteger(p))
  ) {
    throw new ValueError(
      'pad',
      'pads',
      `an even-length list of at most ${2 * x.rank} integers (2 per axis of x ${fmtShape(x.shape)})`,
      JSON.stringify(pads),
    );
  }
  if (mode !== 'constant' && opts.value !== undefined && opts.value !== 0) {
    throw new ValueError('pad', 'value', `unset in '${mode}' mode (it fills from x)`, String(opts.value));
  }
  const value = mode === 'constant' ? (opts.value ?? 0) : 0;
  if (typeof value !== 'number') throw new ValueError('pad', 'value', 'a number', typeof value);
  if (x.dtype === 'int32' && !Number.isInteger(value))
    throw new ValueError('pad', 'value', 'an integer for an int32 tensor', String(value));
  if (x.dtype === 'bool' && value !== 0 && value !== 1)
    throw new ValueError('pad', 'value', '0 or 1 for a bool tensor', String(value));
  const before = new Array<number>(x.rank).fill(0);
  const after = new Array<number>(x.rank).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    const axis = x.rank - 1 - k;
    before[axis] = pads[2 * k];
    after[axis] = pads[2 * k + 1];
  }
  const yShape = x.shape.map((n, a) => {
    const [b, e] = [before[a], after[a]];
    const where = `axis ${a} (size ${n}) padded by (${b}, ${e})`;
    if (Math.max(0, -b) + Math.max(0, -e) > n)
      throw new ShapeError(
        'pad',
        'pads',
        `crops that fit in the axis on ${where}`,
        `a negative size ${n + b + e}`,
      );
    const grow = Math.max(b, e);
    if (mode === 'reflect' && grow > 0 && grow >= n)
      throw new ValueError(
        'pad',
        'pads',
        `less than the axis size in reflect mode on ${where}`,
        String(grow),
      );
    if (mode === 'circular' && grow > n)
      throw new ValueError('pad', 'pads', `at most the axis size in circular mode on ${where}`, String(grow));
    if (mode === 'replicate' && grow > 0 && n === 0)
      throw new ShapeError('pad', 'x', `non-empty to replicate on ${where}`, fmtShape(x.shape));
    return n + b + e;
  });
  return runOp1(padOp, [x], { before, after, mode, value, xShape: [...x.shape], yShape });
}
