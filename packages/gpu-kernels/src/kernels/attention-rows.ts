import type { Tensor } from '@attnkit/core';
import { bufferOf, grid, launch, wgSize } from './common.js';

/** The tensors of an attention backward whose query rows `WebGPUKernelKit.packAttentionGradRows` packs. */
export interface AttentionGradRows {
  /** Queries, `rows x headDim` (any leading layout, one row per query and head). */
  q: Tensor;
  /** The forward's output, `rows x valueDim`. */
  out: Tensor;
  /** Gradient of the output, `rows x valueDim`. */
  gOut: Tensor;
  /** The forward's log-sum-exp, one per row. */
  lse: Tensor;
  /** Gradient of the log-sum-exp, one per row. */
  gLse: Tensor;
}

/**
 * Packs one row per query row into `packed` (`rows * (headDim + valueDim + 2)` floats): `[q, gOut, lse, delta]`
 * with `delta = gOut . out - gLse`, so that `ds_ij = p_ij (gOut_i . v_j - delta_i)` (FlashAttention-2's
 * preprocessing). Flash-style backward kernels read it as one buffer, which keeps them within the 8 storage
 * buffers per stage every WebGPU device allows. Dense `sdpa` and the attention packages share it.
 */
export function packAttentionGradRows(
  op: string,
  t: AttentionGradRows,
  dims: { rows: number; headDim: number; valueDim: number },
  packed: GPUBuffer,
): void {
  const { rows, headDim: D, valueDim: DV } = dims;
  const W = D + DV + 2;
  const wg = wgSize();
  const { groups, index } = grid(rows, wg);
  const { q, out, gOut, lse, gLse } = t;
  const offsets = [q, out, gOut, lse, gLse].map((x) => x.offset);
  launch(
    op,
    `attentionGradRows|${rows}|${D}|${DV}|${offsets}|${groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> O: array<f32>;
@group(0) @binding(2) var<storage, read> GO: array<f32>;
@group(0) @binding(3) var<storage, read> L: array<f32>;
@group(0) @binding(4) var<storage, read> GL: array<f32>;
@group(0) @binding(5) var<storage, read_write> P: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = ${index};
  if (r >= ${rows}u) { return; }
  let p = r * ${W}u;
  for (var c = 0u; c < ${D}u; c++) { P[p + c] = Q[${q.offset}u + r * ${D}u + c]; }
  var acc = 0.0;
  for (var c = 0u; c < ${DV}u; c++) {
    let g = GO[${gOut.offset}u + r * ${DV}u + c];
    P[p + ${D}u + c] = g;
    acc += O[${out.offset}u + r * ${DV}u + c] * g;
  }
  P[p + ${D + DV}u] = L[${lse.offset}u + r];
  P[p + ${D + DV + 1}u] = acc - GL[${gLse.offset}u + r];
}`,
    [bufferOf(op, q), bufferOf(op, out), bufferOf(op, gOut), bufferOf(op, lse), bufferOf(op, gLse), packed],
    groups,
  );
}
