// Records one chunked decayed causal scan (see scan-wgsl.ts) into the WebGPU backend's pending work.
import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import { type ScanPlan, type ScanShape, useParallel } from './plan.js';
import {
  blockOutputWgsl,
  carryWgsl,
  contributionWgsl,
  type ScanOffsets,
  sequentialWgsl,
} from './scan-wgsl.js';

/** The operands of one scan: `out_x = sum_{y <= x} exp(-s_h (x - y)) (a_x . b_y) c_y` in scan time. */
export interface ScanOperands {
  /** Dotted operand of the output row, `[batch, n, heads, da]`, contiguous. */
  a: Tensor;
  /** Dotted operand of the source row, `[batch, n, heads, da]`, contiguous. */
  b: Tensor;
  /** Carried operand, `[batch, n, heads, dc]`, contiguous. */
  c: Tensor;
  /** The scan params on WebGPU, float32 `[bits of n as u32, s_0, ..., s_(heads-1)]` (see {@link scanParams}). */
  params: Tensor;
  /** Output buffer, `[batch, n, heads, dc]` from offset 0. */
  out: GPUBuffer;
  /** Scan time runs backwards over the tokens (the sums over `y >= x` of the backward). */
  reverse: boolean;
}

/**
 * The params buffer of the scans of one call, as float32 values to upload: the bits of the token count `n` (a
 * u32 read with `bitcast` in WGSL, so that pipelines do not depend on it), then the per-head decay rates.
 */
export function scanParams(n: number, decay: readonly number[]): Float32Array {
  const out = new Float32Array(1 + decay.length);
  new Uint32Array(out.buffer, 0, 1)[0] = n;
  out.set(decay, 1);
  return out;
}

/** Records the kernels of one scan of shape `s` with geometry `plan` (sequential or parallel over blocks). */
export function recordScan(
  kit: WebGPUKernelKit,
  op: string,
  s: ScanShape,
  plan: ScanPlan,
  x: ScanOperands,
): void {
  const offsets: ScanOffsets = { a: x.a.offset, b: x.b.offset, c: x.c.offset, params: x.params.offset };
  const A = kit.bufferOf(op, x.a);
  const B = kit.bufferOf(op, x.b);
  const C = kit.bufferOf(op, x.c);
  const D = kit.bufferOf(op, x.params);
  // Everything the WGSL bakes in; the token and batch counts are not (they only size the grid and the scratch).
  const baked = JSON.stringify([s.heads, s.da, s.dc, plan.blk, plan.ev, x.reverse, offsets]);
  if (!useParallel(kit, op, s, plan)) {
    kit.launch(
      op,
      `linear.scan.sequential|${baked}`,
      () => sequentialWgsl(s, plan, x.reverse, offsets),
      [A, B, C, D, x.out],
      [plan.slices, s.heads, s.batch],
    );
    return;
  }
  const bh = s.batch * s.heads;
  // Block states, [batch * heads, blocks, da, dc]; released once the kernels reading it are recorded (later
  // work that reuses the buffer is recorded after them, so it runs after them).
  const states = kit.output(op, 'float32', [bh * plan.blocks * s.da * s.dc]);
  try {
    const ST = states.h.buffer;
    kit.launch(
      op,
      `linear.scan.contribution|${baked}`,
      () => contributionWgsl(s, plan, x.reverse, offsets),
      [B, C, D, ST],
      [plan.slices, plan.blocks, bh],
    );
    const wg = kit.wgSize();
    // The carry reads only the states and the decays: one pipeline serves scans of either direction.
    const carryKey = JSON.stringify([s.heads, s.da, s.dc, plan.blk, plan.ev, offsets.params, wg]);
    kit.launch(
      op,
      `linear.scan.carry|${carryKey}`,
      () => carryWgsl(s, plan, offsets, wg),
      [D, ST],
      [Math.ceil((s.heads * s.da * s.dc) / wg), s.batch],
    );
    kit.launch(
      op,
      `linear.scan.output|${baked}`,
      () => blockOutputWgsl(s, plan, x.reverse, offsets),
      [A, B, C, D, ST, x.out],
      [plan.slices, plan.blocks, bh],
    );
  } finally {
    states.t.dispose();
  }
}
