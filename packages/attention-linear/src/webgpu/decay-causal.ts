// WebGPU kernels of `linear.decayCausal` and `linear.decayCausalBackward`: chunked scans (scan-wgsl.ts).
//
// The backward needs no kernel of its own. With w_ts = lambda^(t - s) for s <= t:
//   dq_t = sum_{s <= t} w_ts (dO_t . v_s) k_s     = scan(a = dO, b = v,  c = k)  in token order,
//   dk_s = sum_{t >= s} w_ts (dO_t . v_s) q_t     = scan(a = v,  b = dO, c = q)  in reversed order,
//   dv_s = sum_{t >= s} w_ts (q_t . k_s) dO_t     = scan(a = k,  b = q,  c = dO) in reversed order,
// i.e. Lightning Attention-2's intra-block products (dO V^T and Q K^T masked by the decay) plus its inter-block
// states (KV^T forwards for dq, dKV backwards for dk and dv), each output written by one thread: deterministic.
import { makeTensor, registerKernel, type Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { DecayCausalAttrs } from '../ops/decay-causal.js';
import { maxScanBlock, planScan, type ScanPlan, type ScanShape } from './plan.js';
import { recordScan, scanParams } from './scan.js';

const OP = 'linear.decayCausal';
const OP_BACKWARD = 'linear.decayCausalBackward';

/** The kit of the tensors' backend (undefined for a WebGPU backend other than gpu-kernels'). */
function kitOf(t: Tensor): WebGPUKernelKit | undefined {
  return t.backend.kernelKit as WebGPUKernelKit | undefined;
}

/** A scan's shape from its a operand `[batch, n, heads, da]` and c operand `[.., dc]`. */
function shapeOf(a: Tensor, c: Tensor): ScanShape {
  const [batch, n, heads, da] = a.shape;
  return { batch, n, heads, da, dc: c.shape[3] };
}

/** The plan of a scan on this device, or null if its dims do not fit the kernels. */
function planOn(kit: WebGPUKernelKit, op: string, s: ScanShape): ScanPlan | null {
  const info = kit.info(op);
  const max = info.maxComputeWorkgroupsPerDimension;
  if (s.batch > max || s.heads > max) return null;
  const plan = planScan(
    s,
    info.maxComputeWorkgroupStorageSize,
    info.maxComputeInvocationsPerWorkgroup,
    maxScanBlock(),
  );
  return plan && plan.slices <= max ? plan : null;
}

/** Whether every scan of a call fits: float32 inputs and dims the device can stage. */
function fits(op: string, inputs: Tensor[], scans: [a: Tensor, c: Tensor][]): boolean {
  if (inputs.some((t) => t.dtype !== 'float32')) return false;
  const kit = kitOf(inputs[0]);
  if (!kit) return false;
  return scans.every(([a, c]) => planOn(kit, op, shapeOf(a, c)) != null);
}

/** Records a scan of `a`, `b`, `c` into a new output shaped like `c`. */
function scanInto(op: string, a: Tensor, b: Tensor, c: Tensor, params: Tensor, reverse: boolean): Tensor {
  const kit = kitOf(a) as WebGPUKernelKit; // present: supports() checked it
  const out = kit.output(op, 'float32', c.shape);
  if (out.t.size === 0) return out.t;
  const s = shapeOf(a, c);
  recordScan(kit, op, s, planOn(kit, op, s) as ScanPlan, { a, b, c, params, out: out.h.buffer, reverse });
  return out.t;
}

/** The scans' params (token count and decay rates, see scanParams) as a float32 tensor on `t`'s backend. */
function paramsOn(t: Tensor, decay: readonly number[]): Tensor {
  const values = scanParams(t.shape[1], decay);
  return makeTensor(t.backend, values, [values.length]);
}

registerKernel<DecayCausalAttrs>({
  op: OP,
  backend: 'webgpu',
  supports: (inputs) => fits(OP, inputs, [[inputs[0], inputs[2]]]),
  run: ([q, k, v], attrs) => {
    const params = paramsOn(q, attrs.decay);
    try {
      return [scanInto(OP, q, k, v, params, false)];
    } finally {
      params.dispose();
    }
  },
});

registerKernel<DecayCausalAttrs>({
  op: OP_BACKWARD,
  backend: 'webgpu',
  supports: ([q, k, v, dO]) =>
    fits(
      OP_BACKWARD,
      [q, k, v, dO],
      [
        [dO, k],
        [v, q],
        [k, dO],
      ],
    ),
  run: ([q, k, v, dO], attrs) => {
    const params = paramsOn(q, attrs.decay);
    try {
      return [
        scanInto(OP_BACKWARD, dO, v, k, params, false),
        scanInto(OP_BACKWARD, v, dO, q, params, true),
        scanInto(OP_BACKWARD, k, q, dO, params, true),
      ];
    } finally {
      params.dispose();
    }
  },
});
