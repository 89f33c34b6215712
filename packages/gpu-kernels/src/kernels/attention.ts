import {
  BackendError,
  registerKernel,
  type SdpaAttrs,
  type SdpaBackwardAttrs,
  type Tensor,
} from '@attnkit/core';
import { acquire, type GpuHandle, releaseHandle } from '../backend/queue.js';
import { liveState } from '../runtime/device.js';
import { packAttentionGradRows } from './attention-rows.js';
import { bufferOf, f32, grid, launch, MATH_WGSL, output, wgSize } from './common.js';

// Dense scaled-dot-product attention (core's `sdpa` and `sdpaBackward`) as flash-style WGSL kernels: the
// N x N score matrix is never stored (except the bias gradient's ds, see below). Rows are laid out as in core's
// oracle: query row `(b * nq + i) * heads + h` of q / out / gOut / lse, key row `(b * nk + j) * kvHeads + kh` of
// k / v. Shapes, scale, causality and the mask/bias strides are baked into the WGSL (pipelines cached per key).
//
// Forward: one workgroup per (ROWS query rows, head, batch), one thread per query row holding its query vector
// and output accumulator in vec4 registers; tiles of keys and values are staged in workgroup memory as vec4s
// (one 16-byte shared load per 4 multiply-adds, where scalar loads would bound the kernel by shared-memory
// bandwidth) and folded in with the online softmax (running max and sum per row, one key at a time). Causal
// workgroups stop at the last key their rows see.
//
// Backward (FlashAttention-2, no atomics, so deterministic):
// (1) per query row, delta_i = dO_i . O_i - gLse_i (so that ds_ij = p_ij (dO_i . v_j - delta_i)), packed with
//     q_i, dO_i and lse_i into one row of a scratch buffer;
// (2) one workgroup per (ROWS key rows, kv head, batch), one thread per key row, looping over the query heads of
//     its GQA group and over query tiles staged in workgroup memory, recomputing p from lse and accumulating
//     dK and dV in registers (causal workgroups start at their first key's query);
// (3) the forward's layout again, looping over key tiles to accumulate dQ.
// With a bias gradient, kernel (2) also writes each ds_ij to a [batch, heads, nq, nk] scratch buffer that a
// fourth kernel sums over the bias's broadcast axes (one thread per bias element, so deterministic too).

/** Query rows per workgroup (one thread each) in the forward and dQ kernels, and key rows in the dK/dV kernel. */
const ROWS = 32;
/** Most keys (forward, dQ) or queries (dK/dV) staged per tile; fewer when the head dims would overflow memory. */
const MAX_TILE = 32;
/** Largest headDim and valueDim: each thread keeps vectors of these sizes in registers. */
const MAX_DIM = 256;

/** Tile length whose staged rows of `perRow` floats fit in the device's workgroup memory (at most MAX_TILE). */
function tileFor(perRow: number): number {
  const floats = Math.floor(liveState('sdpa').info.maxComputeWorkgroupStorageSize / 4);
  return Math.max(1, Math.min(MAX_TILE, Math.floor(floats / perRow)));
}

/** Element strides of a mask or bias of (padded 4-D) `shape` over `[batch, heads, nq, nk]`: 0 on size-1 axes. */
function strides4(shape: readonly number[]): number[] {
  const s = [0, 0, 0, 0];
  let acc = 1;
  for (let d = 3; d >= 0; d--) {
    s[d] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d];
  }
  return s;
}

/** Checks what the kernels support, and that the grid fits the device. */
function check(op: string, [q, k, v]: Tensor[], a: SdpaAttrs): void {
  for (const [arg, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.dtype !== 'float32') throw new BackendError(op, arg, 'a float32 tensor on WebGPU', t.dtype);
  }
  for (const [arg, n] of [
    ['headDim', a.headDim],
    ['valueDim', a.valueDim],
  ] as const) {
    if (n < 1 || n > MAX_DIM) {
      throw new BackendError(op, arg, `between 1 and ${MAX_DIM} on WebGPU`, String(n));
    }
  }
  const max = liveState(op).info.maxComputeWorkgroupsPerDimension;
  const rows = Math.ceil(Math.max(a.nq, a.nk) / ROWS);
  if (rows > max || a.heads > max || a.batch > max) {
    throw new BackendError(
      op,
      'shape',
      `at most ${max * ROWS} tokens, ${max} heads and ${max} batches on this device`,
      `nq ${a.nq}, nk ${a.nk}, heads ${a.heads}, batch ${a.batch}`,
    );
  }
}

/** Builds binding declarations in order, remembering the buffers that go with them. */
class Bindings {
  readonly decls: string[] = [];
  readonly buffers: GPUBuffer[] = [];
  add(name: string, buffer: GPUBuffer, type: 'f32' | 'u32', write = false): void {
    const mode = write ? 'read_write' : 'read';
    this.decls.push(
      `@group(0) @binding(${this.decls.length}) var<storage, ${mode}> ${name}: array<${type}>;`,
    );
    this.buffers.push(buffer);
  }
  code(): string {
    return this.decls.join('\n');
  }
}

/**
 * WGSL shared by the kernels: the shape constants, `allowed(b, h, i, j)` (causality and the mask) and
 * `bias_at(b, h, i, j)`. `mask` and `bias` are the extra inputs (their buffers are bound as M and BI).
 */
function commonCode(a: SdpaAttrs, mask: Tensor | null, bias: Tensor | null): string {
  const lines = [
    MATH_WGSL,
    `const NQ = ${a.nq}u;`,
    `const NK = ${a.nk}u;`,
    `const H = ${a.heads}u;`,
    `const KVH = ${a.kvHeads}u;`,
    `const GROUP = ${a.heads / a.kvHeads}u;`,
    `const D = ${a.headDim}u;`,
    `const DV = ${a.valueDim}u;`,
    `fn neg_inf() -> f32 { return bitcast<f32>(BITS_NEG_INF); }`,
  ];
  const conds: string[] = [];
  if (a.causal) conds.push('if (j > i) { return false; }');
  if (mask && a.maskShape) {
    const s = strides4(a.maskShape);
    conds.push(
      `return M[${mask.offset}u + b * ${s[0]}u + h * ${s[1]}u + i * ${s[2]}u + j * ${s[3]}u] != 0u;`,
    );
  } else conds.push('return true;');
  lines.push(
    `fn allowed(b: u32, h: u32, i: u32, j: u32) -> bool {\n  _ = b; _ = h;\n  ${conds.join('\n  ')}\n}`,
  );
  if (bias && a.biasShape) {
    const s = strides4(a.biasShape);
    lines.push(
      `fn bias_at(b: u32, h: u32, i: u32, j: u32) -> f32 {
  return BI[${bias.offset}u + b * ${s[0]}u + h * ${s[1]}u + i * ${s[2]}u + j * ${s[3]}u];
}`,
    );
  } else lines.push('fn bias_at(b: u32, h: u32, i: u32, j: u32) -> f32 { return 0.0; }');
  return lines.join('\n');
}

/** The mask and bias among the extra inputs, by the attributes. */
function extras(a: SdpaAttrs, extra: Tensor[]): { mask: Tensor | null; bias: Tensor | null } {
  return {
    mask: a.maskShape ? extra[0] : null,
    bias: a.biasShape ? extra[a.maskShape ? 1 : 0] : null,
  };
}

/** Binds the mask (as u32) and the bias when present. */
function bindExtras(op: string, bind: Bindings, mask: Tensor | null, bias: Tensor | null): void {
  if (mask) bind.add('M', bufferOf(op, mask), 'u32');
  if (bias) bind.add('BI', bufferOf(op, bias), 'f32');
}

/** A key that also carries what the WGSL bakes in besides the attributes. */
function keyOf(name: string, a: SdpaAttrs, ts: (Tensor | null)[], tile: number): string {
  const { batch, nq, nk, heads, kvHeads, headDim, valueDim, scale, causal, maskShape, biasShape } = a;
  const shape = [batch, nq, nk, heads, kvHeads, headDim, valueDim, scale, causal, maskShape, biasShape];
  return `${name}|${JSON.stringify(shape)}|${ts.map((t) => t?.offset ?? '-')}|${tile}`;
}

/**
 * The loop that stages rows `[r0, r0 + tile)` (`width` floats each) into workgroup array `dst` from `src`: row `r`
 * starts at element `offset + rowExpr(r) * stride` (default stride: the width); rows past `limit` read as 0. The
 * workgroup's threads share the work.
 */
function stageCode(
  dst: string,
  src: string,
  width: string,
  tile: number,
  r0: string,
  limit: string,
  rowExpr: (r: string) => string,
  offset: number | string,
  stride = width,
): string {
  const base = typeof offset === 'number' ? `${offset}u` : offset;
  return `for (var e = lid.x; e < ${tile}u * ${width}; e += ${ROWS}u) {
      let r = ${r0} + e / ${width};
      var x = 0.0;
      if (r < ${limit}) { x = ${src}[${base} + ${rowExpr('r')} * ${stride} + e % ${width}]; }
      ${dst}[e] = x;
    }`;
}

/**
 * WGSL assigning to `dst` (a vec4) the 4 floats of `src` at `base + c`, `c + 1`, ...; lanes at or past `width`
 * (the row length, when not a multiple of 4) read as 0.
 */
function load4(dst: string, src: string, widthName: string, width: number, base: string, c: string): string {
  if (width % 4 === 0) {
    const at = (t: number) => `${src}[${base} + ${c} + ${t}u]`;
    return `${dst} = vec4<f32>(${at(0)}, ${at(1)}, ${at(2)}, ${at(3)});`;
  }
  const lane = (t: number) =>
    `if (${c} + ${t}u < ${widthName}) { ${dst}[${t}] = ${src}[${base} + ${c} + ${t}u]; }`;
  return `${dst} = vec4<f32>(0.0);\n    ${[0, 1, 2, 3].map(lane).join('\n    ')}`;
}

/**
 * The loop that stages rows `[k0, k0 + tile)` of `src` (`width` floats each, row `r` at element
 * `offset + rowExpr(r) * width`) into the vec4 workgroup array `dst` (`w4` vec4s per row, zero-padded); rows past
 * NK read as 0. The workgroup's threads share the work.
 */
function stage4(
  dst: string,
  src: string,
  widthName: string,
  width: number,
  w4: string,
  tile: number,
  rowExpr: (r: string) => string,
  offset: number,
): string {
  return `for (var e = lid.x; e < ${tile}u * ${w4}; e += ${ROWS}u) {
      let r = k0 + e / ${w4};
      var x = vec4<f32>(0.0);
      if (r < NK) {
        ${load4('x', src, widthName, width, `${offset}u + ${rowExpr('r')} * ${widthName}`, `(e % ${w4}) * 4u`)}
      }
      ${dst}[e] = x;
    }`;
}

registerKernel<SdpaAttrs>({
  op: 'sdpa',
  backend: 'webgpu',
  run: (inputs, a) => {
    const [q, k, v, ...extra] = inputs;
    check('sdpa', inputs, a);
    const rowsShape = q.shape.slice(0, -1);
    const o = output('sdpa', 'float32', [...rowsShape, a.valueDim]);
    const l = output('sdpa', 'float32', rowsShape);
    if (o.t.size === 0) return [o.t, l.t];
    const { mask, bias } = extras(a, extra);
    const D4 = Math.ceil(a.headDim / 4);
    const DV4 = Math.ceil(a.valueDim / 4);
    const BK = tileFor(4 * (D4 + DV4));
    const bind = new Bindings();
    bind.add('Q', bufferOf('sdpa', q), 'f32');
    bind.add('K', bufferOf('sdpa', k), 'f32');
    bind.add('V', bufferOf('sdpa', v), 'f32');
    bindExtras('sdpa', bind, mask, bias);
    bind.add('OUT', o.h.buffer, 'f32', true);
    bind.add('LSE', l.h.buffer, 'f32', true);
    const kEnd = a.causal ? `min(NK, q0 + ${ROWS}u)` : 'NK';
    const kvRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
    launch(
      'sdpa',
      keyOf('sdpa', a, [q, k, v, mask, bias], BK),
      () => /* wgsl */ `
${commonCode(a, mask, bias)}
${bind.code()}
const BK = ${BK}u;
const D4 = ${D4}u;
const DV4 = ${DV4}u;
var<workgroup> KS: array<vec4<f32>, ${BK * D4}>;
var<workgroup> VS: array<vec4<f32>, ${BK * DV4}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  let q0 = wid.x * ${ROWS}u;
  let i = q0 + lid.x;
  let valid = i < NQ;
  let qr = (b * NQ + min(i, NQ - 1u)) * H + h;
  // The query, pre-scaled, and the output accumulator in vec4 registers (zero-padded past D and DV).
  var qv: array<vec4<f32>, D4>;
  for (var c4 = 0u; c4 < D4; c4++) {
    ${load4('qv[c4]', 'Q', 'D', a.headDim, `${q.offset}u + qr * D`, 'c4 * 4u')}
    qv[c4] *= ${f32(a.scale)};
  }
  var acc: array<vec4<f32>, DV4>;
  var m = neg_inf();
  var l = 0.0;
  for (var k0 = 0u; k0 < ${kEnd}; k0 += BK) {
    ${stage4('KS', 'K', 'D', a.headDim, 'D4', BK, kvRow, k.offset)}
    ${stage4('VS', 'V', 'DV', a.valueDim, 'DV4', BK, kvRow, v.offset)}
    workgroupBarrier();
    if (valid) {
      let jn = min(BK, NK - k0);
      for (var jj = 0u; jj < jn; jj++) {
        let j = k0 + jj;
        if (!allowed(b, h, i, j)) { continue; }
        var sc = 0.0;
        for (var c4 = 0u; c4 < D4; c4++) { sc += dot(qv[c4], KS[jj * D4 + c4]); }
        let x = sc + bias_at(b, h, i, j);
        if (x == neg_inf()) { continue; }
        // Online softmax one key at a time: rescale only when the running maximum grows (rarely, after the
        // first keys), so no per-tile score array is needed.
        if (x > m) {
          let alpha = select(exp(m - x), 0.0, m == neg_inf());
          l *= alpha;
          for (var c4 = 0u; c4 < DV4; c4++) { acc[c4] *= alpha; }
          m = x;
        }
        let p = exp(x - m);
        l += p;
        for (var c4 = 0u; c4 < DV4; c4++) { acc[c4] += p * VS[jj * DV4 + c4]; }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let none = m == neg_inf();
    let inv = select(1.0 / l, 0.0, none);
    for (var c = 0u; c < DV; c++) { OUT[qr * DV + c] = acc[c / 4u][c % 4u] * inv; }
    LSE[qr] = select(m + log(l), neg_inf(), none);
  }
}`,
      bind.buffers,
      [Math.ceil(a.nq / ROWS), a.heads, a.batch],
    );
    return [o.t, l.t];
  },
});

/** A scratch buffer of `floats` floats, for the kernels of one op (released once they are recorded). */
function scratch(op: string, floats: number): GpuHandle {
  return acquire(op, Math.max(1, floats) * 4);
}

/**
 * Sums the ds scratch `[batch, heads, nq, nk]` over the bias's broadcast axes into `dst` (of `biasShape`),
 * one thread per output element; causally masked entries (never written by the dK/dV kernel) count as 0.
 */
function reduceBiasGrad(op: string, a: SdpaAttrs, ds: GPUBuffer, dst: GPUBuffer, size: number): void {
  const bs = a.biasShape as number[];
  const full = [a.batch, a.heads, a.nq, a.nk];
  const names = ['b', 'h', 'i', 'j'];
  const wg = wgSize();
  const { groups, index } = grid(size, wg);
  const lines: string[] = [];
  // Decompose the output index into its four coordinates (row-major in biasShape).
  lines.push('var r = o;');
  for (let d = 3; d >= 0; d--) {
    lines.push(`let c${d} = r % ${bs[d]}u; r = r / ${bs[d]}u;`);
  }
  lines.push('_ = r;', 'var acc = 0.0;');
  const open: string[] = [];
  for (let d = 0; d < 4; d++) {
    if (bs[d] === 1 && full[d] !== 1) {
      open.push(`for (var ${names[d]} = 0u; ${names[d]} < ${full[d]}u; ${names[d]}++) {`);
    } else open.push(`{ let ${names[d]} = c${d};`);
  }
  const causal = a.causal ? 'if (j <= i) { acc += DS[((b * H + h) * NQ + i) * NK + j]; }' : '';
  const body = `${open.join('\n')}
  ${causal || 'acc += DS[((b * H + h) * NQ + i) * NK + j];'}
${'}'.repeat(4)}`;
  launch(
    op,
    `sdpaBiasGrad|${JSON.stringify([full, bs, a.causal])}|${groups}`,
    () => /* wgsl */ `
const NQ = ${a.nq}u;
const NK = ${a.nk}u;
const H = ${a.heads}u;
@group(0) @binding(0) var<storage, read> DS: array<f32>;
@group(0) @binding(1) var<storage, read_write> DB: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = ${index};
  if (o >= ${size}u) { return; }
  ${lines.join('\n  ')}
  ${body}
  DB[o] = acc;
}`,
    [ds, dst],
    groups,
  );
}

registerKernel<SdpaBackwardAttrs>({
  op: 'sdpaBackward',
  backend: 'webgpu',
  run: (inputs, a) => {
    const op = 'sdpaBackward';
    const [q, k, v, out, lse, gOut, gLse, ...extra] = inputs;
    check(op, inputs, a);
    for (const [arg, t] of [
      ['out', out],
      ['lse', lse],
      ['gOut', gOut],
      ['gLse', gLse],
    ] as const) {
      if (t.dtype !== 'float32') throw new BackendError(op, arg, 'a float32 tensor on WebGPU', t.dtype);
    }
    const { mask, bias } = extras(a, extra);
    const withBias = a.biasGrad && a.biasShape !== null;
    const bhqk = a.batch * a.heads * a.nq * a.nk;
    const maxBinding = liveState(op).info.maxStorageBufferBindingSize;
    if (withBias && bhqk * 4 > maxBinding) {
      throw new BackendError(
        op,
        'bias',
        `a bias gradient whose [batch, heads, nq, nk] scratch fits one binding (${maxBinding} bytes)`,
        `${bhqk * 4} bytes`,
      );
    }
    const dq = output(op, 'float32', q.shape);
    const dk = output(op, 'float32', k.shape);
    const dv = output(op, 'float32', v.shape);
    const db = withBias ? output(op, 'float32', a.biasShape as number[]) : null;
    const results = [dq.t, dk.t, dv.t, ...(db ? [db.t] : [])];
    const rows = a.batch * a.nq * a.heads;
    if (rows === 0) {
      // No query rows: every gradient is 0 (dk/dv may still have elements).
      zeroFill(op, [dk, dv, ...(db ? [db] : [])]);
      return results;
    }
    const com = commonCode(a, mask, bias);
    const key = (name: string, tile: number) =>
      keyOf(name, a, [q, k, v, out, lse, gOut, gLse, mask, bias], tile);

    // (1) One packed row per query row: [q (D), gOut (DV), lse, delta = gOut . out - gLse].
    const W = a.headDim + a.valueDim + 2;
    const packed = scratch(op, rows * W);
    packAttentionGradRows(
      op,
      { q, out, gOut, lse, gLse },
      { rows, headDim: a.headDim, valueDim: a.valueDim },
      packed.buffer,
    );

    const ds = withBias ? scratch(op, bhqk) : null;
    // What both gradient kernels read: the packed query rows, K, V, and the mask and bias.
    const gradBindings = () => {
      const bind = new Bindings();
      bind.add('P', packed.buffer, 'f32');
      bind.add('K', bufferOf(op, k), 'f32');
      bind.add('V', bufferOf(op, v), 'f32');
      bindExtras(op, bind, mask, bias);
      return bind;
    };
    const qRow = (r: string) => `((b * NQ + ${r}) * H + h)`;
    const kRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;
    const vRow = (r: string) => `((b * NK + ${r}) * KVH + kh)`;

    // (2) dK, dV: one thread per key row, looping over the group's query heads and over query tiles.
    if (a.nk > 0) {
      const BQ = tileFor(a.headDim + a.valueDim + 2);
      const bind = gradBindings();
      bind.add('DK', dk.h.buffer, 'f32', true);
      bind.add('DVO', dv.h.buffer, 'f32', true);
      if (ds) bind.add('DS', ds.buffer, 'f32', true);
      // Causal: queries before the tile's first key see none of its keys.
      const iStart = a.causal ? 'k0' : '0u';
      const writeDs = ds ? 'if (validK && i < NQ) { DS[((b * H + h) * NQ + i) * NK + j] = dsv; }' : '';
      launch(
        op,
        key('sdpaDkDv', BQ),
        () => /* wgsl */ `
${com}
${bind.code()}
const BQ = ${BQ}u;
const W = ${W}u;
var<workgroup> QS: array<f32, ${BQ * a.headDim}>;
var<workgroup> GOS: array<f32, ${BQ * a.valueDim}>;
var<workgroup> LS: array<f32, ${BQ}>;
var<workgroup> DLS: array<f32, ${BQ}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let kh = wid.y;
  let k0 = wid.x * ${ROWS}u;
  let j = k0 + lid.x;
  let validK = j < NK;
  let kr = (b * NK + min(j, NK - 1u)) * KVH + kh;
  var kv: array<f32, D>;
  var vv: array<f32, DV>;
  for (var c = 0u; c < D; c++) { kv[c] = K[${k.offset}u + kr * D + c]; }
  for (var c = 0u; c < DV; c++) { vv[c] = V[${v.offset}u + kr * DV + c]; }
  var dk: array<f32, D>;
  var dv: array<f32, DV>;
  for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    for (var i0 = ${iStart}; i0 < NQ; i0 += BQ) {
      ${stageCode('QS', 'P', 'D', BQ, 'i0', 'NQ', qRow, 0, 'W')}
      ${stageCode('GOS', 'P', 'DV', BQ, 'i0', 'NQ', qRow, 'D', 'W')}
      for (var e = lid.x; e < BQ; e += ${ROWS}u) {
        let i = i0 + e;
        var lv = neg_inf();
        var dl = 0.0;
        if (i < NQ) {
          let r = ((b * NQ + i) * H + h) * W + D + DV;
          lv = P[r];
          dl = P[r + 1u];
        }
        LS[e] = lv;
        DLS[e] = dl;
      }
      workgroupBarrier();
      for (var ii = 0u; ii < BQ; ii++) {
        let i = i0 + ii;
        var dsv = 0.0;
        if (validK && i < NQ && LS[ii] > neg_inf() && allowed(b, h, i, j)) {
          var dot = 0.0;
          for (var c = 0u; c < D; c++) { dot += QS[ii * D + c] * kv[c]; }
          let x = dot * ${f32(a.scale)} + bias_at(b, h, i, j);
          if (x > neg_inf()) {
            let p = exp(x - LS[ii]);
            var dp = 0.0;
            for (var c = 0u; c < DV; c++) {
              let g = GOS[ii * DV + c];
              dv[c] += p * g;
              dp += g * vv[c];
            }
            dsv = p * (dp - DLS[ii]);
            for (var c = 0u; c < D; c++) { dk[c] += dsv * QS[ii * D + c]; }
          }
        }
        ${writeDs}
      }
      workgroupBarrier();
    }
  }
  if (validK) {
    for (var c = 0u; c < D; c++) { DK[kr * D + c] = dk[c] * ${f32(a.scale)}; }
    for (var c = 0u; c < DV; c++) { DVO[kr * DV + c] = dv[c]; }
  }
}`,
        bind.buffers,
        [Math.ceil(a.nk / ROWS), a.kvHeads, a.batch],
      );
    }

    // (3) dQ: one thread per query row, looping over key tiles.
    {
      const BK = tileFor(a.headDim + a.valueDim);
      const bind = gradBindings();
      bind.add('DQ', dq.h.buffer, 'f32', true);
      const kEnd = a.causal ? `min(NK, q0 + ${ROWS}u)` : 'NK';
      launch(
        op,
        key('sdpaDq', BK),
        () => /* wgsl */ `
${com}
${bind.code()}
const BK = ${BK}u;
const W = ${W}u;
var<workgroup> KS: array<f32, ${BK * a.headDim}>;
var<workgroup> VS: array<f32, ${BK * a.valueDim}>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  let q0 = wid.x * ${ROWS}u;
  let i = q0 + lid.x;
  let valid = i < NQ;
  let qr = (b * NQ + min(i, NQ - 1u)) * H + h;
  var qv: array<f32, D>;
  var go: array<f32, DV>;
  for (var c = 0u; c < D; c++) { qv[c] = P[qr * W + c]; }
  for (var c = 0u; c < DV; c++) { go[c] = P[qr * W + D + c]; }
  let lv = P[qr * W + D + DV];
  let dl = P[qr * W + D + DV + 1u];
  let live = valid && lv > neg_inf();
  var dq: array<f32, D>;
  for (var k0 = 0u; k0 < ${kEnd}; k0 += BK) {
    ${stageCode('KS', 'K', 'D', BK, 'k0', 'NK', kRow, k.offset)}
    ${stageCode('VS', 'V', 'DV', BK, 'k0', 'NK', vRow, v.offset)}
    workgroupBarrier();
    if (live) {
      for (var jj = 0u; jj < BK; jj++) {
        let j = k0 + jj;
        if (j < NK && allowed(b, h, i, j)) {
          var dot = 0.0;
          for (var c = 0u; c < D; c++) { dot += qv[c] * KS[jj * D + c]; }
          let x = dot * ${f32(a.scale)} + bias_at(b, h, i, j);
          if (x > neg_inf()) {
            let p = exp(x - lv);
            var dp = 0.0;
            for (var c = 0u; c < DV; c++) { dp += go[c] * VS[jj * DV + c]; }
            let dsv = p * (dp - dl);
            for (var c = 0u; c < D; c++) { dq[c] += dsv * KS[jj * D + c]; }
          }
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var c = 0u; c < D; c++) { DQ[qr * D + c] = dq[c] * ${f32(a.scale)}; }
  }
}`,
        bind.buffers,
        [Math.ceil(a.nq / ROWS), a.heads, a.batch],
      );
    }

    // (4) dbias: ds summed over the bias's broadcast axes.
    if (db && ds) {
      if (db.t.size > 0) reduceBiasGrad(op, a, ds.buffer, db.h.buffer, db.t.size);
      releaseHandle(ds);
    }
    releaseHandle(packed);
    return results;
  },
});

/** Writes zeros into outputs (for gradients of an op with no query rows). */
function zeroFill(op: string, outs: { t: Tensor; h: GpuHandle }[]): void {
  const wg = wgSize();
  for (const { t, h } of outs) {
    if (t.size === 0) continue;
    const { groups, index } = grid(t.size, wg);
    launch(
      op,
      `sdpaZero|${t.size}|${groups}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = ${index};
  if (o < ${t.size}u) { Y[o] = 0.0; }
}`,
      [h.buffer],
      groups,
    );
  }
}
