import { mul, sum, type Tensor, valueAndGrad } from '@attnkit/core';
import { assertClose, backendsUnderTest } from '@attnkit/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../../src/webgpu/index.js';
import { blockSparseAttention, layoutFromBlockLists } from '../../src/engine/index.js';
import { type Case, denseReference, randomLists, randomMask, randomQkv } from './helpers.js';

// Random shapes, block sizes, patterns and options (fast-check): the engine's output, lse and gradients against
// dense masked attention (core's sdpa in float64 with the pattern's mask built independently). Every size may
// be 1 or not divide by its block; few runs on WebGPU, where each new shape compiles new pipelines.

const arbCase = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }),
    nq: fc.integer({ min: 1, max: 11 }),
    nk: fc.integer({ min: 1, max: 11 }),
    kvHeads: fc.integer({ min: 1, max: 2 }),
    group: fc.integer({ min: 1, max: 2 }),
    headDim: fc.integer({ min: 1, max: 5 }),
    valueDim: fc.integer({ min: 1, max: 4 }),
    blockQ: fc.integer({ min: 1, max: 6 }),
    blockK: fc.integer({ min: 1, max: 6 }),
    perBatch: fc.boolean(),
    perHead: fc.boolean(),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    causal: fc.boolean(),
    masked: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1000 }),
  })
  .map((r) => ({ ...r, heads: r.kvHeads * r.group }));

describe.each(backendsUnderTest())('%s', (backend) => {
  it('matches dense masked attention on random cases, values and gradients', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async (r) => {
        const c: Case = r;
        const lists = randomLists(c, r.perBatch ? r.batch : 1, r.perHead ? r.heads : 1, r.seed, r.density);
        const layout = layoutFromBlockLists(lists, c);
        const extra = r.masked ? randomMask([r.batch, 1, r.nq, r.nk], r.seed + 1) : undefined;
        const f64 = randomQkv(c, 'cpu', r.seed + 2, 'float64');
        const w = randomQkv({ ...c, nk: c.nq, kvHeads: c.heads }, 'cpu', r.seed + 3, 'float64').v;
        const ref = denseReference(c, f64, lists, { causal: r.causal, extra });
        const opts = { causal: r.causal, mask: extra };
        const loss = (wt: Tensor) => (q: Tensor, k: Tensor, v: Tensor) =>
          sum(mul(blockSparseAttention(q, k, v, layout, opts).out, wt));
        const f32 = (t: Tensor) => (backend === 'cpu' ? t : t.cast('float32').to(backend));
        const [q, k, v] = [f32(f64.q), f32(f64.k), f32(f64.v)];
        const got = blockSparseAttention(q, k, v, layout, opts);
        await assertClose(got.out, ref.out);
        await assertClose(got.lse, ref.lse);
        // Gradients against the dense reference's (core's sdpa backward) with the same mask.
        const dense = valueAndGrad((q, k, v) => {
          const { out } = denseReference(c, { q, k, v }, lists, { causal: r.causal, extra });
          return sum(mul(out, w));
        })(f64.q, f64.k, f64.v);
        const mine = valueAndGrad(loss(f32(w)))(q, k, v);
        for (let g = 0; g < 3; g++) await assertClose(mine.grads[g], dense.grads[g]);
        expect(got.out.shape).toEqual([r.batch, r.nq, r.heads, r.valueDim]);
      }),
      { numRuns: backend === 'cpu' ? 60 : 10, seed: 12345 },
    );
  });
});
