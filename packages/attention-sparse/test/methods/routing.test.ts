import { argmax, einsum, layerNorm, sdpa, sum, tensor } from '@attnkit/core';
import { assertClose, backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { RoutingAttention } from '../../src/methods/routing/kmeans.js';
import { clusterMembers, routingAttention } from '../../src/methods/routing/routing.js';
import { host, qkv, randn } from './helpers.js';

/** Host layer norm of one vector (no affine, eps 1e-5). */
function ln(x: number[]): number[] {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  const v = x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length;
  return x.map((e) => (e - m) / Math.sqrt(v + 1e-5));
}

/** Routing attention from the spec with plain loops (balanced top-w clusters, causal by position, mean). */
function routingRef(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  mu: Float64Array,
  [b, n, h, d]: number[],
  c: number,
  w: number,
  causal: boolean,
  shareQK = false,
): Float64Array {
  const vec = (t: Float64Array, bb: number, i: number, hh: number) =>
    Array.from(t.slice(((bb * n + i) * h + hh) * d, ((bb * n + i) * h + hh + 1) * d));
  const members = (t: Float64Array, bb: number, hh: number, cc: number) => {
    const cen = Array.from(mu.slice((hh * c + cc) * d, (hh * c + cc + 1) * d));
    const s = Array.from({ length: n }, (_, i) => [
      ln(vec(t, bb, i, hh)).reduce((a, x, e) => a + x * cen[e], 0),
      i,
    ]);
    s.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    return s
      .slice(0, w)
      .map(([, i]) => i)
      .sort((x, y) => x - y);
  };
  const out = new Float64Array(b * n * h * d);
  const count = new Float64Array(b * n * h);
  for (let bb = 0; bb < b; bb++)
    for (let hh = 0; hh < h; hh++)
      for (let cc = 0; cc < c; cc++) {
        const qs = members(q, bb, hh, cc);
        const ks = members(shareQK ? q : k, bb, hh, cc);
        for (const i of qs) {
          const keys = ks.filter((j) => !causal || j <= i);
          count[(bb * n + i) * h + hh]++;
          if (keys.length === 0) continue;
          const qi = vec(q, bb, i, hh);
          const logits = keys.map(
            (j) => vec(k, bb, j, hh).reduce((a, x, e) => a + x * qi[e], 0) / Math.sqrt(d),
          );
          const mx = Math.max(...logits);
          const ex = logits.map((l) => Math.exp(l - mx));
          const z = ex.reduce((a, x) => a + x, 0);
          keys.forEach((j, m) => {
            const vj = vec(v, bb, j, hh);
            for (let e = 0; e < d; e++) out[((bb * n + i) * h + hh) * d + e] += (ex[m] / z) * vj[e];
          });
        }
      }
  for (let i = 0; i < b * n * h; i++)
    if (count[i] > 0) for (let e = 0; e < d; e++) out[i * d + e] /= count[i];
  return out;
}

describe.each(backendsUnderTest())('routingAttention on %s', (backend) => {
  it('clusters have exactly w members, sorted by position', async () => {
    const { q } = qkv(1, 12, 2, 4, 1, backend);
    const mu = randn([2, 3, 4], 5, backend);
    const m = clusterMembers(q, mu, 5);
    expect(m.shape).toEqual([1, 2, 3, 5]);
    const data = await m.data();
    for (let r = 0; r < 6; r++) {
      const row = [...data.slice(r * 5, r * 5 + 5)];
      expect(new Set(row).size).toBe(5);
      expect(row).toEqual([...row].sort((a, b) => a - b));
    }
  });

  for (const causal of [true, false]) {
    it.skipIf(backend !== 'cpu' && !causal)(
      `matches the spec's loop reference (causal ${causal})`,
      async () => {
        const dims = [2, 10, 2, 4];
        const { q, k, v } = qkv(2, 10, 2, 4, 3, backend);
        const mu = randn([2, 3, 4], 7, backend);
        const out = routingAttention(q, k, v, { centroids: mu, window: 4, causal });
        const ref = routingRef(
          await host(q),
          await host(k),
          await host(v),
          await host(mu),
          dims,
          3,
          4,
          causal,
        );
        await assertClose(out, ref);
      },
    );
  }

  it('shared routing (share_qk) matches the loop reference', async () => {
    const { q, k, v } = qkv(1, 12, 2, 4, 21, backend);
    const mu = randn([2, 3, 4], 22, backend);
    const out = routingAttention(q, k, v, { centroids: mu, window: 5, shareQK: true });
    const ref = routingRef(
      await host(q),
      await host(k),
      await host(v),
      await host(mu),
      [1, 12, 2, 4],
      3,
      5,
      true,
      true,
    );
    await assertClose(out, ref);
  });

  it.skipIf(backend !== 'cpu')('one cluster of every token is full (causal) attention', async () => {
    const { q, k, v } = qkv(1, 9, 2, 4, 4, backend);
    const mu = randn([2, 1, 4], 8, backend);
    await assertClose(
      routingAttention(q, k, v, { centroids: mu, window: 9 }),
      await sdpa(q, k, v, { causal: true }).data(),
    );
    await assertClose(
      routingAttention(q, q, v, { centroids: mu, window: 9, shareQK: true }),
      await sdpa(q, q, v, { causal: true }).data(),
    );
    await assertClose(
      routingAttention(q, k, v, { centroids: mu, window: 9, causal: false }),
      await sdpa(q, k, v).data(),
    );
  });

  it.skipIf(backend !== 'cpu')(
    'causal: changing future values leaves past outputs unchanged (share_qk)',
    async () => {
      const { q, v } = qkv(1, 10, 1, 4, 6, backend);
      const mu = randn([1, 2, 4], 9, backend);
      const a = await routingAttention(q, q, v, { centroids: mu, window: 6, shareQK: true }).data();
      const vData = await host(v);
      for (let i = 5 * 4; i < vData.length; i++) vData[i] += 3;
      const v2 = tensor(vData, { shape: v.shape, backend, dtype: 'float32' });
      const b = await routingAttention(q, q, v2, { centroids: mu, window: 6, shareQK: true }).data();
      expect([...b.slice(0, 20)]).toEqual([...a.slice(0, 20)]);
      expect([...b.slice(20)]).not.toEqual([...a.slice(20)]);
    },
  );

  it('rejects centroids of the wrong shape', () => {
    const { q, k, v } = qkv(1, 8, 2, 4, 1, backend);
    expect(() => routingAttention(q, k, v, { centroids: randn([2, 3, 5], 1, backend), window: 2 })).toThrow(
      /routingAttention: centroids must be \[2, clusters, 4\]/,
    );
    // Separately routed causal attention needs a (clusters * window)^2 mask: refused when huge.
    const long = randn([1, 8192, 1, 1], 1, backend);
    expect(() =>
      routingAttention(long, long, long, { centroids: randn([1, 2, 1], 2, backend), window: 8192 }),
    ).toThrow(/routingAttention: shareQK must be true for causal routing/);
  });
});

describe('Routing Transformer gradients and online k-means', () => {
  it('gradients match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 6, 1, 3, 2, 'cpu', 1, 'float64');
    const mu = randn([1, 2, 3], 3, 'cpu', 'float64');
    gradcheck((a, b, c) => routingAttention(a, b, c, { centroids: mu, window: 3 }), [q, k, v]);
  });

  it('the EMA update on a fixed batch converges to the k-means means', () => {
    const attn = new RoutingAttention({
      heads: 1,
      headDim: 4,
      clusters: 3,
      window: 4,
      decay: 0.5,
      backend: 'cpu',
    });
    const x = randn([2, 16, 1, 4], 11);
    for (let it = 0; it < 80; it++) attn.update([x]);
    // Fixed point of Lloyd's iteration: every centroid is the mean of the items assigned to it.
    const xn = layerNorm(x, [4]);
    const assign = argmax(einsum('bnhd,hcd->bhnc', xn, attn.means), { axis: -1 }).dataSync();
    const xs = xn.dataSync();
    const means = attn.means.dataSync();
    for (let c = 0; c < 3; c++) {
      const members = [...assign.keys()].filter((i) => assign[i] === c);
      if (members.length === 0) continue;
      for (let e = 0; e < 4; e++) {
        const m = members.reduce((a, i) => a + xs[i * 4 + e], 0) / members.length;
        expect(Math.abs(means[c * 4 + e] - m)).toBeLessThan(1e-3);
      }
    }
  });

  it('RoutingAttention: commitment loss with gradient to q, EMA only in training', () => {
    const attn = new RoutingAttention({ heads: 2, headDim: 4, clusters: 2, window: 3, backend: 'cpu' });
    expect([...attn.stateDict().keys()]).toEqual(['means', 'ema_count', 'ema_sum']);
    const { q, k, v } = qkv(1, 6, 2, 4, 1);
    q.requiresGrad = true;
    const before = Float64Array.from(attn.means.dataSync());
    const { out, loss } = attn.forward(q, k, v);
    expect(out.shape).toEqual([1, 6, 2, 4]);
    expect(loss.item()).toBeGreaterThan(0);
    sum(out).add(loss).backward();
    expect(q.grad).not.toBeNull();
    expect([...attn.means.dataSync()]).not.toEqual([...before]);
    attn.eval();
    const frozen = Float64Array.from(attn.means.dataSync());
    attn.forward(q, k, v);
    expect([...attn.means.dataSync()]).toEqual([...frozen]);
  });
});
