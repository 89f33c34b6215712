import { fallbackStats, narrow, runOp } from '@attnkit/core';
import { assertClose } from '@attnkit/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import '../../src/index.js';
import { neighborhoodForwardOp } from '../../src/ops/defs.js';
import {
  compareOp,
  describeProblem,
  disposeAll,
  gpuReady,
  inputsOf,
  int,
  FUSED_LIMITS as LIMITS,
  type Problem,
  randomProblem,
  rng,
} from './helpers.js';

describe.skipIf(!gpuReady)('fused forward WGSL kernel against the CPU', () => {
  beforeEach(() => fallbackStats.reset());

  for (const rank of [1, 2, 3]) {
    it(`agrees on random ${rank}-D problems (dilation, stride, causal per axis, GQA)`, async () => {
      const r = rng(200 + rank);
      for (let t = 0; t < 2; t++) {
        const p = randomProblem(r, rank, LIMITS[rank - 1]);
        const xs = inputsOf(r, p);
        const outs = await compareOp(neighborhoodForwardOp, xs, p.attrs, `forward ${describeProblem(p)}`);
        disposeAll(...xs, ...outs);
      }
      expect(fallbackStats.ops).toBe(0);
    });
  }

  it('agrees with the relative positional bias and with extra keys', async () => {
    const r = rng(300);
    for (let t = 0; t < 3; t++) {
      const rank = 1 + t;
      const p = randomProblem(r, rank, LIMITS[rank - 1], t < 2);
      p.attrs.hasRpb = t < 2;
      p.attrs.numExtra = t === 1 ? 0 : int(r, 1, 5);
      if (t === 2) p.attrs.numExtra = 130; // more extra keys than one staged chunk
      const xs = inputsOf(r, p);
      const outs = await compareOp(
        neighborhoodForwardOp,
        xs,
        p.attrs,
        `forward ${describeProblem(p)} rpb ${p.attrs.hasRpb} extra ${p.attrs.numExtra}`,
      );
      disposeAll(...xs, ...outs);
    }
    expect(fallbackStats.ops).toBe(0);
  });

  it('agrees on tiles that do not divide the grid and windows wider than a chunk', async () => {
    const r = rng(400);
    const cases: Problem[] = [
      // 1-D, a window longer than a staged chunk, tiles of 64 queries over 150 tokens
      {
        batch: 1,
        tokens: [150],
        heads: 2,
        kvHeads: 1,
        headDim: 6,
        valueDim: 6,
        attrs: {
          kernelSize: [140],
          dilation: [1],
          stride: [1],
          causal: [false],
          scale: 0.25,
          hasRpb: false,
          numExtra: 0,
        },
      },
      {
        batch: 1,
        tokens: [150],
        heads: 1,
        kvHeads: 1,
        headDim: 8,
        valueDim: 5,
        attrs: {
          kernelSize: [33],
          dilation: [4],
          stride: [5],
          causal: [true],
          scale: 0.25,
          hasRpb: false,
          numExtra: 0,
        },
      },
      // 2-D, last axis wider than 32
      {
        batch: 1,
        tokens: [5, 37],
        heads: 1,
        kvHeads: 1,
        headDim: 4,
        valueDim: 4,
        attrs: {
          kernelSize: [3, 7],
          dilation: [1, 2],
          stride: [1, 3],
          causal: [false, true],
          scale: 0.5,
          hasRpb: false,
          numExtra: 0,
        },
      },
    ];
    for (const p of cases) {
      const xs = inputsOf(r, p);
      const outs = await compareOp(neighborhoodForwardOp, xs, p.attrs, `forward ${describeProblem(p)}`);
      disposeAll(...xs, ...outs);
    }
    expect(fallbackStats.ops).toBe(0);
  });

  it('reads inputs that start at an offset in their buffer (contiguous views)', async () => {
    const r = rng(450);
    const p = randomProblem(r, 2, LIMITS[1]);
    p.batch = 3;
    const xs = inputsOf(r, p);
    // the last batch item of each input: contiguous, at a non-zero element offset
    const view = (t: Parameters<typeof narrow>[0]) => narrow(t, 0, 2, 1);
    const want = runOp(
      neighborhoodForwardOp,
      xs.map((x) => view(x.cpu)),
      p.attrs,
    );
    const gotIn = xs.map((x) => view(x.gpu));
    expect(gotIn[1].offset).toBeGreaterThan(0);
    const got = runOp(neighborhoodForwardOp, gotIn, p.attrs);
    for (let i = 0; i < 2; i++) await assertClose(got[i], want[i]);
    expect(fallbackStats.ops).toBe(0);
    disposeAll(...xs, ...want, ...got, ...gotIn);
  });

  it('declines head dims past 256 (registers): the call falls back to the CPU, counted, same result', async () => {
    const r = rng(460);
    const p = randomProblem(r, 1, { maxSize: 6, maxKernel: 3 });
    p.headDim = 257;
    p.heads = p.kvHeads;
    const xs = inputsOf(r, p);
    const outs = await compareOp(neighborhoodForwardOp, xs, p.attrs, `forward ${describeProblem(p)}`);
    expect(fallbackStats.names.has(neighborhoodForwardOp.name)).toBe(true);
    disposeAll(...xs, ...outs);
  });
});
