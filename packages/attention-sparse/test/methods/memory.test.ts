import { memory, type Tensor } from '@attnkit/core';
import { backendsUnderTest } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  biformerAttention,
  consciousnessAttention,
  dynamicMaskAttention,
  mobaAttention,
  powerAttention,
  radialAttention,
  routingAttention,
  s2Attention,
  vmobaAttention,
} from '../../src/index.js';
import { qkv, randn } from './helpers.js';

// Every method frees what it makes: after a warm-up call, further calls leave the live tensor, storage and
// byte counts of the backend unchanged (outputs disposed).
describe.each(backendsUnderTest())('methods leak nothing on %s', (backend) => {
  it('memory() is unchanged over repeated calls of every method', async () => {
    const { q, k, v } = qkv(1, 16, 2, 4, 1, backend);
    const grid = [1, 2, 2, 4, 2, 4];
    const [gq, gk, gv] = [1, 2, 3].map((s) => randn(grid, s, backend));
    const img = [1, 4, 4, 2, 4];
    const [iq, ik, iv] = [4, 5, 6].map((s) => randn(img, s, backend));
    const bias = randn([1, 16, 2], 7, backend);
    const mu = randn([2, 2, 4], 8, backend);
    const calls: Array<() => Tensor> = [
      () => s2Attention(q, k, v, { blockSize: 4, vertStride: 2 }),
      () => powerAttention(q, k, v, { blockSize: 4 }),
      () => radialAttention(q, k, v, { frames: 2, blockSize: 4 }),
      () => mobaAttention(q, k, v, { chunkSize: 4, topk: 2 }),
      () => vmobaAttention(gq, gk, gv, { partition: [2, 2], select: { mode: 'threshold', tau: 0.3 } }),
      () => biformerAttention(iq, ik, iv, { nWin: 2, topk: 2 }),
      () => dynamicMaskAttention(q, k, v, { bias, windowSize: 6, blockSize: 4 }),
      () => routingAttention(q, k, v, { centroids: mu, window: 8 }),
      () => consciousnessAttention(q, k, v, { elements: 3, blockSize: 4 }),
    ];
    for (const call of calls) {
      const warm = call();
      await warm.data();
      warm.dispose();
      const before = memory(backend);
      for (let r = 0; r < 2; r++) {
        const out = call();
        await out.data();
        out.dispose();
      }
      expect(memory(backend), call.toString()).toEqual(before);
    }
  });
});
