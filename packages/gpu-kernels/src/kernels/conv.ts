import { BackendError, type Conv2dAttrs, registerKernel, type Tensor } from '@attnkit/core';
import { liveState } from '../runtime/device.js';
import { bufferOf, grid, launch, output, wgSize } from './common.js';
import { gemmMainLoop, gemmStore, gemmTilesWgsl, SMALL_TILE } from './gemm-tile.js';

/** Threads of the weight-gradient reduction (one workgroup per weight element). */
const RWG = 64;

function checkFloat(op: string, ts: (Tensor | undefined)[]): void {
  for (const t of ts) {
    if (t && t.dtype !== 'float32')
      throw new BackendError(op, 'inputs', 'float32 tensors on WebGPU', t.dtype);
  }
}

/** The geometry of a convolution as WGSL-ready numbers. */
function geometry(a: Conv2dAttrs) {
  const [n, c, h, w] = a.xShape;
  const [o, cg, kh, kw] = a.wShape;
  const [, , oh, ow] = a.yShape;
  return {
    n,
    c,
    h,
    w,
    o,
    cg,
    kh,
    kw,
    oh,
    ow,
    og: o / a.groups,
    sh: a.stride[0],
    sw: a.stride[1],
    ph: a.padding[0],
    pw: a.padding[1],
    dh: a.dilation[0],
    dw: a.dilation[1],
  };
}

/** Cache key of a geometry. */
const geoKey = (a: Conv2dAttrs) =>
  [a.xShape, a.wShape, a.yShape, a.stride, a.padding, a.dilation, a.groups].join('|');

/**
 * Forward convolution as an implicit GEMM per group: `Y[oc, p] = sum_k W[oc, k] * Xcol[k, p]` with
 * `k = (ci, i, j)` over the group's input channels and kernel taps and `p = (n, oh, ow)`; the `Xcol` tile is
 * gathered from `x` on the fly (zero outside the input), so no im2col buffer is made.
 */
function convGemm(x: Tensor, wt: Tensor, b: Tensor | undefined, a: Conv2dAttrs, yBuf: GPUBuffer): void {
  const g = geometry(a);
  const K = g.cg * g.kh * g.kw;
  const P = g.n * g.oh * g.ow;
  // The implicit-GEMM gather is irregular: the small tile keeps its per-thread work and registers low.
  const tile = SMALL_TILE;
  const gx = Math.ceil(P / tile.tn);
  const gy = Math.ceil(g.og / tile.tm);
  const max = liveState('conv2d').info.maxComputeWorkgroupsPerDimension;
  if (gx > max || gy > max || a.groups > max) {
    throw new BackendError('conv2d', 'shape', `at most ${max} workgroups per axis`, `${a.yShape}`);
  }
  const buffers = [bufferOf('conv2d', x), bufferOf('conv2d', wt)];
  if (b) buffers.push(bufferOf('conv2d', b));
  buffers.push(yBuf);
  const key = `conv2d|gemm|${geoKey(a)}|${x.offset}|${wt.offset}|${b ? b.offset : -1}`;
  launch(
    'conv2d',
    key,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${b ? '@group(0) @binding(2) var<storage, read> Bs: array<f32>;' : ''}
@group(0) @binding(${b ? 3 : 2}) var<storage, read_write> Y: array<f32>;
${gemmTilesWgsl(tile)}
fn loadW(grp: u32, oc: u32, k: u32) -> f32 {
  if (oc < ${g.og}u && k < ${K}u) { return Wt[${wt.offset}u + (grp * ${g.og}u + oc) * ${K}u + k]; }
  return 0.0;
}
fn loadX(grp: u32, k: u32, p: u32) -> f32 {
  if (k >= ${K}u || p >= ${P}u) { return 0.0; }
  let ci = k / ${g.kh * g.kw}u;
  let i = (k / ${g.kw}u) % ${g.kh}u;
  let j = k % ${g.kw}u;
  let ox = p % ${g.ow}u;
  let oy = (p / ${g.ow}u) % ${g.oh}u;
  let nb = p / ${g.oh * g.ow}u;
  let ih = i32(oy * ${g.sh}u + i * ${g.dh}u) - ${g.ph};
  let iw = i32(ox * ${g.sw}u + j * ${g.dw}u) - ${g.pw};
  if (ih < 0 || ih >= ${g.h} || iw < 0 || iw >= ${g.w}) { return 0.0; }
  let ch = grp * ${g.cg}u + ci;
  return X[${x.offset}u + ((nb * ${g.c}u + ch) * ${g.h}u + u32(ih)) * ${g.w}u + u32(iw)];
}
@compute @workgroup_size(${tile.wgx}, ${tile.wgy})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let grp = wid.z;
  let row0 = wid.y * ${tile.tm}u;
  let col0 = wid.x * ${tile.tn}u;
  ${gemmMainLoop(
    tile,
    K,
    (oc, k) => `loadW(grp, ${oc}, ${k})`,
    (k, p) => `loadX(grp, ${k}, ${p})`,
    { aAlongK: true },
  )}
  ${gemmStore(
    tile,
    (oc, p, v) => `if (${oc} < ${g.og}u && ${p} < ${P}u) {
        let gc = grp * ${g.og}u + ${oc};
        let ox = ${p} % ${g.ow}u;
        let oy = (${p} / ${g.ow}u) % ${g.oh}u;
        let nb = ${p} / ${g.oh * g.ow}u;
        Y[((nb * ${g.o}u + gc) * ${g.oh}u + oy) * ${g.ow}u + ox] = ${v}${b ? ` + Bs[${b.offset}u + gc]` : ''};
      }`,
  )}
}`,
    buffers,
    [gx, gy, a.groups],
  );
}

/**
 * Depthwise convolution (`groups == C`, one input channel per group): one thread per output element, looping
 * over the kernel taps that fall inside the input.
 */
function convDepthwise(x: Tensor, wt: Tensor, b: Tensor | undefined, a: Conv2dAttrs, yBuf: GPUBuffer): void {
  const g = geometry(a);
  const total = g.n * g.o * g.oh * g.ow;
  const wg = wgSize();
  const { groups, index } = grid(total, wg);
  const buffers = [bufferOf('conv2d', x), bufferOf('conv2d', wt)];
  if (b) buffers.push(bufferOf('conv2d', b));
  buffers.push(yBuf);
  launch(
    'conv2d',
    `conv2d|dw|${geoKey(a)}|${x.offset}|${wt.offset}|${b ? b.offset : -1}|${groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${b ? '@group(0) @binding(2) var<storage, read> Bs: array<f32>;' : ''}
@group(0) @binding(${b ? 3 : 2}) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${index};
  if (e >= ${total}u) { return; }
  let ox = e % ${g.ow}u;
  let oy = (e / ${g.ow}u) % ${g.oh}u;
  let oc = (e / ${g.oh * g.ow}u) % ${g.o}u;
  let nb = e / ${g.o * g.oh * g.ow}u;
  let ch = oc / ${g.og}u;
  let xb = ${x.offset}u + (nb * ${g.c}u + ch) * ${g.h * g.w}u;
  let wb = ${wt.offset}u + oc * ${g.kh * g.kw}u;
  var acc = 0.0;
  for (var i = 0u; i < ${g.kh}u; i++) {
    let ih = i32(oy * ${g.sh}u + i * ${g.dh}u) - ${g.ph};
    if (ih < 0 || ih >= ${g.h}) { continue; }
    for (var j = 0u; j < ${g.kw}u; j++) {
      let iw = i32(ox * ${g.sw}u + j * ${g.dw}u) - ${g.pw};
      if (iw < 0 || iw >= ${g.w}) { continue; }
      acc = fma(X[xb + u32(ih) * ${g.w}u + u32(iw)], Wt[wb + i * ${g.kw}u + j], acc);
    }
  }
  Y[e] = acc${b ? ` + Bs[${b.offset}u + oc]` : ''};
}`,
    buffers,
    groups,
  );
}

registerKernel<Conv2dAttrs>({
  op: 'conv2d',
  backend: 'webgpu',
  run: ([x, wt, b], a) => {
    checkFloat('conv2d', [x, wt, b]);
    const { t, h } = output('conv2d', 'float32', a.yShape);
    if (t.size === 0) return [t];
    const depthwise = a.groups === a.xShape[1] && a.wShape[1] === 1;
    if (depthwise) convDepthwise(x, wt, b, a, h.buffer);
    else convGemm(x, wt, b, a, h.buffer);
    return [t];
  },
});

// dx[n, c, ih, iw] = sum over the output channels of c's group and the kernel taps (i, j) whose output position
// (ih + ph - i * dh) / sh is a whole number inside the output, of dy * w: one thread per input element, so no
// atomics are needed.
registerKernel<Conv2dAttrs>({
  op: 'conv2dInputGrad',
  backend: 'webgpu',
  run: ([dy, wt], a) => {
    const op = 'conv2dInputGrad';
    checkFloat(op, [dy, wt]);
    const { t, h } = output(op, 'float32', a.xShape);
    if (t.size === 0) return [t];
    const g = geometry(a);
    const total = t.size;
    const wg = wgSize();
    const { groups, index } = grid(total, wg);
    launch(
      op,
      `${op}|${geoKey(a)}|${dy.offset}|${wt.offset}|${groups}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${index};
  if (e >= ${total}u) { return; }
  let iw = i32(e % ${g.w}u);
  let ih = i32((e / ${g.w}u) % ${g.h}u);
  let ch = (e / ${g.h * g.w}u) % ${g.c}u;
  let nb = e / ${g.c * g.h * g.w}u;
  let grp = ch / ${g.cg}u;
  let ci = ch % ${g.cg}u;
  var acc = 0.0;
  for (var i = 0; i < ${g.kh}; i++) {
    let th = ih + ${g.ph} - i * ${g.dh};
    if (th < 0 || th % ${g.sh} != 0 || th / ${g.sh} >= ${g.oh}) { continue; }
    let oy = u32(th / ${g.sh});
    for (var j = 0; j < ${g.kw}; j++) {
      let tw = iw + ${g.pw} - j * ${g.dw};
      if (tw < 0 || tw % ${g.sw} != 0 || tw / ${g.sw} >= ${g.ow}) { continue; }
      let ox = u32(tw / ${g.sw});
      for (var q = 0u; q < ${g.og}u; q++) {
        let oc = grp * ${g.og}u + q;
        let d = DY[${dy.offset}u + ((nb * ${g.o}u + oc) * ${g.oh}u + oy) * ${g.ow}u + ox];
        acc = fma(d, Wt[${wt.offset}u + ((oc * ${g.cg}u + ci) * ${g.kh}u + u32(i)) * ${g.kw}u + u32(j)], acc);
      }
    }
  }
  DX[e] = acc;
}`,
      [bufferOf(op, dy), bufferOf(op, wt), h.buffer],
      groups,
    );
    return [t];
  },
});

// dw[oc, ci, i, j] = sum over (n, oh, ow) of x[n, grp * cg + ci, ih, iw] * dy[n, oc, oh, ow]: one workgroup per
// weight element, its threads striding over the (n, oh, ow) positions, then a tree reduction.
registerKernel<Conv2dAttrs>({
  op: 'conv2dWeightGrad',
  backend: 'webgpu',
  run: ([x, dy], a) => {
    const op = 'conv2dWeightGrad';
    checkFloat(op, [x, dy]);
    const { t, h } = output(op, 'float32', a.wShape);
    if (t.size === 0) return [t];
    const g = geometry(a);
    const count = t.size;
    const P = g.n * g.oh * g.ow;
    const max = liveState(op).info.maxComputeWorkgroupsPerDimension;
    const gx = Math.max(1, Math.min(count, max));
    const gyy = Math.ceil(count / gx);
    launch(
      op,
      `${op}|${geoKey(a)}|${x.offset}|${dy.offset}|${gx}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> DW: array<f32>;
var<workgroup> sh: array<f32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = wid.y * ${gx}u + wid.x;
  if (e >= ${count}u) { return; }
  let j = e % ${g.kw}u;
  let i = (e / ${g.kw}u) % ${g.kh}u;
  let ci = (e / ${g.kh * g.kw}u) % ${g.cg}u;
  let oc = e / ${g.cg * g.kh * g.kw}u;
  let ch = (oc / ${g.og}u) * ${g.cg}u + ci;
  var acc = 0.0;
  for (var p = lid.x; p < ${P}u; p += ${RWG}u) {
    let ox = p % ${g.ow}u;
    let oy = (p / ${g.ow}u) % ${g.oh}u;
    let nb = p / ${g.oh * g.ow}u;
    let ih = i32(oy * ${g.sh}u + i * ${g.dh}u) - ${g.ph};
    let iw = i32(ox * ${g.sw}u + j * ${g.dw}u) - ${g.pw};
    if (ih < 0 || ih >= ${g.h} || iw < 0 || iw >= ${g.w}) { continue; }
    let xv = X[${x.offset}u + ((nb * ${g.c}u + ch) * ${g.h}u + u32(ih)) * ${g.w}u + u32(iw)];
    acc = fma(xv, DY[${dy.offset}u + ((nb * ${g.o}u + oc) * ${g.oh}u + oy) * ${g.ow}u + ox], acc);
  }
  sh[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { sh[lid.x] = sh[lid.x] + sh[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { DW[e] = sh[0]; }
}`,
      [bufferOf(op, x), bufferOf(op, dy), h.buffer],
      [gx, gyy],
    );
    return [t];
  },
});
