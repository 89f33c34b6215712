import { type DType, isFloat, promoteTypes } from '../../dtype.js';
import { AttnkitError, DTypeError } from '../../errors.js';
import { full } from '../../tensor/creation.js';
import { Tensor } from '../../tensor/tensor.js';
import { cast } from './cast.js';

/** A tensor or a plain number (broadcast as a 0-d tensor of a fitting dtype). */
export type Operand = Tensor | number;

/** The dtype a number takes next to a tensor of `like`: integers keep int32, fractions need a float. */
function numberDType(v: number, like: DType): DType {
  if (isFloat(like)) return like;
  return Number.isInteger(v) ? 'int32' : 'float32';
}

/**
 * Turns the operands of an element-wise op into tensors on one backend with one dtype (PyTorch's promotion:
 * bool < int32 < float32 < float64; a plain number does not widen a float tensor). Returns the tensors and the
 * temporaries to dispose.
 */
export function toOperands(
  op: string,
  xs: readonly Operand[],
  minDType?: DType,
): { ts: Tensor[]; temps: Tensor[] } {
  const tensors = xs.filter((x): x is Tensor => x instanceof Tensor);
  if (tensors.length === 0) throw new DTypeError(op, 'operands', 'at least one tensor', 'only numbers');
  tensors.forEach((t, i) => t.assertAlive(op, `operand ${i}`));
  let dtype: DType = tensors.map((t) => t.dtype).reduce(promoteTypes);
  for (const x of xs) if (typeof x === 'number') dtype = promoteTypes(dtype, numberDType(x, dtype));
  if (minDType) dtype = promoteTypes(dtype, minDType);
  const backend = tensors[0].backend.name;
  const temps: Tensor[] = [];
  const ts = xs.map((x, i) => {
    if (typeof x === 'number') {
      if (Number.isNaN(x) && !isFloat(dtype)) throw new AttnkitError(op, `operand ${i}`, 'a number', 'NaN');
      const t = full([], x, { dtype, backend });
      temps.push(t);
      return t;
    }
    if (x.dtype === dtype) return x;
    const t = cast(x, dtype);
    temps.push(t);
    return t;
  });
  return { ts, temps };
}
