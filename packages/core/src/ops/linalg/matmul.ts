import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError } from '../../errors.js';
import { broadcastShapes, isRowMajor } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp1 } from '../op.js';
import { sumToShape } from '../reduce/reduce.js';
import { reshape, transpose } from '../views/views.js';

/**
 * Attributes of the `matmul` primitive. Inputs arrive with at least two axes; leading (batch) axes broadcast
 * to `shape`'s. An input flagged `trans` is the packed transpose of the logical operand (the caller passed a
 * transposed view, so no copy was needed): `transA` means input 0 is `[..., k, m]` holding A `[..., m, k]`,
 * `transB` means input 1 is `[..., n, k]` holding B `[..., k, n]`.
 */
export interface MatmulAttrs {
  /** Input 0 holds A transposed (`[..., k, m]`). */
  transA: boolean;
  /** Input 1 holds B transposed (`[..., n, k]`). */
  transB: boolean;
  /** Rows of A and of the output. */
  m: number;
  /** Columns of B and of the output. */
  n: number;
  /** The contracted size. */
  k: number;
  /** Output shape: the broadcast batch axes, then `[m, n]`. */
  shape: number[];
}

const matmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  // dA = g B^T and dB = A^T g in the logical (untransposed) layout, summed over broadcast batch axes; an input
  // passed transposed gets the transpose of its logical gradient (a view). Inputs needing none are skipped.
  vjp: ([g], [ia, ib], _y, { transA, transB }) => {
    const a = transA ? transpose(ia) : ia;
    const b = transB ? transpose(ib) : ib;
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (ia.requiresGrad) {
      da = sumToShape(matmul(g!, transpose(b)), a.shape);
      if (transA) da = transpose(da);
    }
    if (ib.requiresGrad) {
      db = sumToShape(matmul(transpose(a), g!), b.shape);
      if (transB) db = transpose(db);
    }
    return [da, db];
  },
});

/** `x` as the kernel should receive it: itself, or its packed transpose when `x` is a transposed view. */
function operand(x: Tensor): { t: Tensor; trans: boolean } {
  if (x.isContiguous) return { t: x, trans: false };
  const r = x.rank;
  const shape = [...x.shape];
  const strides = [...x.strides];
  [shape[r - 2], shape[r - 1]] = [shape[r - 1], shape[r - 2]];
  [strides[r - 2], strides[r - 1]] = [strides[r - 1], strides[r - 2]];
  if (isRowMajor(shape, strides)) return { t: transpose(x), trans: true };
  return { t: x, trans: false };
}

/**
 * Matrix product with `torch.matmul` semantics: 1-D operands are promoted (a vector `a` is a row `[1, k]`, a
 * vector `b` a column `[k, 1]`, and the added axis is removed from the result); leading batch axes broadcast.
 * Both operands must share a float dtype. Passing a transposed view (`matmul(a, transpose(b))`) costs no copy.
 *
 * @example
 * matmul(x, w)            // [batch, n, in] @ [in, out] -> [batch, n, out]
 * matmul(q, transpose(k)) // scores, without copying k
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  a.assertAlive('matmul', 'a');
  b.assertAlive('matmul', 'b');
  if (!isFloat(a.dtype)) throw new DTypeError('matmul', 'a', 'a float32 or float64 tensor', a.dtype);
  if (b.dtype !== a.dtype) throw new DTypeError('matmul', 'b', `${a.dtype} like a`, b.dtype);
  if (a.rank === 0) throw new ShapeError('matmul', 'a', 'a tensor with at least 1 axis', 'a scalar');
  if (b.rank === 0) throw new ShapeError('matmul', 'b', 'a tensor with at least 1 axis', 'a scalar');
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const [m, k] = a2.shape.slice(-2);
  const [kb, n] = b2.shape.slice(-2);
  if (k !== kb) {
    throw new ShapeError(
      'matmul',
      'b',
      `a tensor with ${k} rows in its last two axes to match a ${fmtShape(a.shape)}`,
      fmtShape(b.shape),
    );
  }
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const oa = operand(a2);
  const ob = operand(b2);
  const attrs: MatmulAttrs = { transA: oa.trans, transB: ob.trans, m, n, k, shape: [...batch, m, n] };
  const y = runOp1(matmulOp, [oa.t, ob.t], attrs);
  for (const t of [a2, b2, oa.t, ob.t]) if (t !== a && t !== b) t.dispose();
  if (a.rank > 1 && b.rank > 1) return y;
  // Drop the axes that 1-D promotion added.
  const shape = [...batch, ...(a.rank > 1 ? [m] : []), ...(b.rank > 1 ? [n] : [])];
  const r = reshape(y, shape);
  y.dispose();
  return r;
}
