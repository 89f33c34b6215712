import { registerKernel, type Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { tiledDkDv, tiledDq } from './backward-tiled.js';
import { Bindings, commonCode, keyOf, kitOf, ROWS, stageCode, supported, tileFor } from './common.js';
import { useTiled } from './variant.js';

// Backward of `sparse.blockForward` (FlashAttention-2 style, no atomics, so deterministic):
// (1) per query row, delta_i = gOut_i . out_i - gLse_i (so that ds_ij = p_ij (gOut_i . v_j - delta_i)), packed
//     with q_i, gOut_i and lse_i into one row of a scratch buffer (which keeps the later kernels within the 8
//     storage buffers per stage that every WebGPU device allows);
// (2) the transposed layout: for each (layout batch, layout head, key block) the query blocks that list it, in
//     ascending order, padded with -1 (one thread per key block, scanning the layout);
// Steps (3) and (4) below are the simple variant; backward-tiled.ts has the register-tiled one (variant.ts).
// (3) dK, dV: one workgroup per (chunk of ROWS keys of one key block, kv head, batch), one thread per key row,
//     looping over the query heads of its GQA group and over the query blocks of the transposed layout, with
//     query tiles staged in workgroup memory, recomputing p from lse; the sums run in a fixed order;
// (4) dQ: the forward's grid again, walking the listed key blocks to accumulate dQ.

const OP = 'sparse.blockBackward';

/** Kernel (1): packs [q (D), gOut (DV), lse, delta] per query row into `packed`. */
function pack(kit: WebGPUKernelKit, a: BlockSparseAttrs, ins: Tensor[], packed: GPUBuffer): void {
  const [q, , , , out, lse, gOut, gLse] = ins;
  const rows = a.batch * a.nq * a.heads;
  const { headDim: D, valueDim: DV } = a;
  const W = D + DV + 2;
  const wg = kit.wgSize();
  const { groups, index } = kit.grid(rows, wg);
  kit.launch(
    OP,
    `${keyOf('sparsePack', a, ins, 0)}|${groups}`,
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
    [
      kit.bufferOf(OP, q),
      kit.bufferOf(OP, out),
      kit.bufferOf(OP, gOut),
      kit.bufferOf(OP, lse),
      kit.bufferOf(OP, gLse),
      packed,
    ],
    groups,
  );
}

/** Kernel (2): the transposed layout `[layoutBatch * layoutHeads * nkb, nqb]` of query blocks, -1-padded. */
function transpose(kit: WebGPUKernelKit, a: BlockSparseAttrs, kvBlocks: Tensor, dst: GPUBuffer): void {
  const [lb, lh, nqb, mb] = a.layoutShape;
  const nkb = Math.ceil(a.nk / a.blockK);
  const count = lb * lh * nkb;
  const wg = kit.wgSize();
  const { groups, index } = kit.grid(count, wg);
  kit.launch(
    OP,
    `sparseTranspose|${JSON.stringify([a.layoutShape, nkb, kvBlocks.offset])}|${groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> KB: array<i32>;
@group(0) @binding(1) var<storage, read_write> QL: array<i32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = ${index};
  if (t >= ${count}u) { return; }
  let kb = i32(t % ${nkb}u);
  let bh = t / ${nkb}u;
  var n = 0u;
  for (var qb = 0u; qb < ${nqb}u; qb++) {
    let row = ${kvBlocks.offset}u + (bh * ${nqb}u + qb) * ${mb}u;
    for (var e = 0u; e < ${mb}u; e++) {
      if (KB[row + e] == kb) {
        QL[t * ${nqb}u + n] = i32(qb);
        n++;
        break;
      }
    }
  }
  for (; n < ${nqb}u; n++) { QL[t * ${nqb}u + n] = -1i; }
}`,
    [kit.bufferOf(OP, kvBlocks), dst],
    groups,
  );
}

/** Kernel (3): dK and dV, one thread per key row. */
function dkdv(
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  ql: GPUBuffer,
  dk: GPUBuffer,
  dv: GPUBuffer,
): void {
  const [, k, v] = ins;
  const [lb, lh] = a.layoutShape;
  const nkb = Math.ceil(a.nk / a.blockK);
  const W = a.headDim + a.valueDim + 2;
  const T = tileFor(kit, a.headDim + a.valueDim + 2, a.blockQ);
  const chunks = Math.ceil(a.blockK / ROWS);
  const bind = new Bindings();
  bind.add('P', packed, 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('QL', ql, 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('DK', dk, 'f32', true);
  bind.add('DVO', dv, 'f32', true);
  const qRow = (r: string) => `((b * NQ + ${r}) * H + h)`;
  // Causal: a query block whose last row's limit lies before the workgroup's first key sees none of its keys.
  const skip = a.causal
    ? 'if (i32(min(NQ, (u32(qb) + 1u) * BLQ)) - 1i + OFF < i32(first)) { continue; }'
    : '';
  kit.launch(
    OP,
    keyOf('sparseDkDv', a, [...ins, mask], T),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const T = ${T}u;
const CH = ${chunks}u;
const W = ${W}u;
var<workgroup> QS: array<f32, ${T * a.headDim}>;
var<workgroup> GOS: array<f32, ${T * a.valueDim}>;
var<workgroup> LS: array<f32, ${T}>;
var<workgroup> DLS: array<f32, ${T}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let kh = wid.y;
  let kb = wid.x / CH;
  let first = kb * BLK + (wid.x % CH) * ${ROWS}u;
  let keyEnd = min(NK, (kb + 1u) * BLK);
  if (first >= keyEnd) { return; }
  let j = first + lid.x;
  let validK = j < keyEnd;
  let kr = (b * NK + min(j, NK - 1u)) * KVH + kh;
  var kv: array<f32, D>;
  var vv: array<f32, DV>;
  for (var c = 0u; c < D; c++) { kv[c] = K[${k.offset}u + kr * D + c]; }
  for (var c = 0u; c < DV; c++) { vv[c] = V[${v.offset}u + kr * DV + c]; }
  var dk: array<f32, D>;
  var dv: array<f32, DV>;
  for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    let qlRow = ((${lb === 1 ? '0u' : 'b'} * ${lh}u + ${lh === 1 ? '0u' : 'h'}) * NKB + kb) * NQB;
    for (var e = 0u; e < NQB; e++) {
      let qb = QL[qlRow + e];
      if (qb < 0i) { break; }
      ${skip}
      let qEnd = min(NQ, (u32(qb) + 1u) * BLQ);
      for (var i0 = u32(qb) * BLQ; i0 < qEnd; i0 += T) {
        ${stageCode('QS', 'P', 'D', T, 'i0', 'qEnd', qRow, 0, 'W')}
        ${stageCode('GOS', 'P', 'DV', T, 'i0', 'qEnd', qRow, 'D', 'W')}
        for (var r = lid.x; r < T; r += ${ROWS}u) {
          let i = i0 + r;
          var lv = neg_inf();
          var dl = 0.0;
          if (i < qEnd) {
            let p = ((b * NQ + i) * H + h) * W + D + DV;
            lv = P[p];
            dl = P[p + 1u];
          }
          LS[r] = lv;
          DLS[r] = dl;
        }
        workgroupBarrier();
        if (validK) {
          for (var ii = 0u; ii < T; ii++) {
            let i = i0 + ii;
            if (i < qEnd && LS[ii] > neg_inf() && allowed(b, h, i, j)) {
              var dot = 0.0;
              for (var c = 0u; c < D; c++) { dot += QS[ii * D + c] * kv[c]; }
              let p = exp(dot * SCALE - LS[ii]);
              var dp = 0.0;
              for (var c = 0u; c < DV; c++) {
                let g = GOS[ii * DV + c];
                dv[c] += p * g;
                dp += g * vv[c];
              }
              let dsv = p * (dp - DLS[ii]);
              for (var c = 0u; c < D; c++) { dk[c] += dsv * QS[ii * D + c]; }
            }
          }
        }
        workgroupBarrier();
      }
    }
  }
  if (validK) {
    for (var c = 0u; c < D; c++) { DK[kr * D + c] = dk[c] * SCALE; }
    for (var c = 0u; c < DV; c++) { DVO[kr * DV + c] = dv[c]; }
  }
}`,
    bind.buffers,
    [nkb * chunks, a.kvHeads, a.batch],
  );
}

/** Kernel (4): dQ, one thread per query row, walking the listed key blocks. */
function dq(
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  dqBuf: GPUBuffer,
): void {
  const [, k, v, kvBlocks] = ins;
  const W = a.headDim + a.valueDim + 2;
  const T = tileFor(kit, a.headDim + a.valueDim, a.blockK);
  const chunks = Math.ceil(a.blockQ / ROWS);
  const bind = new Bindings();
  bind.add('P', packed, 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('KB', kit.bufferOf(OP, kvBlocks), 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('DQ', dqBuf, 'f32', true);
  const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
  const skip = a.causal ? 'if (i32(kb) * i32(BLK) > i32(last) + OFF) { continue; }' : '';
  kit.launch(
    OP,
    keyOf('sparseDq', a, [...ins, mask], T),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const T = ${T}u;
const CH = ${chunks}u;
const W = ${W}u;
var<workgroup> KS: array<f32, ${T * a.headDim}>;
var<workgroup> VS: array<f32, ${T * a.valueDim}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  let qb = wid.x / CH;
  let first = qb * BLQ + (wid.x % CH) * ${ROWS}u;
  let rowEnd = min(NQ, (qb + 1u) * BLQ);
  if (first >= rowEnd) { return; }
  let last = min(rowEnd, first + ${ROWS}u) - 1u;
  let i = first + lid.x;
  let valid = i < rowEnd;
  let qr = (b * NQ + min(i, NQ - 1u)) * H + h;
  var qv: array<f32, D>;
  var go: array<f32, DV>;
  for (var c = 0u; c < D; c++) { qv[c] = P[qr * W + c]; }
  for (var c = 0u; c < DV; c++) { go[c] = P[qr * W + D + c]; }
  let lv = P[qr * W + D + DV];
  let dl = P[qr * W + D + DV + 1u];
  let live = valid && lv > neg_inf();
  var dq: array<f32, D>;
  let row = layout_row(b, h, qb);
  for (var e = 0u; e < MB; e++) {
    let kb = KB[${kvBlocks.offset}u + row + e];
    if (kb < 0i || kb >= i32(NKB)) { continue; }
    ${skip}
    let kEnd = min(NK, (u32(kb) + 1u) * BLK);
    for (var k0 = u32(kb) * BLK; k0 < kEnd; k0 += T) {
      ${stageCode('KS', 'K', 'D', T, 'k0', 'kEnd', kvRow, k.offset)}
      ${stageCode('VS', 'V', 'DV', T, 'k0', 'kEnd', kvRow, v.offset)}
      workgroupBarrier();
      if (live) {
        for (var jj = 0u; jj < T; jj++) {
          let j = k0 + jj;
          if (j < kEnd && allowed(b, h, i, j)) {
            var dot = 0.0;
            for (var c = 0u; c < D; c++) { dot += qv[c] * KS[jj * D + c]; }
            let p = exp(dot * SCALE - lv);
            var dp = 0.0;
            for (var c = 0u; c < DV; c++) { dp += go[c] * VS[jj * DV + c]; }
            let dsv = p * (dp - dl);
            for (var c = 0u; c < D; c++) { dq[c] += dsv * KS[jj * D + c]; }
          }
        }
      }
      workgroupBarrier();
    }
  }
  if (valid) {
    for (var c = 0u; c < D; c++) { DQ[qr * D + c] = dq[c] * SCALE; }
  }
}`,
    bind.buffers,
    [Math.ceil(a.nq / a.blockQ) * chunks, a.heads, a.batch],
  );
}

registerKernel<BlockSparseAttrs>({
  op: OP,
  backend: 'webgpu',
  supports: (inputs, a) => supported(inputs, a, [0, 1, 2, 4, 5, 6, 7]),
  run: (inputs: Tensor[], a) => {
    const ins = inputs.slice(0, 8);
    const mask = a.hasMask ? inputs[8] : null;
    const [q, k, v, kvBlocks] = ins;
    const kit = kitOf(q);
    const dqOut = kit.output(OP, 'float32', q.shape);
    const dkOut = kit.output(OP, 'float32', k.shape);
    const dvOut = kit.output(OP, 'float32', v.shape);
    const [lb, lh, nqb] = a.layoutShape;
    const nkb = Math.ceil(a.nk / a.blockK);
    // Scratch tensors, disposed once their kernels are recorded (the pool reuses them only for later work).
    const packed = kit.output(OP, 'float32', [a.batch * a.nq * a.heads, a.headDim + a.valueDim + 2]);
    const ql = kit.output(OP, 'int32', [lb * lh * nkb, nqb]);
    try {
      pack(kit, a, ins, packed.h.buffer);
      transpose(kit, a, kvBlocks, ql.h.buffer);
      const tiled = useTiled(kit, OP);
      (tiled ? tiledDkDv : dkdv)(
        kit,
        a,
        ins,
        mask,
        packed.h.buffer,
        ql.h.buffer,
        dkOut.h.buffer,
        dvOut.h.buffer,
      );
      (tiled ? tiledDq : dq)(kit, a, ins, mask, packed.h.buffer, dqOut.h.buffer);
    } finally {
      packed.t.dispose();
      ql.t.dispose();
    }
    return [dqOut.t, dkOut.t, dvOut.t];
  },
});
