import { isFloat } from '../../dtype.js';
import { DTypeError } from '../../errors.js';
import { normalizeAxis } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { mul, sub } from '../elementwise/binary.js';
import { exp } from '../elementwise/unary.js';
import { defineOp, runOp1 } from '../op.js';
import { sum } from '../reduce/reduce.js';
import { reshape } from '../views/views.js';

/** Attributes of the `softmax` and `logSoftmax` primitives: the normalised axis. */
export interface SoftmaxAttrs {
  /** The axis normalised over, in `[0, rank)`. */
  axis: number;
}

const softmaxOp = defineOp<SoftmaxAttrs>({
  name: 'softmax',
  // dx = y * (g - sum(g * y)) along the axis.
  vjp: ([g], _x, [y], { axis }) => [mul(y, sub(g!, sum(mul(g!, y), { axis, keepDims: true })))],
});

const logSoftmaxOp = defineOp<SoftmaxAttrs>({
  name: 'logSoftmax',
  // dx = g - softmax(x) * sum(g), with softmax(x) = exp(y).
  vjp: ([g], _x, [y], { axis }) => [sub(g!, mul(exp(y), sum(g!, { axis, keepDims: true })))],
});

function run(name: string, op: typeof softmaxOp, x: Tensor, axis: number): Tensor {
  x.assertAlive(name, 'x');
  if (!isFloat(x.dtype)) throw new DTypeError(name, 'x', 'a float32 or float64 tensor', x.dtype);
  if (x.rank === 0) {
    // A scalar is one row of one element (axis 0 or -1, as in PyTorch).
    normalizeAxis(name, axis === -1 ? 0 : axis, 1);
    const row = reshape(x, [1]);
    const y = runOp1(op, [row], { axis: 0 });
    const r = reshape(y, []);
    row.dispose();
    y.dispose();
    return r;
  }
  return runOp1(op, [x], { axis: normalizeAxis(name, axis, x.rank) });
}

/**
 * `exp(x) / sum(exp(x))` along `axis` (default the last), computed stably (the maximum is subtracted first).
 * As in PyTorch, a slice where every element is `-Infinity` gives NaN.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return run('softmax', softmaxOp, x, axis);
}

/**
 * `x - logsumexp(x)` along `axis` (default the last): the log of {@link softmax}, computed without forming
 * it (accurate for very negative values).
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return run('logSoftmax', logSoftmaxOp, x, axis);
}
