import { isFloat } from '../../dtype.js';
import { broadcastShapes } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp, runOp1 } from '../op.js';
import { sumToShape } from '../reduce/reduce.js';
import { type Operand, toOperands } from './operand.js';
import { log } from './unary.js';

/** Attributes of every broadcasting binary op: the broadcast output shape. */
export interface BinaryAttrs {
  /** The broadcast shape of the output. */
  shape: number[];
}

type Vjp = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

/** Names of the arithmetic binary ops; backends register a kernel under each. */
export const ARITHMETIC_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
/** Names of the comparison ops (bool output). */
export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
/** Names of the logical ops on bool tensors. */
export const LOGICAL_OPS = ['logicalAnd', 'logicalOr', 'logicalXor'] as const;

function binary(name: string, vjp?: Vjp) {
  const op = defineOp<BinaryAttrs>({
    name,
    vjp: vjp
      ? ([g], [a, b], [y]) => {
          const [ga, gb] = vjp(g!, a, b, y);
          return [
            ga && isFloat(a.dtype) ? sumToShape(ga, a.shape) : null,
            gb && isFloat(b.dtype) ? sumToShape(gb, b.shape) : null,
          ];
        }
      : undefined,
  });
  return (a: Operand, b: Operand, minFloat = false): Tensor => {
    const { ts, temps } = toOperands(name, [a, b], minFloat ? 'float32' : undefined);
    try {
      return runOp1(op, ts, { shape: broadcastShapes(name, ts[0].shape, ts[1].shape) });
    } finally {
      for (const t of temps) t.dispose();
    }
  };
}

const addRaw = binary('add', (g) => [g, g]);
const subRaw = binary('sub', (g) => [g, neg1(g)]);
const mulRaw = binary('mul', (g, a, b) => [mul(g, b), mul(g, a)]);
const divRaw = binary('div', (g, a, b) => [div(g, b), neg1(div(mul(g, a), mul(b, b)))]);
const powRaw = binary('pow', (g, a, b, y) => [
  mul(g, mul(b, pow(a, sub(b, 1)))),
  b.requiresGrad ? mul(g, mul(y, log(a))) : null,
]);
const maxRaw = binary('maximum', (g, a, b) => [mul(g, ge(a, b)), mul(g, lt(a, b))]);
const minRaw = binary('minimum', (g, a, b) => [mul(g, le(a, b)), mul(g, gt(a, b))]);

const neg1 = (g: Tensor) => mul(g, -1);

/** `a + b`, broadcasting. */
export const add = (a: Operand, b: Operand): Tensor => addRaw(a, b);
/** `a - b`, broadcasting. */
export const sub = (a: Operand, b: Operand): Tensor => subRaw(a, b);
/** `a * b`, broadcasting. */
export const mul = (a: Operand, b: Operand): Tensor => mulRaw(a, b);
/** `a / b`, broadcasting; always floating point (true division, as in PyTorch). */
export const div = (a: Operand, b: Operand): Tensor => divRaw(a, b, true);
/** `a ** b`, broadcasting; always floating point. */
export const pow = (a: Operand, b: Operand): Tensor => powRaw(a, b, true);
/** Element-wise maximum; on ties the gradient goes to `a`. */
export const maximum = (a: Operand, b: Operand): Tensor => maxRaw(a, b);
/** Element-wise minimum; on ties the gradient goes to `a`. */
export const minimum = (a: Operand, b: Operand): Tensor => minRaw(a, b);

const eqRaw = binary('eq');
const neRaw = binary('ne');
const ltRaw = binary('lt');
const leRaw = binary('le');
const gtRaw = binary('gt');
const geRaw = binary('ge');
/** `a == b` as a bool tensor. */
export const eq = (a: Operand, b: Operand): Tensor => eqRaw(a, b);
/** `a != b` as a bool tensor. */
export const ne = (a: Operand, b: Operand): Tensor => neRaw(a, b);
/** `a < b` as a bool tensor. */
export const lt = (a: Operand, b: Operand): Tensor => ltRaw(a, b);
/** `a <= b` as a bool tensor. */
export const le = (a: Operand, b: Operand): Tensor => leRaw(a, b);
/** `a > b` as a bool tensor. */
export const gt = (a: Operand, b: Operand): Tensor => gtRaw(a, b);
/** `a >= b` as a bool tensor. */
export const ge = (a: Operand, b: Operand): Tensor => geRaw(a, b);

const andRaw = binary('logicalAnd');
const orRaw = binary('logicalOr');
const xorRaw = binary('logicalXor');
/** Element-wise AND of truth values (non-zero is true); bool output. */
export const logicalAnd = (a: Operand, b: Operand): Tensor => andRaw(a, b);
/** Element-wise OR of truth values; bool output. */
export const logicalOr = (a: Operand, b: Operand): Tensor => orRaw(a, b);
/** Element-wise XOR of truth values; bool output. */
export const logicalXor = (a: Operand, b: Operand): Tensor => xorRaw(a, b);
