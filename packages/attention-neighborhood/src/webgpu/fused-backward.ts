// The fused backward of neighborhood attention (`neighborhood.backward`), FlashAttention-2 style and without
// atomics, so deterministic: every output element is written by one thread that sums in a fixed order.
// (1) pack: per query row, [dOut (Dv), lse, delta = dOut . out] into one scratch row;
// (2) dQ: the forward's layout (a workgroup per query tile, keys of its windows staged chunk by chunk),
//     recomputing p = exp(logit - lse) and ds = p (dOut . v - delta); extra keys staged after the neighborhood;
// (3) dK, dV: a workgroup per key tile, one thread per key walking its inverse neighborhood (the queries whose
//     windows hold it: an interval per axis, since window starts and ends never decrease), whose query rows
//     and packed rows are staged chunk by chunk, for every query head of the key's GQA group;
// (4), (5) in backward-extras.ts: the extra keys' and values' gradients, one thread per extra key row; the
//     relative-bias gradient from ds per (query, slot), summed per bias entry over slices of the tokens and then
//     over the slices in a fixed order.
import type { KernelDef, Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import { type NeighborhoodAttrs, neighborhoodBackwardOp } from '../ops/defs.js';
import { dExtra, dRpb } from './backward-extras.js';
import { Bindings, kitOf } from './bindings.js';
import {
  boxInChunk,
  fusedHeader,
  fusedInputs,
  fusedSupports,
  rpbOffset,
  windowsAndBox,
} from './fused-common.js';
import { launchQueryTilePass } from './fused-query-tile.js';
import { type Geometry, geometryKey, geometryOf } from './geometry.js';
import { allFloat32 } from './support.js';
import {
  chunkDecls,
  chunkLoops,
  chunkRows,
  load4,
  paddedStride,
  quads,
  stageRows,
  stageScalars,
  store4,
  tileCode,
  tilingOf,
} from './tiles.js';

/** The op name, in errors and pipeline keys. */
const OP = neighborhoodBackwardOp.name;

/** (1) The packed rows `[dOut, lse, delta]` of every query row, into `packed`. */
function pack(
  kit: WebGPUKernelKit,
  g: Geometry,
  out: Tensor,
  lse: Tensor,
  dOut: Tensor,
  packed: GPUBuffer,
): void {
  const bind = new Bindings();
  bind.input(kit, OP, 'O', out);
  bind.input(kit, OP, 'GO', dOut);
  bind.input(kit, OP, 'L', lse);
  bind.add('P', packed, true);
  bind.perElement(
    kit,
    OP,
    `pack|${g.valueDim}`,
    g.batch * g.tokens * g.heads,
    `const DV = ${g.valueDim}u;\nconst W = ${g.valueDim + 2}u;`,
    /* wgsl */ `
  var delta = 0.0;
  for (var c = 0u; c < DV; c++) {
    let go = GO[GO_OFF + e * DV + c];
    P[e * W + c] = go;
    delta += go * O[O_OFF + e * DV + c];
  }
  P[e * W + DV] = L[L_OFF + e];
  P[e * W + DV + 1u] = delta;`,
  );
}

/** The WGSL of the gradient terms of one (query, key) pair, given its logit `x` and the staged value row. */
const DS_OF_PAIR = /* wgsl */ `let p = exp(x - lv);
                var dp = 0.0;
                for (var c = 0u; c < DV4; c++) { dp += dot(go[c], VS[kk * SV + c]); }
                let dsv = p * (dp - delta);
                for (var c = 0u; c < D4; c++) { dq[c] += dsv * KS[kk * SK + c]; }`;

/** (2) dQ: the forward's query-tile pass, accumulating `ds k` per pair. */
function dq(
  kit: WebGPUKernelKit,
  g: Geometry,
  a: NeighborhoodAttrs,
  ins: ReturnType<typeof fusedInputs>,
  packed: GPUBuffer,
  dst: GPUBuffer,
): void {
  const scale = kit.f32(g.scale);
  launchQueryTilePass(kit, OP, g, a, ins, {
    key: 'dq',
    bindAfterV: (bind) => bind.add('P', packed),
    bindOutputs: (bind) => bind.add('DQ', dst, true),
    decls: `const W = ${g.valueDim + 2}u;`,
    setup: /* wgsl */ `var go: array<vec4<f32>, DV4>;
  for (var c = 0u; c < DV4; c++) { go[c] = ${load4('P', 'qr * W', 'c', g.valueDim)}; }
  let lv = P[qr * W + DV];
  let delta = P[qr * W + DV + 1u];
  var dq: array<vec4<f32>, D4>;`,
    pair: DS_OF_PAIR,
    finish: /* wgsl */ `for (var c = 0u; c < D4; c++) ${store4('DQ', 'qr * D', 'c', `dq[c] * ${scale}`, g.headDim)}`,
  });
}

/** (3) dK and dV: one thread per key, over its inverse neighborhood and the query heads of its group. */
function dkdv(
  kit: WebGPUKernelKit,
  g: Geometry,
  a: NeighborhoodAttrs,
  ins: ReturnType<typeof fusedInputs>,
  packed: GPUBuffer,
  dkDst: GPUBuffer,
  dvDst: GPUBuffer,
): void {
  const { q, k, v, rpb } = ins;
  // Tiles of keys: the same cut of the grid (dispatched per kv head).
  const tiling = tilingOf(g);
  const [sq, sp] = [paddedStride(quads(g.headDim)), paddedStride(quads(g.valueDim))];
  const rows = chunkRows(q, OP, 4 * (sq + sp) + 2);
  const bind = new Bindings();
  bind.input(kit, OP, 'Q', q);
  bind.input(kit, OP, 'K', k);
  bind.input(kit, OP, 'V', v);
  bind.add('P', packed);
  if (rpb) bind.input(kit, OP, 'RPB', rpb);
  bind.add('DK', dkDst, true);
  bind.add('DVO', dvDst, true);
  const scale = kit.f32(g.scale);
  const qRow = (t: string) => `((b * T + ${t}) * H + h)`;
  kit.launch(
    OP,
    `${OP}|dkdv|${geometryKey(g)}|${a.hasRpb}|${bind.key()}|${rows}|${JSON.stringify(tiling)}`,
    () => /* wgsl */ `${fusedHeader(kit, g, bind, a.numExtra)}
const W = ${g.valueDim + 2}u;
const SQ = ${sq}u;
const SP = ${sp}u;
${chunkDecls(rows, tiling)}
var<workgroup> QS: array<vec4<f32>, ${rows * sq}>;
var<workgroup> PS: array<vec4<f32>, ${rows * sp}>;
var<workgroup> LS: array<f32, ${rows}>;
var<workgroup> DL: array<f32, ${rows}>;
@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let kh = wid.y;
  ${tileCode(tiling)}
  ${windowsAndBox('inverse', 'v')}
  let kr = (b * T + tok) * KVH + kh;
  var kv: array<vec4<f32>, D4>;
  var vv: array<vec4<f32>, DV4>;
  for (var c = 0u; c < D4; c++) { kv[c] = ${load4('K', 'K_OFF + kr * D', 'c', g.headDim)}; }
  for (var c = 0u; c < DV4; c++) { vv[c] = ${load4('V', 'V_OFF + kr * DV', 'c', g.valueDim)}; }
  var dk: array<vec4<f32>, D4>;
  var dv: array<vec4<f32>, DV4>;
  for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    ${chunkLoops(
      rows,
      `${stageRows('QS', 'Q', g.headDim, (t) => `Q_OFF + ${qRow(t)} * D`, 'SQ')}
        ${stageRows('PS', 'P', g.valueDim, (t) => `${qRow(t)} * W`, 'SP')}
        ${stageScalars(`LS[kk] = P[${qRow('st')} * W + DV];
          DL[kk] = P[${qRow('st')} * W + DV + 1u];`)}`,
      `if (valid) {
          ${boxInChunk(
            `var s = 0.0;
                for (var c = 0u; c < D4; c++) { s += dot(QS[kk * SQ + c], kv[c]); }
                let x = s * ${scale} ${rpb ? `+ RPB[RPB_OFF + ${rpbOffset(g, 'i', 'cp')}]` : ''};
                let p = exp(x - LS[kk]);
                var dp = 0.0;
                for (var c = 0u; c < DV4; c++) {
                  let go = PS[kk * SP + c];
                  dv[c] += p * go;
                  dp += dot(go, vv[c]);
                }
                let dsv = p * (dp - DL[kk]);
                for (var c = 0u; c < D4; c++) { dk[c] += dsv * QS[kk * SQ + c]; }`,
            'v',
            'i',
          )}
        }`,
    )}
  }
  if (valid) {
    for (var c = 0u; c < D4; c++) ${store4('DK', 'kr * D', 'c', `dk[c] * ${scale}`, g.headDim)}
    for (var c = 0u; c < DV4; c++) ${store4('DVO', 'kr * DV', 'c', 'dv[c]', g.valueDim)}
  }
}`,
    bind.buffers,
    [tiling.total, g.kvHeads, g.batch],
  );
}

const backwardKernel: KernelDef<NeighborhoodAttrs> = {
  op: OP,
  backend: 'webgpu',
  supports: (inputs, a) =>
    allFloat32(inputs) && fusedSupports(OP, [...inputs.slice(0, 3), ...inputs.slice(6)], a),
  run: (inputs, a) => {
    const ins = fusedInputs(inputs, a, 3);
    const [out, lse, dOut] = inputs.slice(3, 6);
    const { q, k, v, rpb, extraK, extraV } = ins;
    const kit = kitOf(q);
    const g = geometryOf(q, a, v.shape[v.rank - 2], v.shape[v.rank - 1]);
    const dqOut = kit.output(OP, 'float32', q.shape);
    const dkOut = kit.output(OP, 'float32', k.shape);
    const dvOut = kit.output(OP, 'float32', v.shape);
    const drOut = rpb ? kit.output(OP, 'float32', rpb.shape) : null;
    const deK = extraK ? kit.output(OP, 'float32', extraK.shape) : null;
    const deV = extraV ? kit.output(OP, 'float32', extraV.shape) : null;
    const results = [dqOut, dkOut, dvOut, drOut, deK, deV].filter((x) => x !== null).map((x) => x.t);
    if (q.size === 0) return results;
    const packed = kit.output(OP, 'float32', [g.batch * g.tokens * g.heads * (g.valueDim + 2)]);
    pack(kit, g, out, lse, dOut, packed.h.buffer);
    dq(kit, g, a, ins, packed.h.buffer, dqOut.h.buffer);
    dkdv(kit, g, a, ins, packed.h.buffer, dkOut.h.buffer, dvOut.h.buffer);
    if (deK && deV) dExtra(kit, g, a, ins, packed.h.buffer, deK.h.buffer, deV.h.buffer);
    if (drOut) dRpb(kit, g, ins, packed.h.buffer, drOut.h.buffer);
    packed.t.dispose();
    return results;
  },
};

/** The fused backward kernel. */
export const BACKWARD_KERNELS = [backwardKernel] as KernelDef[];
