import { DTypeError } from '../../errors.js';
import { broadcastShapes } from '../../shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp1 } from '../op.js';
import { sumToShape } from '../reduce/reduce.js';
import { type Operand, toOperands } from './operand.js';

const whereOp = defineOp<{ shape: number[] }>({
  name: 'where',
  vjp: ([g], [c, a, b]) => [
    null,
    a.requiresGrad ? sumToShape(where(c, g!, 0), a.shape) : null,
    b.requiresGrad ? sumToShape(where(c, 0, g!), b.shape) : null,
  ],
});

/** Picks `a` where `cond` is true and `b` elsewhere, broadcasting all three. `cond` must be bool. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  cond.assertAlive('where', 'cond');
  if (cond.dtype !== 'bool') throw new DTypeError('where', 'cond', 'a bool tensor', cond.dtype);
  const { ts, temps } = toOperands('where', [a, b]);
  if (!(a instanceof Tensor) && !(b instanceof Tensor))
    throw new DTypeError('where', 'a, b', 'at least one tensor', 'numbers');
  try {
    const shape = broadcastShapes('where', cond.shape, broadcastShapes('where', ts[0].shape, ts[1].shape));
    return runOp1(whereOp, [cond, ts[0], ts[1]], { shape });
  } finally {
    for (const t of temps) t.dispose();
  }
}
