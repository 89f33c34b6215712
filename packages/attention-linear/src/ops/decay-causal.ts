// The one scan primitive of the recurrent linear-attention family (classic causal linear attention, Lightning
// Attention-2, LightNet): a decayed causal product o_t = sum_{s<=t} exp(-s_h (t - s)) (q_t . k_s) v_s, with its
// backward as a second primitive so that a GPU backend can run both as chunked kernels.
import {
  DTypeError,
  defineOp,
  fmtShape,
  isFloat,
  runOp,
  runOp1,
  ShapeError,
  type Tensor,
  ValueError,
} from '@attnkit/core';
import './decay-causal-cpu.js';

/**
 * Attributes of the `linear.decayCausal` and `linear.decayCausalBackward` primitives. Inputs arrive contiguous:
 * `q` `[batch, n, heads, dk]`, `k` `[batch, n, heads, dk]`, `v` `[batch, n, heads, dv]` (and for the backward
 * `dO` `[batch, n, heads, dv]`); every size is read from the shapes.
 */
export interface DecayCausalAttrs {
  /**
   * Per-head decay rates `s_h >= 0` (length = heads): key `s` reaches query `t >= s` with weight
   * `exp(-s_h (t - s))`, i.e. the state decays by `lambda_h = exp(-s_h)` per token. 0 means no decay.
   */
  decay: number[];
}

const OP = 'linear.decayCausal';
const OP_BACKWARD = 'linear.decayCausalBackward';

// Inputs q, k, v, dO; outputs dq, dk, dv. No vjp (no double backward, as core's sdpaBackward).
const decayCausalBackwardOp = defineOp<DecayCausalAttrs>({ name: OP_BACKWARD });

const decayCausalOp = defineOp<DecayCausalAttrs>({
  name: OP,
  vjp: ([gOut], [q, k, v], _outputs, attrs) => runOp(decayCausalBackwardOp, [q, k, v, gOut!], attrs),
});

/** Checks q, k, v (and dO) against the layout and the decay list; returns the decays as a fresh array. */
function check(op: string, q: Tensor, k: Tensor, v: Tensor, decay: unknown, dO?: Tensor): number[] {
  const named: [string, Tensor][] = [
    ['q', q],
    ['k', k],
    ['v', v],
  ];
  if (dO) named.push(['dO', dO]);
  for (const [arg, t] of named) {
    t.assertAlive(op, arg);
    if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
    if (t.dtype !== q.dtype) throw new DTypeError(op, arg, `${q.dtype} like q`, t.dtype);
    if (t.rank !== 4) {
      throw new ShapeError(op, arg, 'a tensor [batch, tokens, heads, dim]', fmtShape(t.shape));
    }
  }
  const [batch, n, heads, dk] = q.shape;
  if (dk < 1) throw new ShapeError(op, 'q', 'a head dim of at least 1', fmtShape(q.shape));
  if (k.shape.some((d, i) => d !== q.shape[i])) {
    throw new ShapeError(op, 'k', `the shape of q ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
  const vWant = `[${batch}, ${n}, ${heads}, valueDim >= 1]`;
  if (v.shape[0] !== batch || v.shape[1] !== n || v.shape[2] !== heads || v.shape[3] < 1) {
    throw new ShapeError(op, 'v', vWant, fmtShape(v.shape));
  }
  const dOShape = dO?.shape ?? v.shape;
  if (dOShape.some((d, i) => d !== v.shape[i])) {
    throw new ShapeError(op, 'dO', `the shape of v ${fmtShape(v.shape)}`, fmtShape(dOShape));
  }
  if (!Array.isArray(decay) || decay.length !== heads) {
    throw new ValueError(
      op,
      'decay',
      `an array of ${heads} decay rates (one per head)`,
      Array.isArray(decay) ? `${decay.length} values` : String(decay),
    );
  }
  decay.forEach((s, h) => {
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) {
      throw new ValueError(op, `decay[${h}]`, 'a finite number >= 0', String(s));
    }
  });
  return [...(decay as number[])];
}

/** Options of {@link decayCausal} and {@link decayCausalBackward}. */
export interface DecayCausalOptions {
  /** Per-head decay rates `s_h >= 0` (length = heads); 0 = no decay. Default: all 0. */
  decay?: readonly number[];
}

/**
 * Decayed causal linear attention, the primitive of Lightning Attention-2 (its quadratic form, without scale,
 * feature map or normalisation): `q`, `k` `[batch, n, heads, dk]` and `v` `[batch, n, heads, dv]` give
 * `o_t = sum_{s <= t} exp(-s_h (t - s)) (q_t . k_s) v_s`, `[batch, n, heads, dv]`. Equivalently the recurrence
 * `S_t = exp(-s_h) S_{t-1} + k_t v_t^T`, `o_t = S_t^T q_t`. Differentiable in q, k and v (through
 * `linear.decayCausalBackward`). Computed in float64 on the CPU; WebGPU runs a chunked kernel.
 *
 * @example
 * const o = decayCausal(q, k, v, { decay: [0.5, 0.25] }); // two heads
 */
export function decayCausal(q: Tensor, k: Tensor, v: Tensor, opts: DecayCausalOptions = {}): Tensor {
  const decay = check(OP, q, k, v, opts.decay ?? new Array<number>(q.shape[2] ?? 0).fill(0));
  return runOp1(decayCausalOp, [q, k, v], { decay });
}

/**
 * The vector-Jacobian product of {@link decayCausal} as its own primitive: given `dO` (the gradient of the output,
 * shape of `v`), returns `[dq, dk, dv]` with `dq_t = sum_{s<=t} w_ts (dO_t . v_s) k_s`,
 * `dk_s = sum_{t>=s} w_ts (dO_t . v_s) q_t` and `dv_s = sum_{t>=s} w_ts (q_t . k_s) dO_t`, where
 * `w_ts = exp(-s_h (t - s))`. Exposed so that other backends' kernels can be tested against the CPU's.
 */
export function decayCausalBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  dO: Tensor,
  opts: DecayCausalOptions = {},
): [Tensor, Tensor, Tensor] {
  const decay = check(OP_BACKWARD, q, k, v, opts.decay ?? new Array<number>(q.shape[2] ?? 0).fill(0), dO);
  const [dq, dk, dv] = runOp(decayCausalBackwardOp, [q, k, v, dO], { decay });
  return [dq, dk, dv];
}
