import { add, conv2d, permute, sum, type Tensor, tensor } from '@attnkit/core';
import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { biformerAttention, biformerLayout, biformerRegions } from '../../src/methods/biformer/bra.js';
import {
  BIFORMER_VARIANTS,
  BiLevelRoutingAttention,
  biformerStage,
} from '../../src/methods/biformer/module.js';
import { expectGradsMatchDense, expectMatchesDense, host, randn } from './helpers.js';

/** BRA's routed regions from the spec: region means over all channels, A = (q_r * scale) k_r^T, top-k. */
function routedRef(
  q: Float64Array,
  k: Float64Array,
  [b, H, W, heads, hd]: number[],
  S: number,
  topk: number,
  scale: number,
) {
  const c = heads * hd;
  const region = (y: number, x: number) => Math.floor(y / (H / S)) * S + Math.floor(x / (W / S));
  const means = (t: Float64Array, bb: number) => {
    const m = Array.from({ length: S * S }, () => new Float64Array(c));
    const per = (H / S) * (W / S);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let e = 0; e < c; e++) m[region(y, x)][e] += t[((bb * H + y) * W + x) * c + e] / per;
    return m;
  };
  const routes: Set<number>[][] = [];
  for (let bb = 0; bb < b; bb++) {
    const qm = means(q, bb);
    const km = means(k, bb);
    routes.push(
      qm.map((qr) => {
        const a = km.map((kr, s) => [kr.reduce((acc, x, e) => acc + x * qr[e] * scale, 0), s]);
        a.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        return new Set(a.slice(0, topk).map(([, s]) => s));
      }),
    );
  }
  return (bb: number, i: number, j: number) =>
    routes[bb][region(Math.floor(i / W), i % W)].has(region(Math.floor(j / W), j % W));
}

const flat = (t: Tensor) => t.reshape([t.shape[0], t.shape[1] * t.shape[2], t.shape[3], t.shape[4]]);

describe.each(backendsUnderTest())('biformerAttention on %s', (backend) => {
  const shape = [2, 6, 6, 2, 4]; // 3x3 regions of 2x2
  const inputs = (seed: number) => ({
    q: randn(shape, seed, backend),
    k: randn(shape, seed + 1, backend),
    v: randn(shape, seed + 2, backend),
  });

  it('equals dense attention under the region mask (gather == mask reference), dim^-0.5 scale', async () => {
    const { q, k, v } = inputs(1);
    const scale = 8 ** -0.5;
    const ref = routedRef(await host(q), await host(k), shape, 3, 2, scale);
    const out = biformerAttention(q, k, v, { nWin: 3, topk: 2 });
    await expectMatchesDense(flat(out), flat(q), flat(k), flat(v), (b, _h, i, j) => ref(b, i, j), { scale });
  });

  it('gradients match dense masked attention (region reordering included)', async () => {
    const { q, k, v } = inputs(6);
    const scale = 8 ** -0.5;
    const ref = routedRef(await host(q), await host(k), shape, 3, 2, scale);
    await expectGradsMatchDense(
      (a, b, c) =>
        flat(biformerAttention(a.reshape(shape), b.reshape(shape), c.reshape(shape), { nWin: 3, topk: 2 })),
      flat(q),
      flat(k),
      flat(v),
      (b, _h, i, j) => ref(b, i, j),
      { scale },
    );
  });

  it('routing is one list per query region, shared by every head', () => {
    const { q, k } = inputs(2);
    const { perm, regionTokens } = biformerRegions(6, 6, 3);
    expect(regionTokens).toBe(4);
    expect([...perm.slice(0, 4)]).toEqual([0, 1, 6, 7]);
    const layout = biformerLayout(flat(q), flat(k), 4, { nWin: 3, topk: 2 });
    expect(layout.kvBlocks.shape).toEqual([2, 1, 9, 2]);
  });

  it('topk = S^2 is global attention plus LCE (headDim^-0.5 scale option)', async () => {
    const { q, k, v } = inputs(3);
    const weight = randn([8, 1, 5, 5], 9, backend);
    const bias = randn([8], 10, backend);
    const out = biformerAttention(q, k, v, { nWin: 3, topk: -2, dimScale: false, lce: { weight, bias } });
    // LCE independently: the V map as NCHW through a grouped conv, back to [b, h, w, heads, hd].
    const vmap = permute(v.reshape([2, 6, 6, 8]), [0, 3, 1, 2]);
    const lce = permute(conv2d(vmap, weight, bias, { padding: 2, groups: 8 }), [0, 2, 3, 1]).reshape(shape);
    const attn = biformerAttention(q, k, v, { nWin: 3, topk: 9, dimScale: false });
    await expectMatchesDense(flat(attn), flat(q), flat(k), flat(v), () => true, { scale: 0.5 });
    const expected = await add(attn, lce).data();
    const got = await out.data();
    expect(Math.max(...got.map((x, i) => Math.abs(x - expected[i])))).toBeLessThan(1e-4);
  });

  it('topk = 1 with the own region forced on top is window attention', async () => {
    // Queries and keys carry a large region-specific offset so each region's affinity peaks at itself.
    const base = await host(randn(shape, 4, 'cpu'));
    const data = base.map((x, idx) => {
      const e = idx % 8;
      const tok = Math.floor(idx / 8) % 36;
      const region = Math.floor(Math.floor(tok / 6) / 2) * 3 + Math.floor((tok % 6) / 2);
      return x + (e === region % 8 ? 20 * (region < 8 ? 1 : -1) : 0);
    });
    const q = tensor(data, { shape, backend, dtype: 'float32' });
    const { v } = inputs(5);
    const out = biformerAttention(q, q, v, { nWin: 3, topk: 1 });
    const region = (i: number) => Math.floor(Math.floor(i / 6) / 2) * 3 + Math.floor((i % 6) / 2);
    await expectMatchesDense(
      flat(out),
      flat(q),
      flat(q),
      flat(v),
      (_b, _h, i, j) => region(i) === region(j),
      {
        scale: 8 ** -0.5,
      },
    );
  });

  it('rejects grids that nWin does not divide', () => {
    const { q, k, v } = inputs(1);
    expect(() => biformerAttention(q, k, v, { nWin: 4, topk: 1 })).toThrow(
      /biformerAttention: nWin must be a divisor of the grid's height 6 and width 6/,
    );
  });
});

describe('BiFormer gradients and module', () => {
  it('gradients match finite differences, routing detached (float64)', () => {
    const s = [1, 4, 4, 1, 2];
    const [q, k, v] = [1, 2, 3].map((i) => randn(s, i, 'cpu', 'float64'));
    const w = randn([2, 1, 3, 3], 4, 'cpu', 'float64');
    gradcheck(
      (a, b, c, d) => biformerAttention(a, b, c, { nWin: 2, topk: 2, lce: { weight: d } }),
      [q, k, v, w],
    );
  });

  it('BiLevelRoutingAttention: shape, parameter names, gradients reach every parameter', () => {
    const bra = new BiLevelRoutingAttention(8, { numHeads: 2, nWin: 2, topk: 1, backend: 'cpu' });
    expect([...bra.stateDict().keys()]).toEqual([
      'qkv.weight',
      'qkv.bias',
      'lepe.weight',
      'lepe.bias',
      'wo.weight',
      'wo.bias',
    ]);
    const x = randn([1, 4, 4, 8], 1);
    const y = bra.forward(x);
    expect(y.shape).toEqual([1, 4, 4, 8]);
    sum(y).backward();
    for (const p of bra.parameters()) expect(p.grad).not.toBeNull();
  });

  it('per-stage configurations of the released variants', () => {
    expect(BIFORMER_VARIANTS.tiny.topks).toEqual([1, 4, 16, -2]);
    const stages = [0, 1, 2, 3].map((s) => biformerStage('tiny', s));
    expect(stages.map((s) => s.resolution)).toEqual([56, 28, 14, 7]);
    expect(stages.map((s) => s.regionTokens)).toEqual([64, 16, 4, 1]);
    expect(stages.map((s) => s.numHeads)).toEqual([2, 4, 8, 16]);
    expect(biformerStage('base', 2).dim).toBe(384);
    expect(() => biformerStage('tiny', 4)).toThrow(/biformerStage: stage must be an integer in \[0, 4\)/);
  });
});
