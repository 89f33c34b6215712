import { registerKernel, type Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { tiledDkDv, tiledDq } from './backward-tiled.js';
import { dkdvBindings, dqBindings } from './bindings.js';
import { kitOf, launchKernel, qRow, ROWS, simpleKvTiles, stageCode, supported, tileFor } from './common.js';
import { type DkDvKernel, type DqKernel, useTiled } from './variant.js';
import {
  keyGrid,
  keyTileStart,
  listedKeyTiles,
  listingQueryTiles,
  mainHeader,
  packedLseDelta,
  queryGrid,
  queryTileStart,
  THREAD_ROW,
} from './wgsl-walks.js';

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

/** Kernel (1): packs [q (D), gOut (DV), lse, delta] per query row into `packed` (gpu-kernels' shared kernel). */
function pack(kit: WebGPUKernelKit, a: BlockSparseAttrs, ins: Tensor[], packed: GPUBuffer): void {
  const [q, , , , out, lse, gOut, gLse] = ins;
  kit.packAttentionGradRows(
    OP,
    { q, out, gOut, lse, gLse },
    { rows: a.batch * a.nq * a.heads, headDim: a.headDim, valueDim: a.valueDim },
    packed,
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
${mainHeader(wg)}
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
const dkdv: DkDvKernel = (kit, a, ins, mask, packed, ql, dk, dv) => {
  const [, k, v] = ins;
  const W = a.headDim + a.valueDim + 2;
  const T = tileFor(kit, a.headDim + a.valueDim + 2, a.blockQ);
  const chunks = Math.ceil(a.blockK / ROWS);
  const bind = dkdvBindings(kit, OP, ins, mask, packed, ql, dk, dv);
  // Each query tile: q and gOut rows, and the rows' lse and delta, staged.
  const stage = `${stageCode('QS', 'P', 'D', T, 'i0', 'qEnd', qRow, 0, 'W')}
        ${stageCode('GOS', 'P', 'DV', T, 'i0', 'qEnd', qRow, 'D', 'W')}
        for (var r = lid.x; r < T; r += ${ROWS}u) {
          let i = i0 + r;
          ${packedLseDelta('i', 'qEnd')}
          LS[r] = lv;
          DLS[r] = dl;
        }`;
  // Each query tile: p recomputed from lse, then dV += p gOut and dK += ds q for the thread's key.
  const body = `if (validK) {
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
        }`;
  launchKernel(kit, OP, a, {
    name: 'sparseDkDv',
    tensors: [...ins, mask],
    tile: T,
    mask,
    bind,
    consts: { T, CH: chunks, W },
    shared: { QS: T * a.headDim, GOS: T * a.valueDim, LS: T, DLS: T },
    threads: ROWS,
    main: () => `${keyTileStart(`${ROWS}u`)}
  let j = first + lid.x;
  let validK = j < keyEnd;
  let kr = (b * NK + min(j, NK - 1u)) * KVH + kh;
  var kv: array<f32, D>;
  var vv: array<f32, DV>;
  for (var c = 0u; c < D; c++) { kv[c] = K[${k.offset}u + kr * D + c]; }
  for (var c = 0u; c < DV; c++) { vv[c] = V[${v.offset}u + kr * DV + c]; }
  var dk: array<f32, D>;
  var dv: array<f32, DV>;
  ${listingQueryTiles(a, 'T', stage, body)}
  if (validK) {
    for (var c = 0u; c < D; c++) { DK[kr * D + c] = dk[c] * SCALE; }
    for (var c = 0u; c < DV; c++) { DVO[kr * DV + c] = dv[c]; }
  }`,
    groups: keyGrid(a, chunks),
  });
};

/** Kernel (4): dQ, one thread per query row, walking the listed key blocks. */
const dq: DqKernel = (kit, a, ins, mask, packed, dqBuf) => {
  const [, k, v, kvBlocks] = ins;
  const W = a.headDim + a.valueDim + 2;
  const T = tileFor(kit, a.headDim + a.valueDim, a.blockK);
  const chunks = Math.ceil(a.blockQ / ROWS);
  const bind = dqBindings(kit, OP, ins, mask, packed, dqBuf);
  const kv = simpleKvTiles(a, T, k, v);
  // Each key tile: p recomputed from lse, then dQ += ds k for the thread's row.
  const body = `if (live) {
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
      }`;
  launchKernel(kit, OP, a, {
    name: 'sparseDq',
    tensors: [...ins, mask],
    tile: T,
    mask,
    bind,
    consts: { T, CH: chunks, W },
    shared: kv.shared,
    threads: ROWS,
    main: () => `${queryTileStart(`${ROWS}u`)}
  ${THREAD_ROW}
  var qv: array<f32, D>;
  var go: array<f32, DV>;
  for (var c = 0u; c < D; c++) { qv[c] = P[qr * W + c]; }
  for (var c = 0u; c < DV; c++) { go[c] = P[qr * W + D + c]; }
  let lv = P[qr * W + D + DV];
  let dl = P[qr * W + D + DV + 1u];
  let live = valid && lv > neg_inf();
  var dq: array<f32, D>;
  ${listedKeyTiles(a, kvBlocks.offset, 'T', kv.stage, body)}
  if (valid) {
    for (var c = 0u; c < D; c++) { DQ[qr * D + c] = dq[c] * SCALE; }
  }`,
    groups: queryGrid(a, chunks),
  });
};

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
