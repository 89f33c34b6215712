import { sum } from '@attnkit/core';
import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  ConsciousnessBottleneck,
  consciousnessAttention,
} from '../../src/methods/consciousness/bottleneck.js';
import { expectMatchesDense, host, qkv, randn } from './helpers.js';

/** Selected keys from the definition: top-k of scale * mean query . key per (b, h). */
function selectedRef(
  q: Float64Array,
  k: Float64Array,
  [b, n, h, d]: number[],
  kvh: number,
  elements: number,
) {
  return Array.from({ length: b }, (_, bb) =>
    Array.from({ length: h }, (_, hh) => {
      const mq = Array.from({ length: d }, (_, e) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += q[((bb * n + i) * h + hh) * d + e];
        return s / n;
      });
      const kh = Math.floor(hh / (h / kvh));
      const s = Array.from({ length: n }, (_, j) => [
        mq.reduce((a, x, e) => a + x * k[((bb * n + j) * kvh + kh) * d + e], 0) / Math.sqrt(d),
        j,
      ]);
      s.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      return new Set(s.slice(0, elements).map(([, j]) => j));
    }),
  );
}

describe.each(backendsUnderTest())('consciousnessAttention on %s', (backend) => {
  it('every query reads only the top-k elements of the mean-query scores (GQA, partial blocks)', async () => {
    const [b, n, h, kvh, d] = [2, 11, 4, 2, 4];
    const { q, k, v } = qkv(b, n, h, d, 1, backend, kvh);
    const sel = selectedRef(await host(q), await host(k), [b, n, h, d], kvh, 3);
    const out = consciousnessAttention(q, k, v, { elements: 3, blockSize: 4 });
    await expectMatchesDense(out, q, k, v, (bb, hh, _i, j) => sel[bb][hh].has(j));
  });

  it.skipIf(backend !== 'cpu')('selecting every element is full attention', async () => {
    const { q, k, v } = qkv(1, 7, 2, 4, 2, backend);
    await expectMatchesDense(
      consciousnessAttention(q, k, v, { elements: 7, blockSize: 4 }),
      q,
      k,
      v,
      () => true,
    );
  });
});

describe('consciousness bottleneck gradients and module', () => {
  it('gradients match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 6, 1, 3, 3, 'cpu', 1, 'float64');
    gradcheck((a, b, c) => consciousnessAttention(a, b, c, { elements: 2, blockSize: 2 }), [q, k, v]);
  });

  it('ConsciousnessBottleneck: residual layer, gradients reach every parameter', () => {
    const layer = new ConsciousnessBottleneck(8, { heads: 2, elements: 2, blockSize: 4, backend: 'cpu' });
    expect([...layer.stateDict().keys()]).toEqual(['qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias']);
    const x = randn([2, 9, 8], 4);
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 9, 8]);
    sum(y).backward();
    for (const p of layer.parameters()) expect(p.grad).not.toBeNull();
    expect(() => new ConsciousnessBottleneck(8, { heads: 3, elements: 2 })).toThrow(
      /ConsciousnessBottleneck: heads must be a divisor of dim 8/,
    );
  });
});
