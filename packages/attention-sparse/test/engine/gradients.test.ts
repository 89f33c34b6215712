import {
  concat,
  fallbackStats,
  memory,
  mul,
  reshape,
  runOp,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  where,
} from '@attnkit/core';
import { assertClose, backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import '../../src/webgpu/index.js';
import {
  type BlockSparseAttrs,
  blockBackwardOp,
  blockForwardOp,
  blockSparseAttention,
  layoutFromBlockLists,
} from '../../src/engine/index.js';
import { type Case, randomLists, randomMask, randomQkv } from './helpers.js';

// Gradients: the CPU vjp by finite differences (float64), then the backward primitive of every backend against
// the CPU's on the same inputs and output gradients.

const SMALL: Case = {
  batch: 1,
  nq: 7,
  nk: 5,
  heads: 2,
  kvHeads: 1,
  headDim: 3,
  valueDim: 2,
  blockQ: 3,
  blockK: 2,
};

describe('gradcheck (cpu, float64)', () => {
  it('out and lse through q, k, v with GQA, causal, an element mask and non-multiple sizes', () => {
    const { q, k, v } = randomQkv(SMALL, 'cpu', 21, 'float64');
    // Every query block lists its blocks; the causal rule and mask still leave a few keys per row.
    const layout = layoutFromBlockLists(
      [
        [
          [
            [0, 2],
            [1, 2, 0],
            [2, 1],
          ],
          [[1], [0, 1], [0, 2]],
        ],
      ],
      SMALL,
    );
    const mask = randomMask([1, 2, 7, 5], 22, 0.8);
    // Rows without keys have lse -Infinity: check lse only where it is finite (zero weight elsewhere).
    const probe = blockSparseAttention(q, k, v, layout, { causal: true, mask });
    const finite = tensor(
      Array.from(probe.lse.dataSync(), (x) => Number.isFinite(x)),
      { shape: probe.lse.shape, dtype: 'bool', backend: 'cpu' },
    );
    expect(finite.dataSync().some((x) => !x)).toBe(true); // the case does have empty rows
    gradcheck(
      (q, k, v) => {
        const { out, lse } = blockSparseAttention(q, k, v, layout, { causal: true, mask });
        const l = where(finite, lse, 0);
        return concat([reshape(out, [-1]), reshape(l, [-1])], 0);
      },
      [q, k, v],
    );
  });

  it('per-batch layouts with an empty query block', () => {
    const c: Case = { ...SMALL, batch: 2, heads: 2, kvHeads: 2 };
    const { q, k, v } = randomQkv(c, 'cpu', 23, 'float64');
    const layout = layoutFromBlockLists(randomLists(c, 2, 1, 24, 0.6, true), c);
    gradcheck((q, k, v) => blockSparseAttention(q, k, v, layout, { scale: 0.7 }).out, [q, k, v]);
  });
});

describe.each(backendsUnderTest())('%s', (backend) => {
  it('sparse.blockBackward matches the CPU oracle', async () => {
    const c: Case = {
      batch: 2,
      nq: 13,
      nk: 19,
      heads: 4,
      kvHeads: 2,
      headDim: 5,
      valueDim: 3,
      blockQ: 4,
      blockK: 6,
    };
    const f64 = randomQkv(c, 'cpu', 31, 'float64');
    const lists = randomLists(c, 2, 4, 32, 0.5, true);
    const layout = layoutFromBlockLists(lists, c);
    const mask = randomMask([2, 1, c.nq, c.nk], 33);
    const attrs: BlockSparseAttrs = {
      batch: c.batch,
      nq: c.nq,
      nk: c.nk,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
      valueDim: c.valueDim,
      blockQ: c.blockQ,
      blockK: c.blockK,
      scale: 0.4,
      causal: true,
      hasMask: true,
      maskShape: [2, 1, c.nq, c.nk],
      layoutShape: [2, 4, 4, layout.kvBlocks.shape[3]],
    };
    const [out, lse] = runOp(blockForwardOp, [f64.q, f64.k, f64.v, layout.kvBlocks, mask], attrs);
    const g = randomQkv({ ...c, nk: c.nq, kvHeads: c.heads, headDim: 1 }, 'cpu', 34, 'float64');
    const gOut = g.v; // [batch, nq, heads, valueDim]
    const gLse = reshape(g.q, [c.batch, c.nq, c.heads]);
    const expected = runOp(
      blockBackwardOp,
      [f64.q, f64.k, f64.v, layout.kvBlocks, out, lse, gOut, gLse, mask],
      attrs,
    );
    const onDev = (t: Tensor) => {
      const f32 = t.dtype === 'float64' ? t.cast('float32') : t;
      return backend === 'cpu' ? f32 : f32.to(backend);
    };
    const inputs = [f64.q, f64.k, f64.v, layout.kvBlocks, out, lse, gOut, gLse, mask].map(onDev);
    fallbackStats.reset();
    const got = runOp(blockBackwardOp, inputs, attrs);
    expect([...fallbackStats.names]).toEqual([]);
    for (let n = 0; n < 3; n++) {
      expect(got[n].backend.name).toBe(backend);
      await assertClose(got[n], expected[n]);
    }
  });

  it('leaves memory unchanged over repeated forward and backward passes', async () => {
    const c: Case = {
      batch: 1,
      nq: 9,
      nk: 11,
      heads: 2,
      kvHeads: 1,
      headDim: 4,
      valueDim: 3,
      blockQ: 4,
      blockK: 3,
    };
    const f32 = randomQkv(c, 'cpu', 41);
    const on = (t: Tensor) => (backend === 'cpu' ? t : t.to(backend));
    const [q, k, v] = [on(f32.q), on(f32.k), on(f32.v)];
    const layout = layoutFromBlockLists(randomLists(c, 1, 2, 42, 0.6, true), c);
    const w = on(randomQkv({ ...c, nk: c.nq, kvHeads: c.heads }, 'cpu', 43).v);
    const step = async () => {
      const { value, grads } = valueAndGrad((q, k, v) =>
        sum(mul(blockSparseAttention(q, k, v, layout, { causal: true }).out, w)),
      )(q, k, v);
      await Promise.all(grads.map((g) => g.data()));
      value.dispose();
      for (const g of grads) g.dispose();
    };
    await step();
    const before = [memory(backend), memory('cpu')];
    for (let n = 0; n < 3; n++) await step();
    expect([memory(backend), memory('cpu')]).toEqual(before);
  });
});
