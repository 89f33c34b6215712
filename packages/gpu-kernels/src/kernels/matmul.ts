import { BackendError, type MatmulAttrs, registerKernel } from '@attnkit/core';
import { liveState } from '../runtime/device.js';
import { bufferOf, launch, offsetsCode, output } from './common.js';
import { gemmMainLoop, gemmStore, gemmTileFor, gemmTilesWgsl, tileKey } from './gemm-tile.js';

/** Element strides of an input's batch axes seen from the broadcast batch shape (0 where it broadcasts). */
function batchStrides(
  shape: readonly number[],
  strides: readonly number[],
  batch: readonly number[],
): number[] {
  const own = shape.slice(0, -2);
  const lead = batch.length - own.length;
  return batch.map((d, i) => (i < lead || (own[i - lead] === 1 && d !== 1) ? 0 : strides[i - lead]));
}

// Tiled in workgroup memory (tm x tk of A and tk x tn of B per step), register-blocked (several outputs per
// thread; the tile size grows with the problem, see gemmTileFor), reading A and B in whichever layout they are
// stored (transA / transB), so transposed views of packed tensors need no copy; the staging order follows the
// layout so global reads coalesce. Edges are zero-padded in the tiles, so any m, n, k work.
registerKernel<MatmulAttrs>({
  op: 'matmul',
  backend: 'webgpu',
  run: ([a, b], { transA, transB, m, n, k, shape }) => {
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new BackendError('matmul', 'a', 'float32 operands on WebGPU', `${a.dtype}, ${b.dtype}`);
    }
    const { t, h } = output('matmul', 'float32', shape);
    if (t.size === 0) return [t];
    const batch = shape.slice(0, -2);
    const count = batch.reduce((x, y) => x * y, 1);
    const { info } = liveState('matmul');
    const max = info.maxComputeWorkgroupsPerDimension;
    const tile = gemmTileFor(m, n, count, info.maxComputeInvocationsPerWorkgroup);
    const gx = Math.ceil(n / tile.tn);
    const gy = Math.ceil(m / tile.tm);
    if (count > max || gx > max || gy > max) {
      throw new BackendError(
        'matmul',
        'shape',
        `at most ${max} batches and ${max * tile.tm} rows or columns`,
        `[${shape}]`,
      );
    }
    const aOps = { strides: batchStrides(a.shape, a.strides, batch), offset: a.offset };
    const bOps = { strides: batchStrides(b.shape, b.strides, batch), offset: b.offset };
    // A[i, p] and B[p, j] inside one batch matrix, for either storage layout.
    const aIdx = transA ? `p * ${m}u + i` : `i * ${k}u + p`;
    const bIdx = transB ? `j * ${k}u + p` : `p * ${n}u + j`;
    const key = `matmul|${tileKey(tile)}|${transA}|${transB}|${m}|${n}|${k}|${batch}|${JSON.stringify([aOps, bOps])}`;
    launch(
      'matmul',
      key,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${gemmTilesWgsl(tile)}
fn loadA(base: u32, i: u32, p: u32) -> f32 {
  if (i < ${m}u && p < ${k}u) { return A[base + ${aIdx}]; }
  return 0.0;
}
fn loadB(base: u32, p: u32, j: u32) -> f32 {
  if (p < ${k}u && j < ${n}u) { return B[base + ${bIdx}]; }
  return 0.0;
}
@compute @workgroup_size(${tile.wgx}, ${tile.wgy})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let z = wid.z;
  ${offsetsCode(batch, [aOps, bOps], 'z')}
  let aBase = o0;
  let bBase = o1;
  let row0 = wid.y * ${tile.tm}u;
  let col0 = wid.x * ${tile.tn}u;
  ${gemmMainLoop(
    tile,
    k,
    (i, p) => `loadA(aBase, ${i}, ${p})`,
    (p, j) => `loadB(bBase, ${p}, ${j})`,
    { aAlongK: !transA, bAlongK: transB },
  )}
  let cBase = z * ${m * n}u;
  ${gemmStore(tile, (i, j, v) => `if (${i} < ${m}u && ${j} < ${n}u) { C[cBase + ${i} * ${n}u + ${j}] = ${v}; }`)}
}`,
      [bufferOf('matmul', a), bufferOf('matmul', b), h.buffer],
      [gx, gy, count],
    );
    return [t];
  },
});
