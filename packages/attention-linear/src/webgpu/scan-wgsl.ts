// WGSL of the chunked decayed causal scan (Lightning Attention-2's block algorithm), as source builders. One
// scan computes out_x = sum_{y <= x} lambda^(x - y) (a_x . b_y) c_y per (batch, head), lambda = exp(-s_h), over
// "scan time" x, which is token order or its reverse (token N-1-x), so that the backward's anti-causal sums
// are the same kernel. Tokens are cut into blocks of BLK; for a block starting at t0 the state
// S = sum_{y < t0} lambda^(t0 - 1 - y) b_y c_y^T (DA x EV, one value-channel slice) gives each row a of the
// block its inter-block part lambda^(a + 1) a_x^T S, and the intra-block part is the masked quadratic form
// over the block's rows r <= a. Then S <- lambda^BLK S + sum_r lambda^(BLK - 1 - r) b_r c_r^T.
//
// Two ways to get every block's S: 'sequential' (one workgroup per (batch, head, slice) walks the blocks and
// keeps S in workgroup memory) and 'parallel' (kernel 1 writes each block's own contribution to a scratch
// buffer, kernel 2 turns them into the states with an exclusive scan over blocks, kernel 3 computes every
// block's outputs). Both compute each output element in one thread in a fixed order: deterministic.
import type { ScanPlan, ScanShape } from './plan.js';

/** What one scan binds: the element offsets of its inputs (tensors may be views into a larger buffer). */
export interface ScanOffsets {
  /** Offset of operand a (dotted, per output row). */
  a: number;
  /** Offset of operand b (dotted, per source row). */
  b: number;
  /** Offset of operand c (carried into the output). */
  c: number;
  /** Offset of the params (the token count's bits, then the per-head decay rates). */
  params: number;
}

/**
 * One scan kernel's WGSL: the header, the bindings (`reads` read-only, then `write` read-write, all `array<f32>`
 * at `@group(0) @binding(i)` in that order), shared code, and the entry point with `body`. The four kernels
 * differ only in these parts.
 */
function kernel(
  head: string,
  reads: string[],
  write: string,
  code: string[],
  workgroupSize: number,
  body: string,
): string {
  const binds = [...reads.map((name) => [name, 'read']), [write, 'read_write']].map(
    ([name, mode], i) => `@group(0) @binding(${i}) var<storage, ${mode}> ${name}: array<f32>;`,
  );
  return /* wgsl */ `
${head}
${binds.join('\n')}
${code.join('\n')}
@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {${body}
}`;
}

/**
 * Shape constants, the run-time token count, the token map of scan time and the row index of (batch, scan
 * time, head). The token count is not baked in (one pipeline serves every sequence length): it comes from the
 * params buffer PRM, `[bits of n as u32, s_0, ..., s_(H-1)]` from element P_OFF, read by `load_params()`.
 */
function header(s: ScanShape, p: ScanPlan, reverse: boolean, o: ScanOffsets): string {
  return /* wgsl */ `
const H = ${s.heads}u;
const DA = ${s.da}u;
const DC = ${s.dc}u;
const EV = ${p.ev}u;
const BLK = ${p.blk}u;
const A_OFF = ${o.a}u;
const B_OFF = ${o.b}u;
const C_OFF = ${o.c}u;
const P_OFF = ${o.params}u;
var<private> N: u32;
var<private> NB: u32;
// Tokens and blocks; a loop with barriers must take its bound from tokens() itself (a uniform value), not N.
fn tokens() -> u32 { return bitcast<u32>(PRM[P_OFF]); }
fn blocks() -> u32 { return max(1u, (tokens() + BLK - 1u) / BLK); }
fn load_params() { N = tokens(); NB = blocks(); }
fn rate_of(h: u32) -> f32 { return PRM[P_OFF + 1u + h]; }
fn row_of(b: u32, x: u32, h: u32) -> u32 {
  return (b * N + ${reverse ? '(N - 1u - x)' : 'x'}) * H + h;
}`;
}

/**
 * Workgroup arrays and the block helpers every kernel but the carry uses: decay powers PW[n] = lambda^n (exactly
 * 1 at n = 0, so an infinite rate still keeps the diagonal), staging of a block's b rows and c slice (zero past N
 * and past DC), and a block's own contribution to the state.
 */
const BLOCK_CODE = /* wgsl */ `
var<workgroup> KS: array<f32, BLK * DA>;
var<workgroup> VS: array<f32, BLK * EV>;
var<workgroup> PW: array<f32, BLK + 1u>;

fn init_powers(a: u32, rate: f32) {
  for (var n = a; n <= BLK; n += BLK) { PW[n] = select(exp(-rate * f32(n)), 1.0, n == 0u); }
}

fn stage_block(b: u32, h: u32, c0: u32, t0: u32, a: u32) {
  for (var e = a; e < BLK * DA; e += BLK) {
    let x = t0 + e / DA;
    var val = 0.0;
    if (x < N) { val = BM[B_OFF + row_of(b, x, h) * DA + e % DA]; }
    KS[e] = val;
  }
  for (var e = a; e < BLK * EV; e += BLK) {
    let x = t0 + e / EV;
    let c = c0 + e % EV;
    var val = 0.0;
    if (x < N && c < DC) { val = CM[C_OFF + row_of(b, x, h) * DC + c]; }
    VS[e] = val;
  }
}

// sum_r lambda^(BLK - 1 - r) b_r[d] c_r[c] over the staged block: what it adds to the state after it.
fn block_contribution(e: u32) -> f32 {
  let d = e / EV;
  let c = e % EV;
  var u = 0.0;
  for (var r = 0u; r < BLK; r++) { u += PW[BLK - 1u - r] * KS[r * DA + d] * VS[r * EV + c]; }
  return u;
}`;

/** The state slice in workgroup memory, and one row's output from it and the staged block (needs AM and OUT). */
const OUTPUT_CODE = /* wgsl */ `
var<workgroup> S: array<f32, DA * EV>;

// Row a of the block at t0: lambda^(a+1) a_x^T S plus the decayed quadratic form over rows r <= a.
fn block_output(b: u32, h: u32, c0: u32, t0: u32, a: u32) {
  let x = t0 + a;
  if (x >= N) { return; }
  let row = row_of(b, x, h);
  var qv: array<f32, DA>;
  for (var d = 0u; d < DA; d++) { qv[d] = AM[A_OFF + row * DA + d]; }
  var acc: array<f32, EV>;
  for (var d = 0u; d < DA; d++) {
    let qd = qv[d];
    for (var c = 0u; c < EV; c++) { acc[c] += qd * S[d * EV + c]; }
  }
  let carried = PW[a + 1u];
  for (var c = 0u; c < EV; c++) { acc[c] *= carried; }
  for (var r = 0u; r <= a; r++) {
    var dot = 0.0;
    for (var d = 0u; d < DA; d++) { dot += qv[d] * KS[r * DA + d]; }
    let w = dot * PW[a - r];
    for (var c = 0u; c < EV; c++) { acc[c] += w * VS[r * EV + c]; }
  }
  for (var c = 0u; c < EV; c++) {
    if (c0 + c < DC) { OUT[row * DC + c0 + c] = acc[c]; }
  }
}`;

/** The sequential kernel: grid (slices, heads, batch), BLK threads, the state in workgroup memory. */
export function sequentialWgsl(s: ScanShape, p: ScanPlan, reverse: boolean, o: ScanOffsets): string {
  return kernel(
    header(s, p, reverse, o),
    ['AM', 'BM', 'CM', 'PRM'],
    'OUT',
    [BLOCK_CODE, OUTPUT_CODE],
    p.blk,
    /* wgsl */ `
  let b = wid.z;
  let h = wid.y;
  let c0 = wid.x * EV;
  let a = lid.x;
  load_params();
  init_powers(a, rate_of(h));
  for (var e = a; e < DA * EV; e += BLK) { S[e] = 0.0; }
  let nb = blocks();
  for (var j = 0u; j < nb; j++) {
    let t0 = j * BLK;
    stage_block(b, h, c0, t0, a);
    workgroupBarrier();
    block_output(b, h, c0, t0, a);
    workgroupBarrier();
    if (j + 1u < nb) {
      for (var e = a; e < DA * EV; e += BLK) { S[e] = PW[BLK] * S[e] + block_contribution(e); }
    }
    workgroupBarrier();
  }`,
  );
}

/** Index of state element (d, channel) of block j of batch-head bh in the scratch ST `[B*H, NB, DA, DC]`. */
const ST_INDEX =
  'fn st_index(bh: u32, j: u32, d: u32, c: u32) -> u32 { return ((bh * NB + j) * DA + d) * DC + c; }';

/**
 * The start of the per-block kernels (grid (slices, blocks, batch * heads), BLK threads): this block's indices,
 * the decay powers, and the block's b rows and c slice staged (a barrier is still due before reading them).
 */
const BLOCK_START = /* wgsl */ `
  let bh = wid.z;
  let b = bh / H;
  let h = bh % H;
  let j = wid.y;
  let c0 = wid.x * EV;
  let a = lid.x;
  load_params();
  init_powers(a, rate_of(h));
  stage_block(b, h, c0, j * BLK, a);`;

/** Parallel kernel 1: grid (slices, blocks, batch * heads); each block's own state contribution into ST. */
export function contributionWgsl(s: ScanShape, p: ScanPlan, reverse: boolean, o: ScanOffsets): string {
  return kernel(
    header(s, p, reverse, o),
    ['BM', 'CM', 'PRM'],
    'ST',
    [BLOCK_CODE, ST_INDEX],
    p.blk,
    /* wgsl */ `${BLOCK_START}
  workgroupBarrier();
  for (var e = a; e < DA * EV; e += BLK) {
    let c = c0 + e % EV;
    if (c < DC) { ST[st_index(bh, j, e / EV, c)] = block_contribution(e); }
  }`,
  );
}

/**
 * Parallel kernel 2: grid (ceil(heads * DA * DC / wg), batch), one thread per (head, d, channel) of a batch row,
 * turns the contributions in ST into the states at each block's start, in place: S_0 = 0,
 * S_j = lambda^BLK S_(j-1) + U_(j-1). It does not depend on the scan direction.
 */
export function carryWgsl(s: ScanShape, p: ScanPlan, o: ScanOffsets, wg: number): string {
  return kernel(
    header(s, p, false, o),
    ['PRM'],
    'ST',
    [ST_INDEX],
    wg,
    /* wgsl */ `
  load_params();
  let i = wid.x * ${wg}u + lid.x;
  if (i >= H * DA * DC) { return; }
  let h = i / (DA * DC);
  let bh = wid.y * H + h;
  let d = (i / DC) % DA;
  let c = i % DC;
  let step = exp(-rate_of(h) * f32(BLK));
  // Four blocks per step, their loads issued before any store: the loop is latency-bound, not bandwidth-bound.
  let stride = DA * DC;
  var state = 0.0;
  var j = 0u;
  for (; j + 4u <= NB; j += 4u) {
    let at = st_index(bh, j, d, c);
    let u0 = ST[at];
    let u1 = ST[at + stride];
    let u2 = ST[at + 2u * stride];
    let u3 = ST[at + 3u * stride];
    ST[at] = state;
    state = step * state + u0;
    ST[at + stride] = state;
    state = step * state + u1;
    ST[at + 2u * stride] = state;
    state = step * state + u2;
    ST[at + 3u * stride] = state;
    state = step * state + u3;
  }
  for (; j < NB; j++) {
    let at = st_index(bh, j, d, c);
    let u = ST[at];
    ST[at] = state;
    state = step * state + u;
  }`,
  );
}

/** Parallel kernel 3: grid (slices, blocks, batch * heads); each block's outputs from its state in ST. */
export function blockOutputWgsl(s: ScanShape, p: ScanPlan, reverse: boolean, o: ScanOffsets): string {
  return kernel(
    header(s, p, reverse, o),
    ['AM', 'BM', 'CM', 'PRM', 'ST'],
    'OUT',
    [BLOCK_CODE, OUTPUT_CODE, ST_INDEX],
    p.blk,
    /* wgsl */ `${BLOCK_START}
  for (var e = a; e < DA * EV; e += BLK) {
    let c = c0 + e % EV;
    var val = 0.0;
    if (c < DC) { val = ST[st_index(bh, j, e / EV, c)]; }
    S[e] = val;
  }
  workgroupBarrier();
  block_output(b, h, c0, j * BLK, a);`,
  );
}
