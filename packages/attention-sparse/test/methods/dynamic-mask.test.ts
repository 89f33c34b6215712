import { expand, mul, permute, sdpa, sum, type Tensor, valueAndGrad } from '@attnkit/core';
import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { DynamicMaskBias, dynamicMaskAttention } from '../../src/methods/dynamic-mask/dma.js';
import { expectMatchesDense, host, qkv, randn, toCpu } from './helpers.js';

/** The sdpa bias [b, heads, 1, nk] of a DMA bias [b, nk, kvHeads] (kv heads repeated). */
async function sdpaBias(bias: Tensor, heads: number): Promise<Tensor> {
  const [b, nk, kvh] = bias.shape;
  const perHead = permute(await toCpu(bias), [0, 2, 1]).reshape([b, kvh, 1, 1, nk]);
  return expand(perHead, [b, kvh, heads / kvh, 1, nk]).reshape([b, heads, 1, nk]);
}

/** Keys kept per (b, kv head) from the spec: top-w biases (ties to the lower index). */
function keptRef(bias: Float64Array, [b, nk, kvh]: number[], w: number): Set<number>[][] {
  return Array.from({ length: b }, (_, bb) =>
    Array.from({ length: kvh }, (_, hh) => {
      const order = Array.from({ length: nk }, (_, j) => [bias[(bb * nk + j) * kvh + hh], j]);
      order.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      return new Set(order.slice(0, Math.min(w, nk)).map(([, j]) => j));
    }),
  );
}

describe.each(backendsUnderTest())('dynamicMaskAttention on %s', (backend) => {
  it('matches softmax(scale qk + bias) over the top-w keys per kv head, then causal (GQA, partial blocks)', async () => {
    const [b, n, h, kvh, d] = [2, 13, 4, 2, 4];
    const { q, k, v } = qkv(b, n, h, d, 1, backend, kvh);
    const bias = randn([b, n, kvh], 9, backend);
    const kept = keptRef(await host(bias), [b, n, kvh], 5);
    const out = dynamicMaskAttention(q, k, v, { bias, windowSize: 5, blockSize: 4 });
    await expectMatchesDense(out, q, k, v, (bb, hh, i, j) => j <= i && kept[bb][Math.floor(hh / 2)].has(j), {
      bias: await sdpaBias(bias, h),
    });
  });

  it('early queries left without keys give 0, not NaN', async () => {
    const { q, k, v } = qkv(1, 8, 1, 4, 2, backend);
    // The largest biases sit on the last keys, so query 0 keeps none of its (only) key.
    const bias = (await import('@attnkit/core')).tensor(
      Float32Array.from({ length: 8 }, (_, j) => j),
      { shape: [1, 8, 1], backend },
    );
    const out = await dynamicMaskAttention(q, k, v, { bias, windowSize: 2, blockSize: 4 }).data();
    expect(out.every((x) => Number.isFinite(x))).toBe(true);
    expect([...out.slice(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it.skipIf(backend !== 'cpu')('windowSize >= nk is dense attention plus bias (non-causal)', async () => {
    const { q, k, v } = qkv(1, 9, 2, 4, 3, backend);
    const bias = randn([1, 9, 2], 4, backend);
    const out = dynamicMaskAttention(q, k, v, { bias, windowSize: 9, causal: false, blockSize: 4 });
    await expectMatchesDense(out, q, k, v, () => true, { bias: await sdpaBias(bias, 2) });
  });

  it('block size (which blocks are skipped) does not change the result', async () => {
    const { q, k, v } = qkv(1, 12, 2, 4, 10, backend);
    const bias = randn([1, 12, 2], 11, backend);
    const outs = await Promise.all(
      [2, 5, 12].map((blockSize) => dynamicMaskAttention(q, k, v, { bias, windowSize: 4, blockSize }).data()),
    );
    for (const o of outs.slice(1)) for (let i = 0; i < o.length; i++) expect(o[i]).toBeCloseTo(outs[0][i], 5);
  });

  it('rejects a bias of the wrong shape', () => {
    const { q, k, v } = qkv(1, 8, 2, 4, 1, backend);
    expect(() => dynamicMaskAttention(q, k, v, { bias: randn([1, 8], 1, backend), windowSize: 2 })).toThrow(
      /dynamicMaskAttention: bias must be \[1, 8, 2\]/,
    );
  });
});

describe('Dynamic Mask Attention gradients and bias module', () => {
  it('gradients (q, k, v and the bias) match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 6, 2, 3, 5, 'cpu', 1, 'float64');
    const bias = randn([1, 6, 1], 6, 'cpu', 'float64');
    gradcheck(
      (a, b, c, e) => dynamicMaskAttention(a, b, c, { bias: e, windowSize: 4, blockSize: 2 }),
      [q, k, v, bias],
    );
  });

  it('with w >= nk the bias gradient equals the dense sdpa bias gradient', () => {
    const { q, k, v } = qkv(1, 5, 1, 3, 7, 'cpu', 1, 'float64');
    const bias = randn([1, 5, 1], 8, 'cpu', 'float64');
    const w = randn([1, 5, 1, 3], 9, 'cpu', 'float64');
    const ours = valueAndGrad((e: Tensor) =>
      sum(mul(dynamicMaskAttention(q, k, v, { bias: e, windowSize: 8, blockSize: 2 }), w)),
    )(bias);
    const dense = valueAndGrad((e: Tensor) =>
      sum(mul(sdpa(q, k, v, { bias: e.reshape([1, 1, 1, 5]), causal: true }), w)),
    )(bias);
    const a = ours.grads[0].dataSync();
    const e = dense.grads[0].dataSync();
    for (let i = 0; i < 5; i++) expect(a[i]).toBeCloseTo(e[i], 10);
  });

  it('DynamicMaskBias: A * softplus(dt_proj(v)), zero at init, learnable', () => {
    const m = new DynamicMaskBias(2, 3, { backend: 'cpu' });
    expect([...m.stateDict().keys()]).toEqual(['A', 'dt_proj.weight', 'dt_proj.bias']);
    const v = randn([1, 5, 2, 3], 1);
    const bias = m.forward(v);
    expect(bias.shape).toEqual([1, 5, 2]);
    expect([...bias.dataSync()].every((x) => x === 0)).toBe(true);
    sum(bias).backward();
    expect(m.A.grad).not.toBeNull();
  });
});
