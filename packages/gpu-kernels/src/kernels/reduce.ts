import {
  BackendError,
  type ReduceAttrs,
  registerKernel,
  type SoftmaxAttrs,
  type Tensor,
} from '@attnkit/core';
import { liveState } from '../runtime/device.js';
import { bufferOf, f32, i32, launch, MATH_WGSL, offsetsCode, output, wgslType } from './common.js';

/** Threads per workgroup of the reductions (one workgroup reduces one output element or one row). */
const RWG = 64;

/** Workgroups for `count` work items of one workgroup each, folded into 2-D past the per-dimension limit. */
function rowGrid(count: number): { groups: [number, number]; index: string } {
  const max = liveState('kernel').info.maxComputeWorkgroupsPerDimension;
  const gx = Math.max(1, Math.min(count, max));
  return { groups: [gx, Math.max(1, Math.ceil(count / gx))], index: `(wid.y * ${gx}u + wid.x)` };
}

type Ty = 'f32' | 'i32';

function combine(op: string, ty: Ty): { init: string; f: string } {
  if (op === 'sum') return { init: ty === 'f32' ? '0.0' : '0i', f: 'a + b' };
  const big = op === 'max' ? 'max' : 'min';
  const init =
    ty === 'f32'
      ? f32(op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)
      : i32(op === 'max' ? -2147483648 : 2147483647);
  // NaN wins, as on the CPU.
  const f = ty === 'f32' ? `select(select(${big}(a, b), b, is_nan(b)), a, is_nan(a))` : `${big}(a, b)`;
  return { init, f };
}

/** The tree reduction of `sh` over the workgroup, leaving the result in `sh[0]`. */
function treeCode(f: string): string {
  return `workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { let a = sh[lid.x]; let b = sh[lid.x + s]; sh[lid.x] = ${f}; }
    workgroupBarrier();
  }`;
}

for (const op of ['sum', 'max', 'min', 'logsumexp'] as const) {
  registerKernel<ReduceAttrs>({
    op,
    backend: 'webgpu',
    run: ([x], { axes, shape }) => {
      const ty = wgslType(x);
      if (ty === 'u32' || (op === 'logsumexp' && ty !== 'f32')) {
        throw new BackendError(
          op,
          'x',
          op === 'logsumexp' ? 'a float32 tensor' : 'float32 or int32',
          x.dtype,
        );
      }
      const { t, h } = output(op, x.dtype, shape);
      if (t.size === 0) return [t];
      const keptShape = x.shape.filter((_, d) => !axes.includes(d));
      const keptStrides = x.strides.filter((_, d) => !axes.includes(d));
      const redShape = axes.map((d) => x.shape[d]);
      const redStrides = axes.map((d) => x.strides[d]);
      const R = redShape.reduce((a, b) => a * b, 1);
      const { groups, index } = rowGrid(t.size);
      // An empty reduction (a zero-length reduced axis) leaves every output at the identity: the loops below
      // never run, and the offsets code (which divides by the reduced sizes) must not be generated.
      const redCode =
        R === 0
          ? 'fn red(q: u32) -> u32 { return q; }'
          : `fn red(q: u32) -> u32 {
  ${offsetsCode(redShape, [{ strides: redStrides, offset: 0 }], 'q')}
  return o0;
}`;
      const key = `${op}|${ty}|${x.shape}|${x.strides}|${x.offset}|${axes}|${groups}`;
      launch(
        op,
        key,
        () => {
          const base = `fn base(o: u32) -> u32 {
  ${offsetsCode(keptShape, [{ strides: keptStrides, offset: x.offset }], 'o')}
  return o0;
}
${redCode}`;
          const head = `${MATH_WGSL}
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${ty}>;
var<workgroup> sh: array<${ty}, ${RWG}>;
${base}
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = ${index};
  if (o >= ${t.size}u) { return; }
  let b0 = base(o);`;
          if (op !== 'logsumexp') {
            const { init, f } = combine(op, ty as Ty);
            return `${head}
  var acc = ${init};
  for (var q = lid.x; q < ${R}u; q += ${RWG}u) { let a = acc; let b = X[b0 + red(q)]; acc = ${f}; }
  sh[lid.x] = acc;
  ${treeCode(f)}
  if (lid.x == 0u) { Y[o] = sh[0]; }
}`;
          }
          const mx = combine('max', 'f32');
          return `${head}
  var m = ${mx.init};
  for (var q = lid.x; q < ${R}u; q += ${RWG}u) { let a = m; let b = X[b0 + red(q)]; m = ${mx.f}; }
  sh[lid.x] = m;
  ${treeCode(mx.f)}
  let mm = sh[0];
  workgroupBarrier();
  var s = 0.0;
  if (mm != ${f32(Number.NEGATIVE_INFINITY)}) {
    for (var q = lid.x; q < ${R}u; q += ${RWG}u) { s += exp(X[b0 + red(q)] - mm); }
  }
  sh[lid.x] = s;
  ${treeCode('a + b')}
  if (lid.x == 0u) { Y[o] = select(mm + log(sh[0]), mm, mm == ${f32(Number.NEGATIVE_INFINITY)}); }
}`;
        },
        [bufferOf(op, x), h.buffer],
        groups,
      );
      return [t];
    },
  });
}

for (const log of [false, true]) {
  const op = log ? 'logSoftmax' : 'softmax';
  registerKernel<SoftmaxAttrs>({
    op,
    backend: 'webgpu',
    run: ([x]: Tensor[], { axis }) => {
      if (x.dtype !== 'float32') throw new BackendError(op, 'x', 'a float32 tensor', x.dtype);
      const { t, h } = output(op, 'float32', x.shape);
      if (t.size === 0) return [t];
      const len = x.shape[axis];
      const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const rows = t.size / len;
      const { groups, index } = rowGrid(rows);
      const mx = combine('max', 'f32');
      const write = log ? 'd - log(s)' : 'exp(d) / s';
      launch(
        op,
        `${op}|${len}|${inner}|${rows}|${x.offset}|${groups}`,
        () => `${MATH_WGSL}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
var<workgroup> sh: array<f32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = ${index};
  if (row >= ${rows}u) { return; }
  let ob = (row / ${inner}u) * ${len * inner}u + row % ${inner}u;
  let xb = ob + ${x.offset}u;
  var m = ${mx.init};
  for (var j = lid.x; j < ${len}u; j += ${RWG}u) { let a = m; let b = X[xb + j * ${inner}u]; m = ${mx.f}; }
  sh[lid.x] = m;
  ${treeCode(mx.f)}
  let mm = sh[0];
  workgroupBarrier();
  var acc = 0.0;
  for (var j = lid.x; j < ${len}u; j += ${RWG}u) { acc += exp(X[xb + j * ${inner}u] - mm); }
  sh[lid.x] = acc;
  ${treeCode('a + b')}
  let s = sh[0];
  for (var j = lid.x; j < ${len}u; j += ${RWG}u) {
    let d = X[xb + j * ${inner}u] - mm;
    Y[ob + j * ${inner}u] = ${write};
  }
}`,
        [bufferOf(op, x), h.buffer],
        groups,
      );
      return [t];
    },
  });
}

// argmax / argmin along one axis: the first index of the extremum (NaN counts as the extremum, as on the CPU).
for (const op of ['argmax', 'argmin'] as const) {
  registerKernel<ReduceAttrs>({
    op,
    backend: 'webgpu',
    run: ([x], { axes, shape }) => {
      const ty = wgslType(x);
      if (ty === 'u32') throw new BackendError(op, 'x', 'a float32 or int32 tensor', x.dtype);
      const { t, h } = output(op, 'int32', shape);
      if (t.size === 0) return [t];
      const axis = axes[0];
      const len = x.shape[axis];
      const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const { groups, index } = rowGrid(t.size);
      const cmp = op === 'argmax' ? '>' : '<';
      const nan = ty === 'f32' ? 'is_nan' : 'never_nan';
      launch(
        op,
        `${op}|${ty}|${len}|${inner}|${t.size}|${x.offset}|${groups}`,
        () => `${MATH_WGSL}
fn never_nan(v: i32) -> bool { return false; }
// Whether (va, ia) comes before (vb, ib): a better value, or an equal one (both NaN included) at a lower index.
fn first(va: ${ty}, ia: u32, vb: ${ty}, ib: u32) -> bool {
  let na = ${nan}(va);
  let nb = ${nan}(vb);
  if (na != nb) { return na; }
  if (!na && va != vb) { return va ${cmp} vb; }
  return ia < ib;
}
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<i32>;
var<workgroup> sv: array<${ty}, ${RWG}>;
var<workgroup> si: array<u32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = ${index};
  if (o >= ${t.size}u) { return; }
  let xb = (o / ${inner}u) * ${len * inner}u + o % ${inner}u + ${x.offset}u;
  var bv = X[xb];
  var bi = 0u;
  for (var j = lid.x; j < ${len}u; j += ${RWG}u) {
    let v = X[xb + j * ${inner}u];
    if (first(v, j, bv, bi)) { bv = v; bi = j; }
  }
  sv[lid.x] = bv;
  si[lid.x] = bi;
  workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s && first(sv[lid.x + s], si[lid.x + s], sv[lid.x], si[lid.x])) {
      sv[lid.x] = sv[lid.x + s];
      si[lid.x] = si[lid.x + s];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { Y[o] = i32(si[0]); }
}`,
        [bufferOf(op, x), h.buffer],
        groups,
      );
      return [t];
    },
  });
}
