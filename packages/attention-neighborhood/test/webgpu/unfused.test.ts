import { fallbackStats } from '@attnkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import '../../src/index.js';
import { neighborhoodAvOp, neighborhoodQkOp, neighborhoodScatterOp } from '../../src/ops/defs.js';
import {
  compareOp,
  describeProblem,
  disposeAll,
  gpuReady,
  type Problem,
  pair,
  randomProblem,
  rng,
} from './helpers.js';

const LIMITS = [
  { maxSize: 20, maxKernel: 9 },
  { maxSize: 8, maxKernel: 5 },
  { maxSize: 5, maxKernel: 4 },
];

function shapes(p: Problem) {
  const tok = [p.batch, ...p.tokens];
  const slots = p.attrs.kernelSize.reduce((x, y) => x * y, 1);
  return {
    q: [...tok, p.heads, p.headDim],
    k: [...tok, p.kvHeads, p.headDim],
    v: [...tok, p.kvHeads, p.valueDim],
    w: [...tok, p.heads, slots],
    x: [...tok, p.heads, p.valueDim],
    rpb: [p.heads, ...p.attrs.kernelSize.map((k) => 2 * k - 1)],
  };
}

describe.skipIf(!gpuReady)('unfused WGSL kernels against the CPU', () => {
  beforeEach(() => fallbackStats.reset());

  for (const rank of [1, 2, 3]) {
    it(`qk, av and scatter agree on random ${rank}-D problems`, async () => {
      const r = rng(100 + rank);
      for (let t = 0; t < 6; t++) {
        const p = randomProblem(r, rank, LIMITS[rank - 1]);
        const s = shapes(p);
        const name = describeProblem(p);
        const q = pair(r, s.q);
        const k = pair(r, s.k);
        const v = pair(r, s.v);
        const w = pair(r, s.w);
        const x = pair(r, s.x);
        const outs = [
          ...(await compareOp(neighborhoodQkOp, [q, k], p.attrs, `qk ${name}`)),
          ...(await compareOp(neighborhoodAvOp, [w, v], p.attrs, `av ${name}`)),
          ...(await compareOp(
            neighborhoodScatterOp,
            [w, x],
            { ...p.attrs, kvHeads: p.kvHeads },
            `scatter ${name}`,
          )),
        ];
        disposeAll(q, k, v, w, x, ...outs);
      }
      expect(fallbackStats.ops).toBe(0);
    });
  }

  it('qk adds the relative positional bias', async () => {
    const r = rng(7);
    for (const rank of [1, 2, 3]) {
      const p = randomProblem(r, rank, LIMITS[rank - 1], true);
      const s = shapes(p);
      const q = pair(r, s.q);
      const k = pair(r, s.k);
      const rpb = pair(r, s.rpb);
      const [out] = await compareOp(
        neighborhoodQkOp,
        [q, k, rpb],
        { ...p.attrs, hasRpb: true },
        `qk+rpb ${describeProblem(p)}`,
      );
      disposeAll(q, k, rpb, out);
    }
    expect(fallbackStats.ops).toBe(0);
  });
});
