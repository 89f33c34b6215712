import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { Bindings, commonCode, keyOf, stageCode } from './common.js';

// The register-tiled dK/dV and dQ kernels of `sparse.blockBackward` (see backward.ts for the whole backward and
// for when they run). Both use workgroups of 128 threads (16 x 8) that stage tiles in workgroup memory and give
// each thread a micro-tile of rows (tr + 16u) and columns (tc + 8w), as the tiled forward does; rows in
// workgroup memory have odd strides against bank conflicts. The packed rows P hold [q, gOut, lse, delta] per
// query row, delta = gOut . out - gLse, so that ds = p (gOut . v - delta) with p = exp(scale q . k - lse).
// Sums run in a fixed order (no atomics), so results are bitwise repeatable.

const OP = 'sparse.blockBackward';
const WG = 128;

/** Odd row stride of `n` floats. */
const odd = (n: number) => n | 1;

/** The largest micro-tile (ru rows x ku columns per thread) whose workgroup arrays fit, given their size. */
function tiles(
  kit: WebGPUKernelKit,
  rowsCap: number,
  colsCap: number,
  floatsFor: (bm: number, tk: number) => number,
): { ru: number; ku: number } {
  const floats = Math.floor(kit.info(OP).maxComputeWorkgroupStorageSize / 4) - 64;
  const rus = [4, 2, 1].filter((ru) => ru === 1 || 16 * ru <= rowsCap + 8 * ru);
  const kus = [4, 2, 1].filter((ku) => ku === 1 || 8 * ku <= colsCap + 4 * ku);
  // The most multiply-adds per staged value first (largest ru * ku), then taller tiles.
  const pairs = rus.flatMap((ru) => kus.map((ku) => ({ ru, ku })));
  pairs.sort((x, y) => y.ru * y.ku - x.ru * x.ku || y.ru - x.ru);
  return pairs.find(({ ru, ku }) => floatsFor(16 * ru, 8 * ku) <= floats) ?? { ru: 1, ku: 1 };
}

/** Stages `rows` rows of `width` floats with 128 threads into `dst` (rows `dstStride` apart). */
function stage(
  dst: string,
  src: string,
  width: string,
  rows: number,
  r0: string,
  lim: string,
  row: (r: string) => string,
  off: number | string,
  stride: string,
  dstStride: string,
): string {
  return stageCode(dst, src, width, rows, r0, lim, row, off, stride, WG, dstStride);
}

/**
 * dK and dV: one workgroup per (tile of BN keys of one key block, kv head, batch), keys and values resident in
 * workgroup memory; it walks the group's query heads and, through the transposed layout QL, the query blocks
 * that list its key block, in tiles of TQ queries. Thread (tr, tc) computes p and ds for keys tr + 16u and
 * queries tc + 8w, then accumulates dV += p gOut and dK += ds q for its keys and columns tc + 8x.
 */
export function tiledDkDv(
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
  const DP = odd(a.headDim);
  const DVP = odd(a.valueDim);
  const { ru, ku } = tiles(
    kit,
    a.blockK,
    a.blockQ,
    (bn, tq) => bn * (DP + DVP) + tq * (DP + DVP) + 2 * bn * (tq + 1) + 2 * tq,
  );
  const BN = 16 * ru;
  const TQ = 8 * ku;
  const XD = Math.ceil(a.headDim / 8);
  const XV = Math.ceil(a.valueDim / 8);
  const chunks = Math.ceil(a.blockK / BN);
  const bind = new Bindings();
  bind.add('P', packed, 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('QL', ql, 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('DK', dk, 'f32', true);
  bind.add('DVO', dv, 'f32', true);
  const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
  const qRow = (r: string) => `((b * NQ + ${r}) * H + h)`;
  // Causal: a query block whose last row's limit lies before the tile's first key sees none of its keys.
  const skip = a.causal
    ? 'if (i32(min(NQ, (u32(qb) + 1u) * BLQ)) - 1i + OFF < i32(first)) { continue; }'
    : '';
  kit.launch(
    OP,
    keyOf('sparseDkDvTiled', a, [...ins, mask], BN * 1000 + TQ),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const BN = ${BN}u;
const TQ = ${TQ}u;
const TQP = ${TQ + 1}u;
const RU = ${ru}u;
const KU = ${ku}u;
const XD = ${XD}u;
const XV = ${XV}u;
const CH = ${chunks}u;
const W = ${W}u;
const DP = ${DP}u;
const DVP = ${DVP}u;
var<workgroup> KS: array<f32, ${BN * DP}>;
var<workgroup> VS: array<f32, ${BN * DVP}>;
var<workgroup> QS: array<f32, ${TQ * DP}>;
var<workgroup> GS: array<f32, ${TQ * DVP}>;
var<workgroup> PS: array<f32, ${BN * (TQ + 1)}>;
var<workgroup> SS: array<f32, ${BN * (TQ + 1)}>;
var<workgroup> LQ: array<f32, ${TQ}>;
var<workgroup> DL: array<f32, ${TQ}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let kh = wid.y;
  let kb = wid.x / CH;
  let first = kb * BLK + (wid.x % CH) * BN;
  let keyEnd = min(NK, (kb + 1u) * BLK);
  if (first >= keyEnd) { return; }
  let tr = lid.x / 8u;
  let tc = lid.x % 8u;
  ${stage('KS', 'K', 'D', BN, 'first', 'keyEnd', kvRow, k.offset, 'D', 'DP')}
  ${stage('VS', 'V', 'DV', BN, 'first', 'keyEnd', kvRow, v.offset, 'DV', 'DVP')}
  var dk: array<f32, ${ru * XD}>;
  var dv: array<f32, ${ru * XV}>;
  var s: array<f32, ${ru * ku}>;
  var g: array<f32, ${ru * ku}>;
  for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    let qlRow = ((${lb === 1 ? '0u' : 'b'} * ${lh}u + ${lh === 1 ? '0u' : 'h'}) * NKB + kb) * NQB;
    for (var e = 0u; e < NQB; e++) {
      let qb = QL[qlRow + e];
      if (qb < 0i) { break; }
      ${skip}
      let qEnd = min(NQ, (u32(qb) + 1u) * BLQ);
      for (var i0 = u32(qb) * BLQ; i0 < qEnd; i0 += TQ) {
        ${stage('QS', 'P', 'D', TQ, 'i0', 'qEnd', qRow, 0, 'W', 'DP')}
        ${stage('GS', 'P', 'DV', TQ, 'i0', 'qEnd', qRow, 'D', 'W', 'DVP')}
        if (lid.x < TQ) {
          let i = i0 + lid.x;
          var lv = neg_inf();
          var dl = 0.0;
          if (i < qEnd) {
            let p = ((b * NQ + i) * H + h) * W + D + DV;
            lv = P[p];
            dl = P[p + 1u];
          }
          LQ[lid.x] = lv;
          DL[lid.x] = dl;
        }
        workgroupBarrier();
        // Scores k . q and gOut . v of the micro-tile (keys tr + 16u, queries tc + 8w).
        for (var x = 0u; x < RU * KU; x++) { s[x] = 0.0; g[x] = 0.0; }
        for (var c = 0u; c < D; c++) {
          var qc: array<f32, ${ku}>;
          for (var w = 0u; w < KU; w++) { qc[w] = QS[(tc + 8u * w) * DP + c]; }
          for (var u = 0u; u < RU; u++) {
            let kv = KS[(tr + 16u * u) * DP + c];
            for (var w = 0u; w < KU; w++) { s[u * KU + w] += kv * qc[w]; }
          }
        }
        for (var c = 0u; c < DV; c++) {
          var gc: array<f32, ${ku}>;
          for (var w = 0u; w < KU; w++) { gc[w] = GS[(tc + 8u * w) * DVP + c]; }
          for (var u = 0u; u < RU; u++) {
            let vv = VS[(tr + 16u * u) * DVP + c];
            for (var w = 0u; w < KU; w++) { g[u * KU + w] += vv * gc[w]; }
          }
        }
        for (var u = 0u; u < RU; u++) {
          let r = tr + 16u * u;
          let j = first + r;
          for (var w = 0u; w < KU; w++) {
            let qq = tc + 8u * w;
            let i = i0 + qq;
            var p = 0.0;
            var ds = 0.0;
            if (j < keyEnd && i < qEnd && LQ[qq] > neg_inf() && allowed(b, h, i, j)) {
              p = exp(s[u * KU + w] * SCALE - LQ[qq]);
              ds = p * (g[u * KU + w] - DL[qq]);
            }
            PS[r * TQP + qq] = p;
            SS[r * TQP + qq] = ds;
          }
        }
        workgroupBarrier();
        // dV += p gOut and dK += ds q over the tile's queries.
        for (var ii = 0u; ii < TQ; ii++) {
          var gv: array<f32, ${XV}>;
          for (var x = 0u; x < XV; x++) {
            let c = tc + 8u * x;
            gv[x] = select(0.0, GS[ii * DVP + min(c, DV - 1u)], c < DV);
          }
          var qv: array<f32, ${XD}>;
          for (var x = 0u; x < XD; x++) {
            let c = tc + 8u * x;
            qv[x] = select(0.0, QS[ii * DP + min(c, D - 1u)], c < D);
          }
          for (var u = 0u; u < RU; u++) {
            let r = tr + 16u * u;
            let p = PS[r * TQP + ii];
            let ds = SS[r * TQP + ii];
            for (var x = 0u; x < XV; x++) { dv[u * XV + x] += p * gv[x]; }
            for (var x = 0u; x < XD; x++) { dk[u * XD + x] += ds * qv[x]; }
          }
        }
        workgroupBarrier();
      }
    }
  }
  for (var u = 0u; u < RU; u++) {
    let j = first + tr + 16u * u;
    if (j < keyEnd) {
      let kr = (b * NK + j) * KVH + kh;
      for (var x = 0u; x < XD; x++) {
        let c = tc + 8u * x;
        if (c < D) { DK[kr * D + c] = dk[u * XD + x] * SCALE; }
      }
      for (var x = 0u; x < XV; x++) {
        let c = tc + 8u * x;
        if (c < DV) { DVO[kr * DV + c] = dv[u * XV + x]; }
      }
    }
  }
}`,
    bind.buffers,
    [nkb * chunks, a.kvHeads, a.batch],
  );
}

/**
 * dQ: one workgroup per (tile of BM rows of one query block, head, batch), the forward's grid, with the rows'
 * q, gOut, lse and delta staged once; it walks the listed key blocks in tiles of TK keys. Thread (tr, tc) computes
 * ds for rows tr + 16u and keys tc + 8w, then accumulates dQ += ds k for its rows and columns tc + 8x.
 */
export function tiledDq(
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  dqBuf: GPUBuffer,
): void {
  const [, k, v, kvBlocks] = ins;
  const W = a.headDim + a.valueDim + 2;
  const DP = odd(a.headDim);
  const DVP = odd(a.valueDim);
  const { ru, ku } = tiles(
    kit,
    a.blockQ,
    a.blockK,
    (bm, tk) => bm * (DP + DVP) + tk * (DP + DVP) + bm * (tk + 1) + 2 * bm,
  );
  const BM = 16 * ru;
  const TK = 8 * ku;
  const XD = Math.ceil(a.headDim / 8);
  const chunks = Math.ceil(a.blockQ / BM);
  const bind = new Bindings();
  bind.add('P', packed, 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('KB', kit.bufferOf(OP, kvBlocks), 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('DQ', dqBuf, 'f32', true);
  const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
  const qRow = (r: string) => `((b * NQ + ${r}) * H + h)`;
  const skip = a.causal ? 'if (i32(kb) * i32(BLK) > i32(last) + OFF) { continue; }' : '';
  kit.launch(
    OP,
    keyOf('sparseDqTiled', a, [...ins, mask], BM * 1000 + TK),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const BM = ${BM}u;
const TK = ${TK}u;
const TKP = ${TK + 1}u;
const RU = ${ru}u;
const KU = ${ku}u;
const XD = ${XD}u;
const CH = ${chunks}u;
const W = ${W}u;
const DP = ${DP}u;
const DVP = ${DVP}u;
var<workgroup> QS: array<f32, ${BM * DP}>;
var<workgroup> GS: array<f32, ${BM * DVP}>;
var<workgroup> KS: array<f32, ${TK * DP}>;
var<workgroup> VS: array<f32, ${TK * DVP}>;
var<workgroup> SS: array<f32, ${BM * (TK + 1)}>;
var<workgroup> LR: array<f32, ${BM}>;
var<workgroup> DL: array<f32, ${BM}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  let qb = wid.x / CH;
  let first = qb * BLQ + (wid.x % CH) * BM;
  let rowEnd = min(NQ, (qb + 1u) * BLQ);
  if (first >= rowEnd) { return; }
  let last = min(rowEnd, first + BM) - 1u;
  let tr = lid.x / 8u;
  let tc = lid.x % 8u;
  ${stage('QS', 'P', 'D', BM, 'first', 'rowEnd', qRow, 0, 'W', 'DP')}
  ${stage('GS', 'P', 'DV', BM, 'first', 'rowEnd', qRow, 'D', 'W', 'DVP')}
  if (lid.x < BM) {
    let i = first + lid.x;
    var lv = neg_inf();
    var dl = 0.0;
    if (i < rowEnd) {
      let p = ((b * NQ + i) * H + h) * W + D + DV;
      lv = P[p];
      dl = P[p + 1u];
    }
    LR[lid.x] = lv;
    DL[lid.x] = dl;
  }
  var dq: array<f32, ${ru * XD}>;
  var s: array<f32, ${ru * ku}>;
  var g: array<f32, ${ru * ku}>;
  let row = layout_row(b, h, qb);
  for (var e = 0u; e < MB; e++) {
    let kb = KB[${kvBlocks.offset}u + row + e];
    if (kb < 0i || kb >= i32(NKB)) { continue; }
    ${skip}
    let kEnd = min(NK, (u32(kb) + 1u) * BLK);
    for (var k0 = u32(kb) * BLK; k0 < kEnd; k0 += TK) {
      ${stage('KS', 'K', 'D', TK, 'k0', 'kEnd', kvRow, k.offset, 'D', 'DP')}
      ${stage('VS', 'V', 'DV', TK, 'k0', 'kEnd', kvRow, v.offset, 'DV', 'DVP')}
      workgroupBarrier();
      for (var x = 0u; x < RU * KU; x++) { s[x] = 0.0; g[x] = 0.0; }
      for (var c = 0u; c < D; c++) {
        var kc: array<f32, ${ku}>;
        for (var w = 0u; w < KU; w++) { kc[w] = KS[(tc + 8u * w) * DP + c]; }
        for (var u = 0u; u < RU; u++) {
          let qv = QS[(tr + 16u * u) * DP + c];
          for (var w = 0u; w < KU; w++) { s[u * KU + w] += qv * kc[w]; }
        }
      }
      for (var c = 0u; c < DV; c++) {
        var vc: array<f32, ${ku}>;
        for (var w = 0u; w < KU; w++) { vc[w] = VS[(tc + 8u * w) * DVP + c]; }
        for (var u = 0u; u < RU; u++) {
          let gv = GS[(tr + 16u * u) * DVP + c];
          for (var w = 0u; w < KU; w++) { g[u * KU + w] += gv * vc[w]; }
        }
      }
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        let i = first + r;
        for (var w = 0u; w < KU; w++) {
          let jj = tc + 8u * w;
          let j = k0 + jj;
          var ds = 0.0;
          if (i < rowEnd && j < kEnd && LR[r] > neg_inf() && allowed(b, h, i, j)) {
            ds = exp(s[u * KU + w] * SCALE - LR[r]) * (g[u * KU + w] - DL[r]);
          }
          SS[r * TKP + jj] = ds;
        }
      }
      workgroupBarrier();
      for (var jj = 0u; jj < TK; jj++) {
        var kc: array<f32, ${XD}>;
        for (var x = 0u; x < XD; x++) {
          let c = tc + 8u * x;
          kc[x] = select(0.0, KS[jj * DP + min(c, D - 1u)], c < D);
        }
        for (var u = 0u; u < RU; u++) {
          let ds = SS[(tr + 16u * u) * TKP + jj];
          for (var x = 0u; x < XD; x++) { dq[u * XD + x] += ds * kc[x]; }
        }
      }
      workgroupBarrier();
    }
  }
  for (var u = 0u; u < RU; u++) {
    let i = first + tr + 16u * u;
    if (i < rowEnd) {
      let qr = (b * NQ + i) * H + h;
      for (var x = 0u; x < XD; x++) {
        let c = tc + 8u * x;
        if (c < D) { DQ[qr * D + c] = dq[u * XD + x] * SCALE; }
      }
    }
  }
}`,
    bind.buffers,
    [Math.ceil(a.nq / a.blockQ) * chunks, a.heads, a.batch],
  );
}
