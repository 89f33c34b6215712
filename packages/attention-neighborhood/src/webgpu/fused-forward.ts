// The fused forward of neighborhood attention (`neighborhood.forward`): flash-style, the logits never leave
// the workgroup. One workgroup per (tile of queries of one dilation group, head, batch item), one thread per
// query holding its query vector and output accumulator in registers. The keys of the tile's windows form a
// box (window starts and ends never decrease along an axis); it is staged chunk by chunk in workgroup memory,
// and each thread walks exactly the part of its own window inside the chunk, folding it in with the online
// softmax (running max and sum). Dilation is index arithmetic (tiles live in one dilation group), stride and
// causality only move the per-query windows. Extra keys (neighborhood cross-attention) are staged after the
// neighborhood and join the same softmax; the relative positional bias is read per logit. Head vectors are vec4
// (zero-padded past the head dim) in registers and in workgroup memory, whose rows have an odd vec4 stride so
// that a SIMD group reading different rows is free of bank conflicts.
import type { KernelDef } from '@attnkit/core';
import { type NeighborhoodAttrs, neighborhoodForwardOp } from '../ops/defs.js';
import { Bindings, kitOf } from './bindings.js';
import {
  boxInChunk,
  extraLoop,
  fusedInputs,
  fusedSupports,
  logitCode,
  rpbOffset,
  stageExtra,
  WINDOWS_AND_BOX,
} from './fused-common.js';
import { geometryKey, geometryOf, indexCode } from './geometry.js';
import {
  chunkDecls,
  chunkLoops,
  chunkRows,
  load4,
  paddedStride,
  quads,
  stageRows,
  store4,
  type Tiling,
  tileCode,
  tilingOf,
} from './tiles.js';

const forwardKernel: KernelDef<NeighborhoodAttrs> = {
  op: neighborhoodForwardOp.name,
  backend: 'webgpu',
  supports: (inputs, a) => fusedSupports(neighborhoodForwardOp.name, inputs, a),
  run: (inputs, a) => {
    const op = neighborhoodForwardOp.name;
    const { q, k, v, rpb, extraK, extraV } = fusedInputs(inputs, a, 0);
    const kit = kitOf(q);
    const g = geometryOf(q, a, v.shape[v.rank - 2], v.shape[v.rank - 1]);
    const rowsShape = q.shape.slice(0, -1);
    const out = kit.output(op, 'float32', [...rowsShape, g.valueDim]);
    const lse = kit.output(op, 'float32', rowsShape);
    if (out.t.size === 0) return [out.t, lse.t];
    const tiling: Tiling = tilingOf(g);
    const [sk, sv] = [paddedStride(quads(g.headDim)), paddedStride(quads(g.valueDim))];
    const rows = chunkRows(q, op, 4 * (sk + sv));
    const bind = new Bindings();
    bind.input(kit, op, 'Q', q);
    bind.input(kit, op, 'K', k);
    bind.input(kit, op, 'V', v);
    if (rpb) bind.input(kit, op, 'RPB', rpb);
    if (extraK && extraV) {
      bind.input(kit, op, 'EK', extraK);
      bind.input(kit, op, 'EV', extraV);
    }
    bind.add('OUT', out.h.buffer, true);
    bind.add('LSE', lse.h.buffer, true);
    const scale = kit.f32(g.scale);
    const fold = /* wgsl */ `if (x > m) {
                  let alpha = select(exp(m - x), 0.0, m == neg_inf());
                  l *= alpha;
                  for (var c = 0u; c < DV4; c++) { acc[c] *= alpha; }
                  m = x;
                }
                let p = exp(x - m);
                l += p;
                for (var c = 0u; c < DV4; c++) { acc[c] += p * VS[kk * SV + c]; }`;
    const kvRow = (t: string) => `((b * T + ${t}) * KVH + kh)`;
    const extra = extraK
      ? extraLoop(
          rows,
          `${stageExtra('KS', 'EK', g.headDim, 'SK')}\n    ${stageExtra('VS', 'EV', g.valueDim, 'SV')}`,
          `${logitCode(scale, 'qv', 'KS', null)}
        ${fold}`,
        )
      : '';
    kit.launch(
      op,
      `${op}|${geometryKey(g)}|${a.hasRpb}|${a.numExtra}|${bind.key()}|${rows}|${JSON.stringify(tiling)}`,
      () => /* wgsl */ `${kit.MATH_WGSL}
${indexCode(g)}
${bind.code()}
const NE = ${a.numExtra}u;
fn neg_inf() -> f32 { return bitcast<f32>(BITS_NEG_INF); }
const SK = ${sk}u;
const SV = ${sv}u;
${chunkDecls(rows, tiling)}
var<workgroup> KS: array<vec4<f32>, ${rows * sk}>;
var<workgroup> VS: array<vec4<f32>, ${rows * sv}>;
@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  ${tileCode(tiling)}
  ${WINDOWS_AND_BOX}
  let qr = (b * T + tok) * H + h;
  var qv: array<vec4<f32>, D4>;
  for (var c = 0u; c < D4; c++) { qv[c] = ${load4('Q', 'Q_OFF + qr * D', 'c', g.headDim)}; }
  var acc: array<vec4<f32>, DV4>;
  var m = neg_inf();
  var l = 0.0;
  ${chunkLoops(
    rows,
    `${stageRows('KS', 'K', g.headDim, (t) => `K_OFF + ${kvRow(t)} * D`, 'SK')}
        ${stageRows('VS', 'V', g.valueDim, (t) => `V_OFF + ${kvRow(t)} * DV`, 'SV')}`,
    `if (valid) {
          ${boxInChunk(`${logitCode(scale, 'qv', 'KS', a.hasRpb ? rpbOffset(g, 'cp', 'j') : null)}
                ${fold}`)}
        }`,
  )}
  ${extra}
  if (valid) {
    let inv = 1.0 / l;
    for (var c = 0u; c < DV4; c++) ${store4('OUT', 'qr * DV', 'c', 'acc[c] * inv', g.valueDim)}
    LSE[qr] = m + log(l);
  }
}`,
      bind.buffers,
      [tiling.total, g.heads, g.batch],
    );
    return [out.t, lse.t];
  },
};

/** The fused forward kernel. */
export const FORWARD_KERNELS = [forwardKernel] as KernelDef[];
