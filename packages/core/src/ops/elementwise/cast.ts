import { DTYPES, type DType, isFloat } from '../../dtype.js';
import { DTypeError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp1 } from '../op.js';

const castOp = defineOp<{ dtype: DType }>({
  name: 'cast',
  vjp: ([g], [x]) => [isFloat(x.dtype) ? cast(g!, x.dtype) : null],
});

/**
 * Converts `x` to `dtype` (a copy). Float to int truncates toward zero; anything to bool is `x != 0`.
 * Returns `x` itself when it already has that dtype.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  x.assertAlive('cast', 'x');
  if (!DTYPES.includes(dtype))
    throw new DTypeError('cast', 'dtype', `one of ${DTYPES.join(', ')}`, String(dtype));
  if (x.dtype === dtype) return x;
  return runOp1(castOp, [x], { dtype });
}
