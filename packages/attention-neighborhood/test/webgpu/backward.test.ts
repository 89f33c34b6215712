import { fallbackStats, runOp, type Tensor, tensor } from '@attnkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import '../../src/index.js';
import { neighborhoodBackwardOp, neighborhoodForwardOp } from '../../src/ops/defs.js';
import { setFusedTuning } from '../../src/webgpu/tiles.js';
import {
  compareOp,
  describeProblem,
  disposeAll,
  gpuReady,
  inputsOf,
  int,
  FUSED_LIMITS as LIMITS,
  type Pair,
  type Problem,
  pair,
  randomProblem,
  rng,
} from './helpers.js';

/** A WebGPU copy of a CPU tensor, as a pair. */
async function share(t: Tensor): Promise<Pair> {
  const v = Float32Array.from(await t.data());
  return { cpu: t, gpu: tensor(v, { shape: t.shape, backend: 'webgpu' }) };
}

/** Compares the fused backward on a problem: out and lse from the CPU forward, a random output gradient. */
async function checkBackward(r: () => number, p: Problem): Promise<void> {
  const xs = inputsOf(r, p);
  const [o, l] = runOp(
    neighborhoodForwardOp,
    xs.map((x) => x.cpu),
    p.attrs,
  );
  const out = await share(o);
  const lse = await share(l);
  const dOut = pair(r, o.shape as number[]);
  const grads = await compareOp(
    neighborhoodBackwardOp,
    [...xs.slice(0, 3), out, lse, dOut, ...xs.slice(3)],
    p.attrs,
    `backward ${describeProblem(p)} rpb ${p.attrs.hasRpb} extra ${p.attrs.numExtra}`,
  );
  disposeAll(...xs, out, lse, dOut, ...grads);
}

describe.skipIf(!gpuReady)('fused backward WGSL kernels against the CPU', () => {
  beforeEach(() => fallbackStats.reset());

  for (const rank of [1, 2, 3]) {
    it(`agrees on random ${rank}-D problems (dilation, stride, causal per axis, GQA)`, async () => {
      const r = rng(500 + rank);
      for (let t = 0; t < (rank === 1 ? 2 : 1); t++)
        await checkBackward(r, randomProblem(r, rank, LIMITS[rank - 1]));
      expect(fallbackStats.ops).toBe(0);
    });
  }

  it('agrees with the relative positional bias and with extra keys', async () => {
    const r = rng(600);
    for (let t = 0; t < 2; t++) {
      const rank = 2 - t;
      const p = randomProblem(r, rank, LIMITS[rank - 1], t === 0);
      p.attrs.hasRpb = t === 0;
      p.attrs.numExtra = int(r, 1, 4);
      await checkBackward(r, p);
    }
    expect(fallbackStats.ops).toBe(0);
  });

  it('agrees under the other tunings the GPU benchmark sweeps (threads per workgroup, rows per chunk)', async () => {
    const r = rng(700);
    try {
      for (const [threads, maxChunk, rank] of [
        [128, 16, 2],
        [32, 8, 3],
      ]) {
        setFusedTuning({ threads, maxChunk });
        const p = randomProblem(r, rank, LIMITS[rank - 1]);
        const xs = inputsOf(r, p);
        const outs = await compareOp(
          neighborhoodForwardOp,
          xs,
          p.attrs,
          `forward ${describeProblem(p)} tuning ${threads}/${maxChunk}`,
        );
        disposeAll(...xs, ...outs);
        await checkBackward(r, p);
      }
    } finally {
      setFusedTuning();
    }
    expect(fallbackStats.ops).toBe(0);
  });
});
