import {
  BackendError,
  type GroupNormAttrs,
  type LayerNormAttrs,
  type RmsNormAttrs,
  registerKernel,
  type Tensor,
} from '@attnkit/core';
import { liveState } from '../runtime/device.js';
import { bufferOf, f32, launch, output } from './common.js';

/**
 * Threads per workgroup: one workgroup normalises one row (or one group of one sample). 32 (a warp on most
 * GPUs) rather than 64: on SwiftShader a [256, 384] layerNorm took 35-45 ms with 64 threads, 12-21 ms with 32.
 */
const NWG = 32;

/** Workgroups for `count` rows of one workgroup each, folded into 2-D past the per-dimension limit. */
function rowGrid(count: number): { groups: [number, number]; index: string } {
  const max = liveState('kernel').info.maxComputeWorkgroupsPerDimension;
  const gx = Math.max(1, Math.min(count, max));
  return { groups: [gx, Math.max(1, Math.ceil(count / gx))], index: `(wid.y * ${gx}u + wid.x)` };
}

/** What one normalisation launch needs: rows of `len` contiguous elements, and how parameters are indexed. */
interface NormSpec {
  op: string;
  x: Tensor;
  weight: Tensor | null;
  bias: Tensor | null;
  rows: number;
  len: number;
  eps: number;
  /** Subtract the mean (layer and group norm) or not (RMS norm). */
  center: boolean;
  /** WGSL expression of the parameter index of element `j` of row `row`. */
  paramIndex: string;
}

/**
 * The workgroup sum of `v` (every thread's contribution) into `name`: each thread adds up all partial sums in
 * the same order, which needs two barriers instead of a tree's one per level (barriers dominate on CPU drivers
 * such as SwiftShader, and the rows are short).
 */
function wgSum(v: string, name: string): string {
  return `sh[lid.x] = ${v};
  workgroupBarrier();
  var ${name} = 0.0;
  for (var s = 0u; s < ${NWG}u; s++) { ${name} += sh[s]; }
  workgroupBarrier();`;
}

// Two passes in f32 over each row held by one workgroup: the mean, then the mean of squared deviations (the
// biased variance), as the CPU oracle computes them in float64; then the normalised, scaled and shifted output.
function launchNorm(s: NormSpec): Tensor {
  const { op, x, weight, bias, rows, len, eps, center } = s;
  for (const [arg, t] of [
    ['x', x],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new BackendError(op, arg, 'a float32 tensor on WebGPU', t.dtype);
  }
  const { t, h } = output(op, 'float32', x.shape);
  if (t.size === 0) return t;
  const { groups, index } = rowGrid(rows);
  const buffers = [bufferOf(op, x)];
  const decls: string[] = [];
  let y = '(X[xb + j] - mu) * rstd';
  if (weight) {
    decls.push(`@group(0) @binding(${buffers.length}) var<storage, read> Wt: array<f32>;`);
    buffers.push(bufferOf(op, weight));
    y = `${y} * Wt[${weight.offset}u + pi]`;
  }
  if (bias) {
    decls.push(`@group(0) @binding(${buffers.length}) var<storage, read> Bs: array<f32>;`);
    buffers.push(bufferOf(op, bias));
    y = `${y} + Bs[${bias.offset}u + pi]`;
  }
  decls.push(`@group(0) @binding(${buffers.length}) var<storage, read_write> Y: array<f32>;`);
  buffers.push(h.buffer);
  const key = [op, rows, len, eps, center, x.offset, weight?.offset, bias?.offset, s.paramIndex, groups].join(
    '|',
  );
  launch(
    op,
    key,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
${decls.join('\n')}
var<workgroup> sh: array<f32, ${NWG}>;
@compute @workgroup_size(${NWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = ${index};
  if (row >= ${rows}u) { return; }
  let ob = row * ${len}u;
  let xb = ob + ${x.offset}u;
  var mu = 0.0;
  ${
    center
      ? `var acc = 0.0;
  for (var j = lid.x; j < ${len}u; j += ${NWG}u) { acc += X[xb + j]; }
  ${wgSum('acc', 'total')}
  mu = total / ${f32(len)};`
      : ''
  }
  var sq = 0.0;
  for (var j = lid.x; j < ${len}u; j += ${NWG}u) { let d = X[xb + j] - mu; sq += d * d; }
  ${wgSum('sq', 'ss')}
  let rstd = 1.0 / sqrt(ss / ${f32(len)} + ${f32(eps)});
  for (var j = lid.x; j < ${len}u; j += ${NWG}u) {
    let pi = ${s.paramIndex};
    _ = pi;
    Y[ob + j] = ${y};
  }
}`,
    buffers,
    groups,
  );
  return t;
}

for (const op of ['layerNorm', 'rmsNorm'] as const) {
  registerKernel<LayerNormAttrs | RmsNormAttrs>({
    op,
    backend: 'webgpu',
    run: ([x, ...rest], attrs) => {
      const { size, hasWeight, eps } = attrs;
      const hasBias = 'hasBias' in attrs && attrs.hasBias;
      const weight = hasWeight ? rest[0] : null;
      const bias = hasBias ? rest[hasWeight ? 1 : 0] : null;
      const rows = size === 0 ? 0 : x.size / size;
      const center = op === 'layerNorm';
      return [launchNorm({ op, x, weight, bias, rows, len: size, eps, center, paramIndex: 'j' })];
    },
  });
}

registerKernel<GroupNormAttrs>({
  op: 'groupNorm',
  backend: 'webgpu',
  run: ([x, ...rest], { groups, hasWeight, hasBias, eps }) => {
    const [n, c] = x.shape;
    const spatial = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const perChannel = c / groups;
    // In [N, C, S] order, group g of sample i is one contiguous row of (C / groups) * S elements.
    const paramIndex = `(row % ${groups}u) * ${perChannel}u + j / ${Math.max(spatial, 1)}u`;
    return [
      launchNorm({
        op: 'groupNorm',
        x,
        weight: hasWeight ? rest[0] : null,
        bias: hasBias ? rest[hasWeight ? 1 : 0] : null,
        rows: n * groups,
        len: perChannel * spatial,
        eps,
        center: true,
        paramIndex,
      }),
    ];
  },
});
