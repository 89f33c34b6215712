import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { Bindings, commonCode, keyOf, stageCode } from './common.js';

// The register-tiled forward of `sparse.blockForward` (see forward.ts for when it runs): flash-style attention
// over only the listed key blocks.
//
// One workgroup of 128 threads (16 x 8) per (tile of BM rows of one query block, head, batch). The query tile is
// staged once in workgroup memory. The workgroup walks the key blocks its query block lists (the same for all its
// threads), each in tiles of TK keys staged in workgroup memory, and for each tile:
// (a) scores: thread (tr, tc) computes rows tr + 16u and keys tc + 8w (a RU x KU micro-tile in registers, so
//     each staged value it loads feeds several multiply-adds), scales and masks them;
// (b) online softmax, in registers: the 8 threads of a row share their partial maxima (RM) and sums (RS) through
//     workgroup memory; each turns its scores into p = exp(s - new max), written to the tile PS, and computes the
//     factor that rescales what was accumulated before; thread tc = 0 keeps the row's running max MS and sum LS;
// (c) output: thread (tr, tc) rescales its accumulator (rows tr + 16u, value columns tc + 8x) and adds PS x V.
// Causal workgroups skip blocks that start after their last row's limit. Rows with no allowed key end with
// out = 0 and lse = -Infinity.

const OP = 'sparse.blockForward';
/** Threads per workgroup: 16 row groups x 8 column groups. */
const WG = 128;

/**
 * The row and key tile sizes: the largest BM (rows, 16 x RU) and TK (keys, 8 x KU) that suit the block sizes
 * (no tile much longer than its block) and whose staged arrays fit in workgroup memory.
 */
function tiles(kit: WebGPUKernelKit, a: BlockSparseAttrs): { ru: number; ku: number } {
  const floats = Math.floor(kit.info(OP).maxComputeWorkgroupStorageSize / 4) - 64;
  const rus = [4, 2, 1].filter((ru) => ru === 1 || 16 * ru <= a.blockQ + 8 * ru);
  const kus = [4, 2, 1].filter((ku) => ku === 1 || 8 * ku <= a.blockK + 4 * ku);
  const dp = a.headDim | 1;
  const fits = (bm: number, tk: number) =>
    bm * dp + tk * (dp + a.valueDim) + bm * (tk + 1) + 18 * bm <= floats;
  // The most multiply-adds per staged value first (largest ru * ku), then taller tiles.
  const pairs = rus.flatMap((ru) => kus.map((ku) => ({ ru, ku })));
  pairs.sort((x, y) => y.ru * y.ku - x.ru * x.ku || y.ru - x.ru);
  return pairs.find(({ ru, ku }) => fits(16 * ru, 8 * ku)) ?? { ru: 1, ku: 1 };
}

/** Records the register-tiled forward kernel writing `out` and `lse` (buffers of outputs already allocated). */
export function tiledForward(
  kit: WebGPUKernelKit,
  inputs: Tensor[],
  a: BlockSparseAttrs,
  out: GPUBuffer,
  lse: GPUBuffer,
): void {
  const [q, k, v, kvBlocks] = inputs;
  const mask = a.hasMask ? inputs[4] : null;
  const { ru, ku } = tiles(kit, a);
  const BM = 16 * ru;
  const TK = 8 * ku;
  const XU = Math.ceil(a.valueDim / 8);
  // Odd row strides in workgroup memory, so that the threads of a warp reading one column of several rows hit
  // different banks.
  const DP = a.headDim | 1;
  const chunks = Math.ceil(a.blockQ / BM);
  const bind = new Bindings();
  bind.add('Q', kit.bufferOf(OP, q), 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('KB', kit.bufferOf(OP, kvBlocks), 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('OUT', out, 'f32', true);
  bind.add('LSE', lse, 'f32', true);
  const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
  const qRow = (r: string) => `((b * NQ + ${r}) * H + h)`;
  const skip = a.causal ? 'if (i32(kb) * i32(BLK) > i32(last) + OFF) { continue; }' : '';
  const stage = (
    dst: string,
    src: string,
    width: string,
    rows: number,
    r0: string,
    lim: string,
    row: (r: string) => string,
    off: number,
    dstStride = width,
  ) => stageCode(dst, src, width, rows, r0, lim, row, off, width, WG, dstStride);
  kit.launch(
    OP,
    keyOf('sparseFwdTiled', a, [q, k, v, kvBlocks, mask], BM * 1000 + TK),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const BM = ${BM}u;
const TK = ${TK}u;
const RU = ${ru}u;
const KU = ${ku}u;
const XU = ${XU}u;
const CH = ${chunks}u;
const DP = ${DP}u;
const TKP = ${TK + 1}u;
var<workgroup> QS: array<f32, ${BM * DP}>;
var<workgroup> KS: array<f32, ${TK * DP}>;
var<workgroup> VS: array<f32, ${TK * a.valueDim}>;
var<workgroup> PS: array<f32, ${BM * (TK + 1)}>;
var<workgroup> MS: array<f32, ${BM}>;
var<workgroup> LS: array<f32, ${BM}>;
var<workgroup> RM: array<f32, ${BM * 8}>;
var<workgroup> RS: array<f32, ${BM * 8}>;
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
  ${stage('QS', 'Q', 'D', BM, 'first', 'rowEnd', qRow, q.offset, 'DP')}
  if (lid.x < BM) {
    MS[lid.x] = neg_inf();
    LS[lid.x] = 0.0;
  }
  // Rows whose query block lists nothing read MS and LS without passing another barrier.
  workgroupBarrier();
  var acc: array<f32, ${ru * XU}>;
  var s: array<f32, ${ru * ku}>;
  let row = layout_row(b, h, qb);
  for (var e = 0u; e < MB; e++) {
    let kb = KB[${kvBlocks.offset}u + row + e];
    if (kb < 0i || kb >= i32(NKB)) { continue; }
    ${skip}
    let kEnd = min(NK, (u32(kb) + 1u) * BLK);
    for (var k0 = u32(kb) * BLK; k0 < kEnd; k0 += TK) {
      ${stage('KS', 'K', 'D', TK, 'k0', 'kEnd', kvRow, k.offset, 'DP')}
      ${stage('VS', 'V', 'DV', TK, 'k0', 'kEnd', kvRow, v.offset)}
      workgroupBarrier();
      // (a) scores of the micro-tile.
      for (var x = 0u; x < RU * KU; x++) { s[x] = 0.0; }
      for (var c = 0u; c < D; c++) {
        var kc: array<f32, ${ku}>;
        for (var w = 0u; w < KU; w++) { kc[w] = KS[(tc + 8u * w) * DP + c]; }
        for (var u = 0u; u < RU; u++) {
          let qv = QS[(tr + 16u * u) * DP + c];
          for (var w = 0u; w < KU; w++) { s[u * KU + w] += qv * kc[w]; }
        }
      }
      for (var u = 0u; u < RU; u++) {
        let i = first + tr + 16u * u;
        var pm = neg_inf();
        for (var w = 0u; w < KU; w++) {
          let j = k0 + tc + 8u * w;
          var x = neg_inf();
          if (i < rowEnd && j < kEnd && allowed(b, h, i, j)) { x = s[u * KU + w] * SCALE; }
          s[u * KU + w] = x;
          pm = max(pm, x);
        }
        RM[(tr + 16u * u) * 8u + tc] = pm;
      }
      workgroupBarrier();
      // (b) online softmax: the row's new max from the 8 partial maxima, p into PS, partial sums into RS.
      var alpha: array<f32, ${ru}>;
      var mnew: array<f32, ${ru}>;
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        var mt = neg_inf();
        for (var t = 0u; t < 8u; t++) { mt = max(mt, RM[r * 8u + t]); }
        let mo = MS[r];
        let mn = max(mo, mt);
        // exp(-inf - -inf) is NaN: select() keeps such lanes out.
        alpha[u] = select(exp(mo - mn), 0.0, mo == neg_inf());
        mnew[u] = mn;
        var ps = 0.0;
        for (var w = 0u; w < KU; w++) {
          let x = s[u * KU + w];
          let p = select(exp(x - mn), 0.0, x == neg_inf());
          PS[r * TKP + tc + 8u * w] = p;
          ps += p;
        }
        RS[r * 8u + tc] = ps;
      }
      workgroupBarrier();
      // (c) rescale and accumulate P x V; thread tc = 0 of each row updates its running max and sum.
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        for (var x = 0u; x < XU; x++) { acc[u * XU + x] *= alpha[u]; }
        if (tc == 0u) {
          var sum = 0.0;
          for (var t = 0u; t < 8u; t++) { sum += RS[r * 8u + t]; }
          LS[r] = LS[r] * alpha[u] + sum;
          MS[r] = mnew[u];
        }
      }
      for (var jj = 0u; jj < TK; jj++) {
        var vc: array<f32, ${XU}>;
        for (var x = 0u; x < XU; x++) {
          let c = tc + 8u * x;
          vc[x] = select(0.0, VS[jj * DV + min(c, DV - 1u)], c < DV);
        }
        for (var u = 0u; u < RU; u++) {
          let p = PS[(tr + 16u * u) * TKP + jj];
          for (var x = 0u; x < XU; x++) { acc[u * XU + x] += p * vc[x]; }
        }
      }
      workgroupBarrier();
    }
  }
  for (var u = 0u; u < RU; u++) {
    let r = tr + 16u * u;
    let i = first + r;
    if (i < rowEnd) {
      let qr = (b * NQ + i) * H + h;
      let ls = LS[r];
      let inv = select(1.0 / ls, 0.0, ls == 0.0);
      for (var x = 0u; x < XU; x++) {
        let c = tc + 8u * x;
        if (c < DV) { OUT[qr * DV + c] = acc[u * XU + x] * inv; }
      }
      if (tc == 0u) { LSE[qr] = select(MS[r] + log(ls), neg_inf(), ls == 0.0); }
    }
  }
}`,
    bind.buffers,
    [Math.ceil(a.nq / a.blockQ) * chunks, a.heads, a.batch],
  );
}
