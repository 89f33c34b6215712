// The gradients of the optional inputs of the fused backward (see fused-backward.ts): the extra keys and values,
// and the relative positional bias. Deterministic: each output element is summed by one thread in a fixed order.
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import { type NeighborhoodAttrs, neighborhoodBackwardOp } from '../ops/defs.js';
import { Bindings } from './bindings.js';
import { type fusedInputs, rpbOffset } from './fused-common.js';
import { type Geometry, geometryKey, indexCode } from './geometry.js';
import { rpbPerHead } from './unfused.js';

/** The op these kernels belong to. */
const OP = neighborhoodBackwardOp.name;
/** Slices of the tokens summed in parallel for the relative-bias gradient (then added in a fixed order). */
const RPB_PARTS = 64;

/** (4) dExtraK, dExtraV: one thread per extra key row `[b, e, kh]`, over every query of its batch item and group. */
export function dExtra(
  kit: WebGPUKernelKit,
  g: Geometry,
  a: NeighborhoodAttrs,
  ins: ReturnType<typeof fusedInputs>,
  packed: GPUBuffer,
  dkDst: GPUBuffer,
  dvDst: GPUBuffer,
): void {
  const { q, extraK, extraV } = ins;
  if (!extraK || !extraV) return;
  const bind = new Bindings();
  bind.input(kit, OP, 'Q', q);
  bind.add('P', packed);
  bind.input(kit, OP, 'EK', extraK);
  bind.input(kit, OP, 'EV', extraV);
  bind.add('DEK', dkDst, true);
  bind.add('DEV', dvDst, true);
  bind.perElement(
    kit,
    OP,
    `dextra|${geometryKey(g)}|${a.numExtra}`,
    g.batch * a.numExtra * g.kvHeads,
    `${indexCode(g)}\nconst NE = ${a.numExtra}u;\nconst W = ${g.valueDim + 2}u;`,
    /* wgsl */ `
  let kh = e % KVH;
  let b = e / (KVH * NE);
  var kv: array<f32, D>;
  var vv: array<f32, DV>;
  for (var c = 0u; c < D; c++) { kv[c] = EK[EK_OFF + e * D + c]; }
  for (var c = 0u; c < DV; c++) { vv[c] = EV[EV_OFF + e * DV + c]; }
  var dk: array<f32, D>;
  var dv: array<f32, DV>;
  for (var t = 0u; t < T; t++) {
    for (var hh = 0u; hh < GROUP; hh++) {
      let r = (b * T + t) * H + kh * GROUP + hh;
      var dot = 0.0;
      for (var c = 0u; c < D; c++) { dot += Q[Q_OFF + r * D + c] * kv[c]; }
      let p = exp(dot * ${kit.f32(g.scale)} - P[r * W + DV]);
      var dp = 0.0;
      for (var c = 0u; c < DV; c++) {
        let go = P[r * W + c];
        dv[c] += p * go;
        dp += go * vv[c];
      }
      let dsv = p * (dp - P[r * W + DV + 1u]);
      for (var c = 0u; c < D; c++) { dk[c] += dsv * Q[Q_OFF + r * D + c]; }
    }
  }
  for (var c = 0u; c < D; c++) { DEK[e * D + c] = dk[c] * ${kit.f32(g.scale)}; }
  for (var c = 0u; c < DV; c++) { DEV[e * DV + c] = dv[c]; }`,
  );
}

/** (5) dRpb: ds of every (query row, slot) into scratch, then one thread per bias entry sums its pairs. */
export function dRpb(
  kit: WebGPUKernelKit,
  g: Geometry,
  ins: ReturnType<typeof fusedInputs>,
  packed: GPUBuffer,
  dst: GPUBuffer,
): void {
  const { q, k, v, rpb } = ins;
  if (!rpb) return;
  const dsScratch = kit.output(OP, 'float32', [g.batch * g.tokens * g.heads * g.neighbors]);
  const per = rpbPerHead(g);
  {
    const bind = new Bindings();
    bind.input(kit, OP, 'Q', q);
    bind.input(kit, OP, 'K', k);
    bind.input(kit, OP, 'V', v);
    bind.add('P', packed);
    bind.input(kit, OP, 'RPB', rpb);
    bind.add('DS', dsScratch.h.buffer, true);
    bind.perElement(
      kit,
      OP,
      `ds|${geometryKey(g)}`,
      dsScratch.t.size,
      `${indexCode(g)}\nconst W = ${g.valueDim + 2}u;`,
      /* wgsl */ `
  let slot = e % NB;
  let r = e / NB;
  let h = r % H;
  let tok = (r / H) % T;
  let b = r / (H * T);
  let w0 = axis_window(0u, tok / (N2 * N1));
  let w1 = axis_window(1u, (tok / N2) % N1);
  let w2 = axis_window(2u, tok % N2);
  let j2 = w2.x + slot % KS2;
  let j1 = w1.x + (slot / KS2) % KS1;
  let j0 = w0.x + slot / (KS2 * KS1);
  if (j0 > w0.y || j1 > w1.y || j2 > w2.y) {
    DS[e] = 0.0;
    return;
  }
  let key = token_of(j0 * DL0 + w0.z, j1 * DL1 + w1.z, j2 * DL2 + w2.z);
  let kr = (b * T + key) * KVH + h / GROUP;
  var dot = 0.0;
  for (var c = 0u; c < D; c++) { dot += Q[Q_OFF + r * D + c] * K[K_OFF + kr * D + c]; }
  let cp0 = w0.w;
  let cp1 = w1.w;
  let cp2 = w2.w;
  let x = dot * ${kit.f32(g.scale)} + RPB[RPB_OFF + ${rpbOffset(g, 'cp', 'j')}];
  let p = exp(x - P[r * W + DV]);
  var dp = 0.0;
  for (var c = 0u; c < DV; c++) { dp += P[r * W + c] * V[V_OFF + kr * DV + c]; }
  DS[e] = p * (dp - P[r * W + DV + 1u]);`,
    );
  }
  // Partial sums over PARTS slices of the tokens (for parallelism), then their sum in a fixed order.
  const parts = Math.min(RPB_PARTS, g.tokens);
  const span = Math.ceil(g.tokens / parts);
  const partial = kit.output(OP, 'float32', [g.heads * per * parts]);
  {
    const bind = new Bindings();
    bind.add('DS', dsScratch.h.buffer);
    bind.add('PR', partial.h.buffer, true);
    bind.perElement(
      kit,
      OP,
      `drpb|${geometryKey(g)}|${parts}`,
      partial.t.size,
      indexCode(g),
      /* wgsl */ `
  let part = e % ${parts}u;
  let h = e / ${per * parts}u;
  let f = (e / ${parts}u) % ${per}u;
  let r2 = f % (2u * KS2 - 1u);
  let r1 = (f / (2u * KS2 - 1u)) % (2u * KS1 - 1u);
  let r0 = f / ((2u * KS2 - 1u) * (2u * KS1 - 1u));
  var acc = 0.0;
  for (var b = 0u; b < B; b++) {
    for (var tok = part * ${span}u; tok < min(T, (part + 1u) * ${span}u); tok++) {
      let w0 = axis_window(0u, tok / (N2 * N1));
      let w1 = axis_window(1u, (tok / N2) % N1);
      let w2 = axis_window(2u, tok % N2);
      // the key at offset r - (k - 1) from the query, in group coordinates, and its slot if in the window
      let j0 = w0.w + r0;
      let j1 = w1.w + r1;
      let j2 = w2.w + r2;
      if (j0 < w0.x + KS0 - 1u || j1 < w1.x + KS1 - 1u || j2 < w2.x + KS2 - 1u) { continue; }
      let s0 = j0 - (KS0 - 1u) - w0.x;
      let s1 = j1 - (KS1 - 1u) - w1.x;
      let s2 = j2 - (KS2 - 1u) - w2.x;
      if (s0 >= KS0 || s1 >= KS1 || s2 >= KS2) { continue; }
      acc += DS[((b * T + tok) * H + h) * NB + (s0 * KS1 + s1) * KS2 + s2];
    }
  }
  PR[e] = acc;`,
    );
  }
  {
    const bind = new Bindings();
    bind.add('PR', partial.h.buffer);
    bind.add('DR', dst, true);
    bind.perElement(
      kit,
      OP,
      `drpbSum|${parts}`,
      g.heads * per,
      '',
      `var acc = 0.0;
  for (var i = 0u; i < ${parts}u; i++) { acc += PR[e * ${parts}u + i]; }
  DR[e] = acc;`,
    );
  }
  partial.t.dispose();
  dsScratch.t.dispose();
}
