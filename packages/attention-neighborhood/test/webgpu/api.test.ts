// The public functions on WebGPU: values and gradients (through the fused backward and through the unfused
// ops' vjps) against the same calls on the CPU, and no buffers left behind by repeated calls.
import { fallbackStats, grad, mul, sum, type Tensor } from '@attnkit/core';
import { assertClose } from '@attnkit/core/testing';
import { gpuMemory } from '@attnkit/gpu-kernels';
import { beforeEach, describe, expect, it } from 'vitest';
import { neighborhoodAttention } from '../../src/index.js';
import { disposeAll, gpuReady, type Pair, pair, rng } from './helpers.js';

const NA_OPS = /^neighborhood\./;

/** A loss whose gradient weighs every output element differently (so that mistakes do not cancel). */
function lossOf(weights: Tensor, opts: Parameters<typeof neighborhoodAttention>[3]) {
  return (q: Tensor, k: Tensor, v: Tensor) =>
    sum(mul(neighborhoodAttention(q, k, v, opts) as Tensor, weights));
}

describe.skipIf(!gpuReady)('neighborhoodAttention on WebGPU', () => {
  beforeEach(() => fallbackStats.reset());

  for (const kernel of ['fused', 'unfused'] as const) {
    it(`${kernel}: output and gradients match the CPU (2-D, GQA, dilation, stride, causal)`, async () => {
      const r = rng(kernel === 'fused' ? 11 : 12);
      const shape = [1, 6, 7];
      const qkv: Pair[] = [pair(r, [...shape, 4, 8]), pair(r, [...shape, 2, 8]), pair(r, [...shape, 2, 8])];
      const w = pair(r, [...shape, 4, 8]);
      const opts = { kernelSize: [3, 4], dilation: [2, 1], stride: [1, 2], isCausal: [false, true], kernel };
      const want = grad(lossOf(w.cpu, opts))(...qkv.map((p) => p.cpu));
      const got = grad(lossOf(w.gpu, opts))(...qkv.map((p) => p.gpu));
      for (let i = 0; i < 3; i++) await assertClose(got[i], want[i]);
      const out = neighborhoodAttention(qkv[0].gpu, qkv[1].gpu, qkv[2].gpu, opts) as Tensor;
      const ref = neighborhoodAttention(qkv[0].cpu, qkv[1].cpu, qkv[2].cpu, opts) as Tensor;
      await assertClose(out, ref);
      expect([...fallbackStats.names].filter((n) => NA_OPS.test(n))).toEqual([]);
      disposeAll(...qkv, w, ...want, ...got, out, ref);
    });
  }

  it('returnLse: the lse and its gradient match the CPU (1-D, extra keys)', async () => {
    const r = rng(13);
    const qkv: Pair[] = [pair(r, [2, 9, 2, 4]), pair(r, [2, 9, 1, 4]), pair(r, [2, 9, 1, 3])];
    const extra: Pair[] = [pair(r, [2, 3, 1, 4]), pair(r, [2, 3, 1, 3])];
    const wl = pair(r, [2, 9, 2]);
    const f = (wt: Tensor, ek: Tensor, ev: Tensor) => (q: Tensor, k: Tensor, v: Tensor) => {
      const { out, lse } = neighborhoodAttention(q, k, v, {
        kernelSize: 4,
        returnLse: true,
        additionalKeys: ek,
        additionalValues: ev,
      });
      return sum(out).add(sum(mul(lse, wt)));
    };
    const want = grad(f(wl.cpu, extra[0].cpu, extra[1].cpu))(...qkv.map((p) => p.cpu));
    const got = grad(f(wl.gpu, extra[0].gpu, extra[1].gpu))(...qkv.map((p) => p.gpu));
    for (let i = 0; i < 3; i++) await assertClose(got[i], want[i]);
    expect([...fallbackStats.names].filter((n) => NA_OPS.test(n))).toEqual([]);
    disposeAll(...qkv, ...extra, wl, ...want, ...got);
  });

  it('repeated forward and backward calls leave no live buffers behind', async () => {
    // the shapes and options of the fused test above, so its pipelines are reused
    const r = rng(14);
    const shape = [1, 6, 7];
    const qkv: Pair[] = [pair(r, [...shape, 4, 8]), pair(r, [...shape, 2, 8]), pair(r, [...shape, 2, 8])];
    const w = pair(r, [...shape, 4, 8]);
    const opts = { kernelSize: [3, 4], dilation: [2, 1], stride: [1, 2], isCausal: [false, true] };
    const step = async () => {
      const gs = grad(lossOf(w.gpu, opts))(...qkv.map((p) => p.gpu));
      await gs[0].data();
      disposeAll(...gs);
    };
    await step();
    const before = gpuMemory().liveBuffers;
    for (let i = 0; i < 3; i++) await step();
    expect(gpuMemory().liveBuffers).toBe(before);
    disposeAll(...qkv, w);
  });
});
