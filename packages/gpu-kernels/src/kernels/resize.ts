import {
  BackendError,
  type ResizeBilinearAttrs,
  type ResizeNearestAttrs,
  registerKernel,
  type Tensor,
} from '@attnkit/core';
import { bufferOf, f32, grid, launch, output, wgSize } from './common.js';

// The resize kernels (imported by indexing.ts) and their gradients. Both resizes are separable: along each of
// H and W an output index reads a few input indices with weights. The host computes those per-axis taps with
// the CPU's formulas, and a shader gets them as tables (CSR: T{ax}[o] .. T{ax}[o + 1] index the taps' input
// indices I{ax} and weights W{ax}). A resize and its gradient are then the same kernel on transposed tables:
// one thread per element of the result, summing its weighted terms, with no atomics (deterministic).

/** One axis's taps: for every index of the result, the (index in the source, weight) pairs it sums. */
type Taps = [number, number][][];

/** Bilinear taps of one axis of the resize (torch's formula, as the CPU kernel). */
function linearTaps(inSize: number, outSize: number, ratio: number, alignCorners: boolean): Taps {
  return Array.from({ length: outSize }, (_, o) => {
    if (inSize === outSize) return [[o, 1]];
    const src = alignCorners ? ratio * o : Math.max(ratio * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    return [
      [i0, 1 - l1],
      [i0 < inSize - 1 ? i0 + 1 : i0, l1],
    ];
  });
}

/** Nearest taps of one axis (torch's legacy rule in float32 arithmetic, as the CPU kernel). */
function nearestTaps(inSize: number, outSize: number, scale: number): Taps {
  return Array.from({ length: outSize }, (_, o) => {
    if (outSize === inSize) return [[o, 1]];
    if (outSize === 2 * inSize) return [[o >> 1, 1]];
    return [[Math.min(Math.floor(Math.fround(o * scale)), inSize - 1), 1]];
  });
}

/** The taps of the gradient: for every source index, the (result index, weight) pairs that read it. */
function transpose(taps: Taps, inSize: number): Taps {
  const out: Taps = Array.from({ length: inSize }, () => []);
  taps.forEach((list, o) => {
    for (const [i, w] of list) out[i].push([o, w]);
  });
  return out;
}

/** WGSL private tables of one axis's taps. */
function tapTables(ax: number, taps: Taps): string {
  const starts = [0];
  for (const l of taps) starts.push(starts[starts.length - 1] + l.length);
  const flat = taps.flat();
  const idx = flat.length ? flat.map(([i]) => `${i}u`) : ['0u'];
  const wts = flat.length ? flat.map(([, w]) => f32(w)) : [f32(0)];
  return [
    `var<private> T${ax}: array<u32, ${starts.length}> = array<u32, ${starts.length}>(${starts.map((s) => `${s}u`).join(', ')});`,
    `var<private> I${ax}: array<u32, ${idx.length}> = array<u32, ${idx.length}>(${idx.join(', ')});`,
    `var<private> W${ax}: array<f32, ${wts.length}> = array<f32, ${wts.length}>(${wts.join(', ')});`,
  ].join('\n');
}

/**
 * Records `y[b, i, j] = sum over taps (r, wr) of rows[i] and (c, wc) of cols[j] of wr * wc * x[b, r, c]` for
 * x of shape `[B, H, W]` (the batch and channel axes flattened) and y of `[B, OH, OW]`.
 */
function separable(op: string, x: Tensor, hw: [number, number], outShape: number[], rows: Taps, cols: Taps) {
  if (x.dtype !== 'float32') throw new BackendError(op, 'x', 'a float32 tensor', x.dtype);
  const { t, h } = output(op, 'float32', outShape);
  if (t.size === 0) return t;
  const [H, W] = hw;
  const oh = rows.length;
  const ow = cols.length;
  const wg = wgSize();
  const { groups, index } = grid(t.size, wg);
  launch(
    op,
    `${op}|${JSON.stringify([rows, cols])}|${H}|${W}|${t.size}|${x.offset}|${wg}|${groups}`,
    () => /* wgsl */ `
${tapTables(0, rows)}
${tapTables(1, cols)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${index};
  if (e >= ${t.size}u) { return; }
  let j = e % ${ow}u;
  let i = (e / ${ow}u) % ${oh}u;
  let base = (e / ${oh * ow}u) * ${H * W}u + ${x.offset}u;
  var acc = 0.0;
  for (var p = T0[i]; p < T0[i + 1u]; p++) {
    var row = 0.0;
    for (var q = T1[j]; q < T1[j + 1u]; q++) { row += W1[q] * X[base + I0[p] * ${W}u + I1[q]]; }
    acc += W0[p] * row;
  }
  Y[e] = acc;
}`,
    [bufferOf(op, x), h.buffer],
    groups,
  );
  return t;
}

registerKernel<ResizeBilinearAttrs>({
  op: 'resizeBilinear',
  backend: 'webgpu',
  run: ([x], a) => {
    const [, , h, w] = a.xShape;
    const [, , oh, ow] = a.yShape;
    const rows = linearTaps(h, oh, a.ratio[0], a.alignCorners);
    const cols = linearTaps(w, ow, a.ratio[1], a.alignCorners);
    return [separable('resizeBilinear', x, [h, w], a.yShape, rows, cols)];
  },
});

registerKernel<ResizeBilinearAttrs>({
  op: 'resizeBilinearGrad',
  backend: 'webgpu',
  run: ([g], a) => {
    const [, , h, w] = a.xShape;
    const [, , oh, ow] = a.yShape;
    const rows = transpose(linearTaps(h, oh, a.ratio[0], a.alignCorners), h);
    const cols = transpose(linearTaps(w, ow, a.ratio[1], a.alignCorners), w);
    return [separable('resizeBilinearGrad', g, [oh, ow], a.xShape, rows, cols)];
  },
});

registerKernel<ResizeNearestAttrs>({
  op: 'resizeNearest',
  backend: 'webgpu',
  run: ([x], a) => {
    const [, , h, w] = a.xShape;
    const [, , oh, ow] = a.yShape;
    const rows = nearestTaps(h, oh, a.scale[0]);
    const cols = nearestTaps(w, ow, a.scale[1]);
    return [separable('resizeNearest', x, [h, w], a.yShape, rows, cols)];
  },
});

registerKernel<ResizeNearestAttrs>({
  op: 'resizeNearestGrad',
  backend: 'webgpu',
  run: ([g], a) => {
    const [, , h, w] = a.xShape;
    const [, , oh, ow] = a.yShape;
    const rows = transpose(nearestTaps(h, oh, a.scale[0]), h);
    const cols = transpose(nearestTaps(w, ow, a.scale[1]), w);
    return [separable('resizeNearestGrad', g, [oh, ow], a.xShape, rows, cols)];
  },
});
