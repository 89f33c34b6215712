import { ValueError } from '../../errors.js';
import { normalizeAxes, normalizeAxis } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cast } from '../elementwise/cast.js';
import { defineOp, type OpDef, runOp1 } from '../op.js';

/** Attributes of the scan kernels: the axis, and whether to run from the end of it. */
interface ScanAttrs {
  axis: number;
  reverse: boolean;
}

const cumsumOp: OpDef<ScanAttrs> = defineOp<ScanAttrs>({
  name: 'cumsum',
  // Element i feeds every later output (earlier ones when reversed), so its gradient sums g from i onward:
  // the same scan run the other way.
  vjp: ([g], _x, _y, { axis, reverse }) => [runOp1(cumsumOp, [g!], { axis, reverse: !reverse })],
});

const cumprodOp = defineOp<{ axis: number }>({
  name: 'cumprod',
  // Its own kernel: the textbook `reverse_cumsum(g * y) / x` divides by zero wherever x has a zero.
  vjp: ([g], [x], _y, { axis }) => [runOp1(cumprodGradOp, [x, g!], { axis })],
});

/** @internal The gradient of cumprod with respect to its input, exact where the input has zeros. */
export const cumprodGradOp = defineOp<{ axis: number }>({
  name: 'cumprodGrad',
  vjp: () => {
    throw new ValueError(
      'cumprod',
      'the gradient',
      'used without differentiating it again (cumprod has first derivatives only)',
      'a second backward pass through it',
    );
  },
});

// flip sits with the scans: a reversed scan is flip(scan(flip(x))), and the scan tests check exactly that.
const flipOp: OpDef<{ axes: number[] }> = defineOp<{ axes: number[] }>({
  name: 'flip',
  vjp: ([g], _x, _y, attrs) => [runOp1(flipOp, [g!], attrs)],
});

/** Options of {@link cumsum}. */
export interface CumsumOptions {
  /** Sum from the end of the axis towards its start (default false), as `flip(cumsum(flip(x)))`. */
  reverse?: boolean;
}

/**
 * Checks a scan's input and runs `scan` on it along the normalised axis. Bool input scans as int32 (as `sum`).
 * A 0-d tensor (axis 0 or -1, as PyTorch) is its own scan: it is copied, so the result is always a new tensor.
 */
function runScan(op: string, x: Tensor, axis: number, scan: (src: Tensor, axis: number) => Tensor): Tensor {
  x.assertAlive(op, 'x');
  const a = normalizeAxis(op, axis, Math.max(x.rank, 1));
  const src = x.dtype === 'bool' ? cast(x, 'int32') : x;
  try {
    return x.rank === 0 ? src.clone() : scan(src, a);
  } finally {
    if (src !== x) src.dispose();
  }
}

/**
 * Running sum along `axis`, as `torch.cumsum`: `out[..., i, ...] = sum of x[..., 0..i, ...]` (or `i..n-1` with
 * `reverse`). Accumulates in float64 on the CPU; float input keeps its dtype, int32 and bool give int32.
 * Differentiable for float input.
 *
 * @example
 * cumsum(tensor([1, 2, 3]), 0) // [1, 3, 6]
 */
export function cumsum(x: Tensor, axis: number, opts: CumsumOptions = {}): Tensor {
  const reverse = opts.reverse ?? false;
  if (typeof reverse !== 'boolean') throw new ValueError('cumsum', 'reverse', 'a boolean', String(reverse));
  return runScan('cumsum', x, axis, (src, a) => runOp1(cumsumOp, [src], { axis: a, reverse }));
}

/**
 * Running product along `axis`, as `torch.cumprod`: `out[..., i, ...] = prod of x[..., 0..i, ...]`. Float input
 * keeps its dtype, int32 and bool give int32. Differentiable for float input, also where x has zeros (first
 * derivatives only).
 */
export function cumprod(x: Tensor, axis: number): Tensor {
  return runScan('cumprod', x, axis, (src, a) => runOp1(cumprodOp, [src], { axis: a }));
}

/**
 * Reverses the order of elements along each of `axes`, as `torch.flip` (a copy). Differentiable: the gradient
 * is flipped back.
 *
 * @example
 * flip(tensor([[1, 2], [3, 4]]), 1) // [[2, 1], [4, 3]]
 */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  x.assertAlive('flip', 'x');
  if (axes === undefined) throw new ValueError('flip', 'axes', 'an axis or a list of axes', 'undefined');
  // A 0-d tensor accepts axis 0 or -1 (as PyTorch) and has nothing to reverse.
  const norm = normalizeAxes('flip', axes, Math.max(x.rank, 1)).filter((a) => a < x.rank);
  return runOp1(flipOp, [x], { axes: norm });
}
