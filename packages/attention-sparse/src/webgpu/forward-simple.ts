import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { Bindings, commonCode, keyOf, ROWS, stageCode, tileFor } from './common.js';

// The simple forward of `sparse.blockForward` (see forward.ts for when it runs): flash-style attention over
// only the listed key blocks. One workgroup per (chunk of ROWS rows of one query block, head, batch), one thread
// per query row holding its query vector and output accumulator in registers. The workgroup walks the key blocks its query block lists (the same for all
// its threads); each block's keys and values are staged in workgroup memory in tiles and folded in with the
// online softmax (running max and sum per row). Causal workgroups skip blocks that start after their last row's
// limit. Rows with no allowed key end with out = 0 and lse = -Infinity.

const OP = 'sparse.blockForward';

/** Records the simple forward kernel writing `out` and `lse` (buffers of outputs already allocated). */
export function simpleForward(
  kit: WebGPUKernelKit,
  inputs: Tensor[],
  a: BlockSparseAttrs,
  out: GPUBuffer,
  lse: GPUBuffer,
): void {
  const [q, k, v, kvBlocks] = inputs;
  const mask = a.hasMask ? inputs[4] : null;
  const T = tileFor(kit, a.headDim + a.valueDim, a.blockK);
  const chunks = Math.ceil(a.blockQ / ROWS);
  const bind = new Bindings();
  bind.add('Q', kit.bufferOf(OP, q), 'f32');
  bind.add('K', kit.bufferOf(OP, k), 'f32');
  bind.add('V', kit.bufferOf(OP, v), 'f32');
  bind.add('KB', kit.bufferOf(OP, kvBlocks), 'i32');
  if (mask) bind.add('M', kit.bufferOf(OP, mask), 'u32');
  bind.add('OUT', out, 'f32', true);
  bind.add('LSE', lse, 'f32', true);
  const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
  const skip = a.causal ? 'if (i32(kb) * i32(BLK) > i32(last) + OFF) { continue; }' : '';
  kit.launch(
    OP,
    keyOf('sparseFwd', a, [q, k, v, kvBlocks, mask], T),
    () => /* wgsl */ `
${commonCode(kit, a, mask)}
${bind.code()}
const T = ${T}u;
const CH = ${chunks}u;
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
  for (var c = 0u; c < D; c++) { qv[c] = Q[${q.offset}u + qr * D + c]; }
  var acc: array<f32, DV>;
  var m = neg_inf();
  var l = 0.0;
  var s: array<f32, T>;
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
      if (valid) {
        var mt = neg_inf();
        for (var jj = 0u; jj < T; jj++) {
          let j = k0 + jj;
          var x = neg_inf();
          if (j < kEnd && allowed(b, h, i, j)) {
            var dot = 0.0;
            for (var c = 0u; c < D; c++) { dot += qv[c] * KS[jj * D + c]; }
            x = dot * SCALE;
          }
          s[jj] = x;
          mt = max(mt, x);
        }
        if (mt > neg_inf()) {
          let mn = max(m, mt);
          let alpha = select(exp(m - mn), 0.0, m == neg_inf());
          l *= alpha;
          for (var c = 0u; c < DV; c++) { acc[c] *= alpha; }
          for (var jj = 0u; jj < T; jj++) {
            if (s[jj] > neg_inf()) {
              let p = exp(s[jj] - mn);
              l += p;
              for (var c = 0u; c < DV; c++) { acc[c] += p * VS[jj * DV + c]; }
            }
          }
          m = mn;
        }
      }
      workgroupBarrier();
    }
  }
  if (valid) {
    let none = m == neg_inf();
    let inv = select(1.0 / l, 0.0, none);
    for (var c = 0u; c < DV; c++) { OUT[qr * DV + c] = acc[c] * inv; }
    LSE[qr] = select(m + log(l), neg_inf(), none);
  }
}`,
    bind.buffers,
    [Math.ceil(a.nq / a.blockQ) * chunks, a.heads, a.batch],
  );
}
