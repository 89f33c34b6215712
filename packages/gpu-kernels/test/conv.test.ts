import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory, setPoisonOutputs } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues } from './helpers.js';

type P = ReturnType<typeof pair>;

interface Case {
  x: number[];
  w: number[];
  opts: core.ConvOptions;
  bias?: boolean;
}

/** Odd sizes, borders (padding, stride that does not divide), dilation, groups, and depthwise with a multiplier. */
const CASES: Case[] = [
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1], opts: {} },
  { x: [2, 3, 7, 5], w: [4, 3, 3, 3], opts: { padding: 1 }, bias: true },
  { x: [1, 5, 9, 11], w: [6, 5, 3, 2], opts: { stride: [2, 3], padding: [1, 2] } },
  { x: [2, 4, 8, 7], w: [6, 2, 3, 3], opts: { groups: 2, dilation: 2, padding: 2 }, bias: true },
  { x: [1, 35, 6, 6], w: [33, 35, 1, 1], opts: {} },
  { x: [2, 3, 9, 8], w: [3, 1, 3, 3], opts: { groups: 3, padding: 1, stride: 2 }, bias: true },
  { x: [1, 4, 7, 7], w: [8, 1, 5, 3], opts: { groups: 4, padding: [2, 1], dilation: [1, 2] } },
  { x: [1, 2, 6, 6], w: [3, 2, 6, 6], opts: { padding: 'same' } },
];

function convPair(c: Case, seed: number) {
  const x = pair(c.x, seed);
  const w = pair(c.w, seed + 1);
  const b = c.bias ? pair([c.w[0]], seed + 2) : undefined;
  return { x, w, b };
}

describe.skipIf(!hasWebGPU)('convolution kernels on WebGPU match the CPU', () => {
  it('conv2d forward: implicit GEMM and depthwise, groups, stride, padding, dilation, bias', async () => {
    for (const [s, c] of CASES.entries()) {
      const { x, w, b } = convPair(c, 10 * s);
      await expectMatch(
        core.conv2d(x.gpu, w.gpu, b?.gpu, c.opts),
        core.conv2d(x.cpu, w.cpu, b?.cpu, c.opts),
        `conv2d x${c.x} w${c.w} ${JSON.stringify(c.opts)}`,
      );
    }
  });

  it('conv1d (height-1 images) and unbatched inputs', async () => {
    const x = pair([2, 3, 13], 1);
    const w = pair([5, 3, 4], 2);
    await expectMatch(
      core.conv1d(x.gpu, w.gpu, null, { stride: 2, padding: 1 }),
      core.conv1d(x.cpu, w.cpu, null, { stride: 2, padding: 1 }),
      'conv1d',
    );
    const u = pair([3, 6, 5], 3);
    const wu = pair([2, 3, 2, 2], 4);
    await expectMatch(core.conv2d(u.gpu, wu.gpu), core.conv2d(u.cpu, wu.cpu), 'unbatched conv2d');
  });

  it('input and weight gradients (conv2dInputGrad, conv2dWeightGrad) and the bias gradient', async () => {
    for (const [s, c] of CASES.entries()) {
      const { x, w, b } = convPair(c, 100 + 10 * s);
      const yShape = core.conv2d(x.cpu, w.cpu, null, c.opts).shape;
      const r = pair(yShape, 100 + 10 * s + 5);
      const f = (side: 'cpu' | 'gpu') => {
        const args: Tensor[] = [x[side], w[side], ...(b ? [b[side]] : [])];
        return core.valueAndGrad((xx, ww, bb) =>
          core.sum(core.mul(core.conv2d(xx, ww, bb, c.opts), r[side])),
        )(...args);
      };
      const [g, cpu] = [f('gpu'), f('cpu')];
      const what = `conv2d grads x${c.x} w${c.w} ${JSON.stringify(c.opts)}`;
      await expectMatch(g.value, cpu.value, `${what}: value`);
      for (let i = 0; i < g.grads.length; i++)
        await expectMatch(g.grads[i], cpu.grads[i], `${what}: grad ${i}`);
    }
  });

  it('convTranspose2d (the input-gradient op) with stride, padding and output padding', async () => {
    const x = pair([2, 4, 5, 4], 7);
    const w = pair([4, 3, 3, 3], 8);
    const opts: core.ConvTransposeOptions = { stride: 2, padding: 1, outputPadding: 1 };
    await expectMatch(
      core.convTranspose2d(x.gpu, w.gpu, null, opts),
      core.convTranspose2d(x.cpu, w.cpu, null, opts),
      'convTranspose2d',
    );
    const g = pair([2, 6, 5, 4], 9);
    const wg = pair([6, 1, 2, 3], 10);
    const og: core.ConvTransposeOptions = { stride: [1, 2], groups: 2, dilation: [2, 1] };
    await expectMatch(
      core.convTranspose2d(g.gpu, wg.gpu, null, og),
      core.convTranspose2d(g.cpu, wg.cpu, null, og),
      'convTranspose2d groups',
    );
  });

  it('reads inputs at an offset (slices of larger tensors), GEMM and depthwise paths', async () => {
    const x = pair([3, 4, 6, 5], 40);
    const w = pair([2, 6, 4, 3, 3], 41);
    const dw = pair([2, 4, 1, 3, 3], 42);
    const xs = (t: Tensor) => core.slice(t, [[1, 3]]);
    const ws = (t: Tensor) => core.squeeze(core.slice(t, [[1, 2]]), 0);
    await expectMatch(
      core.conv2d(xs(x.gpu), ws(w.gpu), null, { padding: 1 }),
      core.conv2d(xs(x.cpu), ws(w.cpu), null, { padding: 1 }),
      'conv2d of slices',
    );
    await expectMatch(
      core.conv2d(xs(x.gpu), ws(dw.gpu), null, { groups: 4, stride: 2 }),
      core.conv2d(xs(x.cpu), ws(dw.cpu), null, { groups: 4, stride: 2 }),
      'depthwise conv2d of slices',
    );
  });

  it('leaks no buffers (forward and backward)', async () => {
    const before = gpuMemory().liveBuffers;
    const x = core.tensor(randomValues([1, 4, 6, 5], 20), { shape: [1, 4, 6, 5], backend: 'webgpu' });
    const w = core.tensor(randomValues([4, 2, 3, 3], 21), { shape: [4, 2, 3, 3], backend: 'webgpu' });
    const dw = core.tensor(randomValues([4, 1, 3, 3], 22), { shape: [4, 1, 3, 3], backend: 'webgpu' });
    const y = core.conv2d(x, w, null, { groups: 2, padding: 1 });
    const d = core.conv2d(x, dw, null, { groups: 4 });
    await Promise.all([y.data(), d.data()]);
    const { value, grads } = core.valueAndGrad((a, b) =>
      core.sum(core.conv2d(a, b, null, { stride: 2, groups: 4 })),
    )(x, dw);
    await Promise.all(grads.map((t) => t.data()));
    for (const t of [y, d, value, ...grads, x, w, dw]) t.dispose();
    expect(gpuMemory().liveBuffers).toBe(before);
  });
});

/** Not a test of correctness: SwiftShader timings of the benchmark shapes (printed). */
describe.skipIf(!hasWebGPU)('convolution timing on this adapter', () => {
  it('conv2d [1,16,32,32] x [32,16,3,3], padding 1', async () => {
    const x: P = pair([1, 16, 32, 32], 30);
    const w: P = pair([32, 16, 3, 3], 31);
    const warm = core.conv2d(x.gpu, w.gpu, null, { padding: 1 });
    await expectMatch(warm, core.conv2d(x.cpu, w.cpu, null, { padding: 1 }), 'benchmark shape');
    warm.dispose();
    const reps = 5;
    // Timed without the test mode's NaN fill of every output (an upload per call).
    setPoisonOutputs(false);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) core.conv2d(x.gpu, w.gpu, null, { padding: 1 }).dispose();
    await core.getBackend('webgpu').sync?.();
    const conv = (performance.now() - t0) / reps;
    // For scale: the matmul of the same GEMM ([32, 144] x [144, 1024]) on the same adapter.
    const a = core.randomNormal([32, 144], { seed: 1, backend: 'webgpu' });
    const b = core.randomNormal([144, 1024], { seed: 2, backend: 'webgpu' });
    core.matmul(a, b).dispose();
    await core.getBackend('webgpu').sync?.();
    const t1 = performance.now();
    for (let i = 0; i < reps; i++) core.matmul(a, b).dispose();
    await core.getBackend('webgpu').sync?.();
    const mm = (performance.now() - t1) / reps;
    a.dispose();
    b.dispose();
    setPoisonOutputs(true);
    console.log(
      `conv2d [1,16,32,32]x[32,16,3,3]: ${conv.toFixed(2)} ms per call (matmul [32,144]x[144,1024]: ${mm.toFixed(2)} ms)`,
    );
  });
});
