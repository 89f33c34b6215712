import { BackendError, registerKernel } from '@attnkit/core';
import './sort.js';
import { liveState } from '../runtime/device.js';
import { bufferOf, elementKernel, grid, launch, output, rowMajor, wgSize, wgslType } from './common.js';

// cumsum (and cumprod: the same scan with * for +) is a two-level parallel scan. Each lane (the elements of x
// along the axis, for one position of the other axes) is cut into blocks of SCAN_WG * SCAN_ITEMS elements, one
// workgroup per block: every thread combines SCAN_ITEMS consecutive elements serially, the workgroup scans those
// per-thread totals in workgroup memory (Hillis-Steele, log2(SCAN_WG) steps), and each thread writes its
// inclusive prefixes. When a lane spans more than one block the block totals are written out, scanned by the
// same code (recursively, so any length works), and a last pass combines each block with the total of the
// blocks before it. `reverse` only changes which element a logical position j reads: k = n - 1 - j.

/** Threads per workgroup of the block scan. */
const SCAN_WG = 128;
/** Elements each thread scans serially before the workgroup-wide scan. */
const SCAN_ITEMS = 4;
/** Elements per block (one workgroup). */
const SCAN_BLOCK = SCAN_WG * SCAN_ITEMS;

/** Workgroups for `count` work items of one workgroup each, folded into 2-D past the per-dimension limit. */
function groupGrid(count: number): { groups: [number, number]; index: string } {
  const max = liveState('kernel').info.maxComputeWorkgroupsPerDimension;
  const gx = Math.max(1, Math.min(count, max));
  return { groups: [gx, Math.max(1, Math.ceil(count / gx))], index: `(wid.y * ${gx}u + wid.x)` };
}

/** The layout of the lanes a scan runs over: `outer * inner` lanes of `n` elements, `inner` apart. */
interface Lanes {
  outer: number;
  n: number;
  inner: number;
}

/** WGSL of `addr(lane, j)`: the row-major offset of logical element j of a lane (from the end if reversed). */
function addrCode({ n, inner }: Lanes, reverse: boolean): string {
  const k = reverse ? `(${n - 1}u - j)` : 'j';
  return `fn addr(lane: u32, j: u32) -> u32 {
  return ((lane / ${inner}u) * ${n}u + ${k}) * ${inner}u + lane % ${inner}u;
}`;
}

/**
 * Records the inclusive scan of the lanes of `src` (at element offset `srcOffset`) into `dst`, which has the
 * same row-major layout and starts at 0. `ty` is the WGSL element type (f32 or i32).
 */
function scanLanes(
  op: string,
  combine: '+' | '*',
  ty: 'f32' | 'i32',
  src: GPUBuffer,
  srcOffset: number,
  dst: GPUBuffer,
  lanes: Lanes,
  reverse: boolean,
): void {
  const laneCount = lanes.outer * lanes.inner;
  const nb = Math.ceil(lanes.n / SCAN_BLOCK);
  // The identity of the combining operator (what elements past the end of a lane count as).
  const zero = combine === '+' ? (ty === 'f32' ? '0.0' : '0i') : ty === 'f32' ? '1.0' : '1i';
  // Block totals, in logical order: lane-major [laneCount, nb].
  const totals = nb > 1 ? output(op, ty === 'f32' ? 'float32' : 'int32', [laneCount, nb]) : null;
  const { groups, index } = groupGrid(laneCount * nb);
  const shape = `${lanes.outer}|${lanes.n}|${lanes.inner}`;
  launch(
    op,
    `scan|${combine}|${ty}|${shape}|${reverse}|${srcOffset}|${groups}|${nb}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${ty}>;
${totals ? `@group(0) @binding(2) var<storage, read_write> T: array<${ty}>;` : ''}
var<workgroup> sh: array<${ty}, ${SCAN_WG}>;
${addrCode(lanes, reverse)}
@compute @workgroup_size(${SCAN_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ${index};
  if (g >= ${laneCount * nb}u) { return; }
  let lane = g / ${nb}u;
  let first = (g % ${nb}u) * ${SCAN_BLOCK}u + lid.x * ${SCAN_ITEMS}u;
  var v: array<${ty}, ${SCAN_ITEMS}>;
  var run = ${zero};
  for (var q = 0u; q < ${SCAN_ITEMS}u; q++) {
    let j = first + q;
    if (j < ${lanes.n}u) { run = run ${combine} X[addr(lane, j) + ${srcOffset}u]; }
    v[q] = run;
  }
  sh[lid.x] = run;
  workgroupBarrier();
  for (var s = 1u; s < ${SCAN_WG}u; s = s << 1u) {
    var add = ${zero};
    if (lid.x >= s) { add = sh[lid.x - s]; }
    workgroupBarrier();
    sh[lid.x] = add ${combine} sh[lid.x];
    workgroupBarrier();
  }
  var before = ${zero};
  if (lid.x > 0u) { before = sh[lid.x - 1u]; }
  for (var q = 0u; q < ${SCAN_ITEMS}u; q++) {
    let j = first + q;
    if (j < ${lanes.n}u) { Y[addr(lane, j)] = before ${combine} v[q]; }
  }
  ${totals ? `if (lid.x == ${SCAN_WG - 1}u) { T[g] = sh[${SCAN_WG - 1}u]; }` : ''}
}`,
    totals ? [src, dst, totals.h.buffer] : [src, dst],
    groups,
  );
  if (!totals) return;
  // Scan the block totals of each lane, then add to every block but the first the total of those before it.
  const scanned = output(op, totals.t.dtype, [laneCount, nb]);
  scanLanes(
    op,
    combine,
    ty,
    totals.h.buffer,
    0,
    scanned.h.buffer,
    { outer: laneCount, n: nb, inner: 1 },
    false,
  );
  totals.t.dispose();
  const count = laneCount * lanes.n;
  const wg = wgSize();
  const add = grid(count, wg);
  launch(
    op,
    `scanAdd|${combine}|${ty}|${shape}|${reverse}|${wg}|${add.groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${ty}>;
${addrCode(lanes, reverse)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${add.index};
  if (e >= ${count}u) { return; }
  let lane = e / ${lanes.n}u;
  let j = e % ${lanes.n}u;
  let b = j / ${SCAN_BLOCK}u;
  if (b == 0u) { return; }
  let a = addr(lane, j);
  Y[a] = S[lane * ${nb}u + b - 1u] ${combine} Y[a];
}`,
    [scanned.h.buffer, dst],
    add.groups,
  );
  scanned.t.dispose();
}

/** The lanes of x along `axis`. */
function lanesOf(x: { shape: readonly number[] }, axis: number): Lanes {
  return {
    outer: x.shape.slice(0, axis).reduce((a, b) => a * b, 1),
    n: x.shape[axis],
    inner: x.shape.slice(axis + 1).reduce((a, b) => a * b, 1),
  };
}

// cumsum and cumprod: the scan above with + or *. cumprod has no reverse flag (core passes none).
for (const [op, combine] of [
  ['cumsum', '+'],
  ['cumprod', '*'],
] as const) {
  registerKernel<{ axis: number; reverse?: boolean }>({
    op,
    backend: 'webgpu',
    run: ([x], { axis, reverse }) => {
      const ty = wgslType(x);
      // core casts bool input to int32 before the kernel runs, so only f32 and i32 arrive here.
      if (ty === 'u32') throw new BackendError(op, 'x', 'a float32 or int32 tensor', x.dtype);
      const { t, h } = output(op, x.dtype, x.shape);
      if (t.size === 0) return [t];
      scanLanes(op, combine, ty, bufferOf(op, x), x.offset, h.buffer, lanesOf(x, axis), reverse === true);
      return [t];
    },
  });
}

// cumprodGrad: dx_i = before_i * after_i, with before_i = prod_{k<i} x_k and after_i = g_i + x_{i+1} * after_{i+1}
// (the CPU's formula, exact where x has zeros). One thread per lane runs the two recurrences serially (after
// backwards into the output, then before forwards); lanes run in parallel.
registerKernel<{ axis: number }>({
  op: 'cumprodGrad',
  backend: 'webgpu',
  run: ([x, g], { axis }) => {
    if (x.dtype !== 'float32' || g.dtype !== 'float32') {
      throw new BackendError('cumprodGrad', 'x, g', 'float32 tensors', `${x.dtype}, ${g.dtype}`);
    }
    const { t, h } = output('cumprodGrad', 'float32', x.shape);
    if (t.size === 0) return [t];
    const lanes = lanesOf(x, axis);
    const count = lanes.outer * lanes.inner;
    const wg = wgSize();
    const { groups, index } = grid(count, wg);
    launch(
      'cumprodGrad',
      `cumprodGrad|${lanes.outer}|${lanes.n}|${lanes.inner}|${x.offset}|${g.offset}|${wg}|${groups}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${addrCode(lanes, false)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let lane = ${index};
  if (lane >= ${count}u) { return; }
  var after = 0.0;
  for (var j = ${lanes.n}u; j > 0u; j--) {
    let a = addr(lane, j - 1u);
    if (j < ${lanes.n}u) { after = after * X[addr(lane, j) + ${x.offset}u]; }
    after += G[a + ${g.offset}u];
    Y[a] = after;
  }
  var before = 1.0;
  for (var j = 0u; j < ${lanes.n}u; j++) {
    let a = addr(lane, j);
    Y[a] = before * Y[a];
    before *= X[a + ${x.offset}u];
  }
}`,
      [bufferOf('cumprodGrad', x), bufferOf('cumprodGrad', g), h.buffer],
      groups,
    );
    return [t];
  },
});

// flip: one thread per output element, reading coordinate n - 1 - c of the source on the flipped axes. Works on
// the bits (u32), so every dtype shares one kernel per shape.
registerKernel<{ axes: number[] }>({
  op: 'flip',
  backend: 'webgpu',
  run: ([x], { axes }) => {
    wgslType(x);
    const { t, h } = output('flip', x.dtype, x.shape);
    if (t.size === 0) return [t];
    const strides = rowMajor(x.shape);
    // Output coordinate c along a flipped axis of size n reads the source's coordinate n - 1 - c.
    const flipped = x.shape.map((_, a) => axes.includes(a));
    const lines = ['var r = e;', `var o = ${x.offset}u;`];
    for (let d = x.rank - 1; d >= 0; d--) {
      if (x.shape[d] === 1) continue;
      const c = flipped[d] ? `(${x.shape[d] - 1}u - r % ${x.shape[d]}u)` : `(r % ${x.shape[d]}u)`;
      lines.push(`o += ${c} * ${strides[d]}u; r = r / ${x.shape[d]}u;`);
    }
    elementKernel(
      'flip',
      `${x.shape}|${flipped}|${x.offset}`,
      t.size,
      [
        { name: 'X', ty: 'u32', buf: bufferOf('flip', x) },
        { name: 'Y', ty: 'u32', buf: h.buffer, write: true },
      ],
      `${lines.join('\n  ')}
  Y[e] = X[o];`,
    );
    return [t];
  },
});
