import { type DType, type Tensor, tensorFromHandle } from '@attnkit/core';
import { acquire, dispatch, type GpuHandle, pipeline } from '../backend/queue.js';
import { checkDType, handleOf, WGSL_TYPE, webgpuBackend } from '../backend/webgpu-backend.js';
import { liveState } from '../runtime/device.js';

/** @internal A WGSL f32 literal for any JS number (infinities and NaN need MATH_WGSL in the shader). */
export function f32(v: number): string {
  // WGSL constant expressions cannot be NaN or infinite: these read bit patterns from private variables
  // (declared in MATH_WGSL), which the compiler does not fold.
  if (Number.isNaN(v)) return 'bitcast<f32>(BITS_NAN)';
  if (v === Number.POSITIVE_INFINITY) return 'bitcast<f32>(BITS_INF)';
  if (v === Number.NEGATIVE_INFINITY) return 'bitcast<f32>(BITS_NEG_INF)';
  // Values outside f32's range round to infinity, as Math.fround does.
  const r = Math.fround(v);
  if (!Number.isFinite(r)) return f32(r);
  const s = r.toExponential(9);
  return `f32(${s})`;
}

/** @internal A WGSL i32 literal (the minimum needs the expression form). */
export function i32(v: number): string {
  return v === -2147483648 ? 'i32(-2147483647 - 1)' : `i32(${v})`;
}

/** @internal Threads per workgroup for 1-D kernels: 256, or the device's maximum when lower. */
export function wgSize(): number {
  const { info } = liveState('kernel');
  return Math.min(256, info.maxComputeInvocationsPerWorkgroup);
}

/**
 * @internal Workgroups for `count` threads (or work items) of `wg` each: a 1-D grid, folded into 2-D when it
 * exceeds the per-dimension limit. `index` is the WGSL expression of the flat work-item index.
 */
export function grid(count: number, wg: number): { groups: [number, number]; index: string } {
  const { info } = liveState('kernel');
  const total = Math.max(1, Math.ceil(count / wg));
  const max = info.maxComputeWorkgroupsPerDimension;
  const gx = Math.min(total, max);
  const gy = Math.ceil(total / gx);
  return { groups: [gx, gy], index: `((wid.y * ${gx}u + wid.x) * ${wg}u + lid.x)` };
}

/**
 * @internal WGSL that turns the flat row-major index `i` of `shape` into element offsets `o0, o1, ...` of
 * operands with the given strides (0 on broadcast axes) and base offsets.
 */
export function offsetsCode(
  shape: readonly number[],
  operands: readonly { strides: readonly number[]; offset: number }[],
  index = 'i',
): string {
  const lines = [`var r = ${index};`];
  operands.forEach((o, k) => {
    lines.push(`var o${k} = ${o.offset}u;`);
  });
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    lines.push(`{ let c = r % ${shape[d]}u; r = r / ${shape[d]}u;`);
    operands.forEach((o, k) => {
      if (o.strides[d] !== 0) lines.push(`  o${k} += c * ${o.strides[d]}u;`);
    });
    lines.push('}');
  }
  lines.push('_ = r;');
  return lines.join('\n    ');
}

/** @internal Row-major strides of `shape`. */
export function rowMajor(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** @internal Strides of `t` (contiguous, at its offset) seen from the broadcast `shape`: 0 on broadcast axes. */
export function broadcastStridesOf(t: Tensor, shape: readonly number[]): number[] {
  const lead = shape.length - t.rank;
  return shape.map((d, i) => {
    if (i < lead) return 0;
    const td = t.shape[i - lead];
    return td === 1 && d !== 1 ? 0 : t.strides[i - lead];
  });
}

/** @internal The WGSL type of a tensor's elements. */
export function wgslType(t: Tensor | DType): 'f32' | 'i32' | 'u32' {
  const dtype = typeof t === 'string' ? t : t.dtype;
  checkDType('kernel', dtype);
  return WGSL_TYPE[dtype];
}

/** @internal A new output tensor on WebGPU, backed by a pooled (poisoned in test mode) buffer. */
export function output(op: string, dtype: DType, shape: readonly number[]): { t: Tensor; h: GpuHandle } {
  checkDType(op, dtype);
  let size = 1;
  for (const d of shape) size *= d;
  const h = acquire(op, size * 4);
  return { t: tensorFromHandle(webgpuBackend, h, dtype, shape), h };
}

/** @internal The buffer of a WebGPU tensor, checked against the live device. */
export function bufferOf(op: string, t: Tensor): GPUBuffer {
  return handleOf(op, t.storage.handle).buffer;
}

/** @internal Compiles (once per key) and records a kernel. */
export function launch(
  op: string,
  key: string,
  code: () => string,
  buffers: readonly GPUBuffer[],
  groups: readonly [number, number?, number?],
): void {
  dispatch(op, pipeline(key, code), buffers, groups);
}

/** @internal WGSL helper functions shared by elementwise kernels (f32 math WGSL lacks or leaves undefined). */
export const MATH_WGSL = /* wgsl */ `
var<private> BITS_NAN: u32 = 0x7fc00000u;
var<private> BITS_INF: u32 = 0x7f800000u;
var<private> BITS_NEG_INF: u32 = 0xff800000u;
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn nan_f32() -> f32 { return bitcast<f32>(BITS_NAN); }
fn tanh_s(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); let t = (1.0 - e) / (1.0 + e); return select(t, -t, x < 0.0); }
fn sigmoid_s(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
fn log1p_s(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0) { return x; } return log(u) * x / (u - 1.0); }
fn expm1_s(x: f32) -> f32 {
  if (abs(x) < 1e-4) { return x + 0.5 * x * x + x * x * x / 6.0; }
  return exp(x) - 1.0;
}
// erf with |error| < 1.2e-7 (a rational approximation of erfc by a Chebyshev fit, as in Numerical Recipes).
fn erf_s(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = 1.0 - t * exp(p);
  return select(r, -r, x < 0.0);
}
fn pow_s(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  if (a == 0.0) { if (b > 0.0) { return 0.0; } return bitcast<f32>(BITS_INF); }
  let m = pow(abs(a), b);
  if (a > 0.0) { return m; }
  if (floor(b) != b) { return nan_f32(); }
  let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  return select(m, -m, odd);
}
`;

/**
 * @internal Records a kernel of one thread per element of a `total`-element output: `body` sees the flat index `e`
 * (after the bounds check), the input buffers bound in order and the output(s) after them.
 */
export function elementKernel(
  op: string,
  key: string,
  total: number,
  bindings: { name: string; ty: string; buf: GPUBuffer; write?: boolean }[],
  body: string,
  helpers = '',
): void {
  const wg = wgSize();
  const { groups, index } = grid(total, wg);
  const decls = bindings
    .map(
      (b, i) =>
        `@group(0) @binding(${i}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<${b.ty}>;`,
    )
    .join('\n');
  launch(
    op,
    `${op}|${key}|${groups}`,
    () => /* wgsl */ `${MATH_WGSL}
${decls}
${helpers}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${index};
  if (e >= ${total}u) { return; }
  ${body}
}`,
    bindings.map((b) => b.buf),
    groups,
  );
}
