import { fallbackStats, memory, type Tensor } from '@attnkit/core';
import { assertClose, backendsUnderTest } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import '../../src/webgpu/index.js';
import { blockSparseAttention, layoutFromBlockLists, layoutFromDenseMask } from '../../src/engine/index.js';
import { type Case, denseReference, randomLists, randomMask, randomQkv } from './helpers.js';

// The engine against dense masked attention (core's sdpa in float64 with the element mask of the pattern,
// built independently in helpers.ts), on random patterns, on every backend under test.

const on = (backend: string, t: Tensor) => (backend === 'cpu' ? t : t.to(backend));

interface Run {
  name: string;
  c: Case;
  layoutAxes: [number, number];
  causal?: boolean;
  mask?: number[];
  emptyRow?: boolean;
  density?: number;
  scale?: number;
}

const RUNS: Run[] = [
  {
    name: 'square, shared layout',
    c: { batch: 1, nq: 16, nk: 16, heads: 2, kvHeads: 2, headDim: 8, valueDim: 8, blockQ: 4, blockK: 4 },
    layoutAxes: [1, 1],
  },
  {
    name: 'non-multiple sizes, per-batch and per-head layout, empty rows, causal, element mask, GQA',
    c: { batch: 2, nq: 13, nk: 19, heads: 4, kvHeads: 2, headDim: 5, valueDim: 3, blockQ: 4, blockK: 6 },
    layoutAxes: [2, 4],
    causal: true,
    mask: [2, 1, 13, 19],
    emptyRow: true,
  },
  {
    name: 'more queries than keys, causal (early queries see nothing), GQA with one kv head',
    c: { batch: 1, nq: 20, nk: 9, heads: 3, kvHeads: 1, headDim: 4, valueDim: 6, blockQ: 8, blockK: 3 },
    layoutAxes: [1, 3],
    causal: true,
    density: 0.8,
  },
  {
    name: 'blocks larger than the workgroup, a custom scale',
    c: { batch: 1, nq: 70, nk: 45, heads: 1, kvHeads: 1, headDim: 16, valueDim: 16, blockQ: 40, blockK: 20 },
    layoutAxes: [1, 1],
    scale: 0.3,
    density: 0.6,
  },
];

describe.each(backendsUnderTest())('%s', (backend) => {
  it.each(RUNS)('matches dense masked attention: $name', async (r) => {
    const qkv = randomQkv(r.c, 'cpu', 1);
    const lists = randomLists(r.c, ...r.layoutAxes, 2, r.density ?? 0.5, r.emptyRow);
    const layout = layoutFromBlockLists(lists, r.c);
    const extra = r.mask ? randomMask(r.mask, 3) : undefined;
    const ref = denseReference(r.c, qkv, lists, { causal: r.causal, extra, scale: r.scale });
    fallbackStats.reset();
    const { out, lse } = blockSparseAttention(
      on(backend, qkv.q),
      on(backend, qkv.k),
      on(backend, qkv.v),
      layout,
      { causal: r.causal, mask: extra, scale: r.scale },
    );
    expect(out.backend.name).toBe(backend);
    expect(out.shape).toEqual([r.c.batch, r.c.nq, r.c.heads, r.c.valueDim]);
    expect(lse.shape).toEqual([r.c.batch, r.c.nq, r.c.heads]);
    await assertClose(out, ref.out);
    await assertClose(lse, ref.lse);
    expect([...fallbackStats.names].filter((n) => n.startsWith('sparse.'))).toEqual([]);
  });

  it('gives out = 0 and lse = -Infinity to rows with no allowed key', async () => {
    const c: Case = {
      batch: 1,
      nq: 6,
      nk: 6,
      heads: 1,
      kvHeads: 1,
      headDim: 4,
      valueDim: 2,
      blockQ: 3,
      blockK: 3,
    };
    const qkv = randomQkv(c, 'cpu', 5);
    // Block 0 lists nothing; block 1 lists key block 1 but the mask forbids row 4 everything.
    const layout = layoutFromBlockLists([[[[], [1]]]], c);
    const m = new Array(36).fill(true);
    for (let j = 0; j < 6; j++) m[4 * 6 + j] = false;
    const { tensor } = await import('@attnkit/core');
    const mask = tensor(m, { shape: [6, 6], dtype: 'bool', backend: 'cpu' });
    const { out, lse } = blockSparseAttention(
      on(backend, qkv.q),
      on(backend, qkv.k),
      on(backend, qkv.v),
      layout,
      { mask },
    );
    const o = await out.data();
    const l = await lse.data();
    expect([...l.slice(0, 3)]).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(l[4]).toBe(-Infinity);
    expect(Number.isFinite(l[3]) && Number.isFinite(l[5])).toBe(true);
    for (const row of [0, 1, 2, 4]) expect([...o.slice(row * 2, row * 2 + 2)]).toEqual([0, 0]);
  });

  it('is dense masked attention with a layout from a dense mask (the fallback)', async () => {
    const c: Case = {
      batch: 2,
      nq: 11,
      nk: 14,
      heads: 2,
      kvHeads: 2,
      headDim: 6,
      valueDim: 5,
      blockQ: 4,
      blockK: 4,
    };
    const qkv = randomQkv(c, 'cpu', 7);
    // A banded mask (not block-shaped) with a hole: layoutFromDenseMask lists only blocks touching the band.
    const { tensor } = await import('@attnkit/core');
    const m: boolean[] = [];
    for (let i = 0; i < c.nq; i++) for (let j = 0; j < c.nk; j++) m.push(Math.abs(i - j) <= 2 && j !== 5);
    const dense = tensor(m, { shape: [c.nq, c.nk], dtype: 'bool', backend: 'cpu' });
    const { layout, mask } = layoutFromDenseMask(dense, c);
    const all = [[Array.from({ length: 3 }, () => [0, 1, 2, 3])]];
    const ref = denseReference(c, qkv, all, { extra: dense });
    const { out, lse } = blockSparseAttention(
      on(backend, qkv.q),
      on(backend, qkv.k),
      on(backend, qkv.v),
      layout,
      { mask },
    );
    await assertClose(out, ref.out);
    await assertClose(lse, ref.lse);
  });

  it('leaves memory unchanged over repeated calls', async () => {
    const c = RUNS[1].c;
    const qkv = randomQkv(c, 'cpu', 9);
    const q = on(backend, qkv.q);
    const k = on(backend, qkv.k);
    const v = on(backend, qkv.v);
    const layout = layoutFromBlockLists(randomLists(c, 2, 4, 10, 0.5, true), c);
    const mask = randomMask([2, 1, c.nq, c.nk], 11);
    const step = async () => {
      const { out, lse } = blockSparseAttention(q, k, v, layout, { causal: true, mask });
      await out.data();
      out.dispose();
      lse.dispose();
    };
    await step();
    const before = [memory(backend), memory('cpu')];
    for (let n = 0; n < 3; n++) await step();
    expect([memory(backend), memory('cpu')]).toEqual(before);
  });
});
