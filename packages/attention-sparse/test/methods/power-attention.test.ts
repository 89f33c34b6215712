import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { blockMaskOf, listedBlocks } from '../../src/methods/pattern.js';
import { powerAttention } from '../../src/methods/power-attention/attention.js';
import { powerAttentionPattern } from '../../src/methods/power-attention/pattern.js';
import { expectMatchesDense, qkv } from './helpers.js';

/** Blocks reachable from block `i` through `layers` stacked copies of the block graph (BFS). */
function reachable(mask: Uint8Array, n: number, i: number, layers: number): Set<number> {
  let frontier = new Set([i]);
  for (let l = 0; l < layers; l++) {
    const next = new Set<number>();
    for (const a of frontier) for (let j = 0; j < n; j++) if (mask[a * n + j]) next.add(j);
    frontier = next;
  }
  return frontier;
}

describe('PowerAttention pattern', () => {
  it('lists the own block and the blocks at power-of-two distances: floor(log2 i) + 2 per row', () => {
    const p = powerAttentionPattern(64 * 2, { blockSize: 2 });
    expect(listedBlocks(p, 0, 0, 0)).toEqual([0]);
    expect(listedBlocks(p, 0, 0, 13)).toEqual([5, 9, 11, 12, 13]);
    for (let i = 1; i < 64; i++) expect(listedBlocks(p, 0, 0, i).length).toBe(Math.floor(Math.log2(i)) + 2);
  });

  it('receptive field after d layers: exactly the distances with at most d one-bits, so all of the last 2^d', () => {
    // Distances reachable in d hops of powers of two are the sums of at most d powers of two: the numbers
    // with popcount <= d. Those include every distance below 2^d (complete and contiguous, growing as 2^d);
    // the first distance missing is 2^(d+1) - 1.
    const n = 64;
    const popcount = (x: number) => x.toString(2).replaceAll('0', '').length;
    const mask = blockMaskOf(powerAttentionPattern(n, { blockSize: 1 }));
    for (const i of [63, 40, 17, 5]) {
      for (let d = 1; d <= 6; d++) {
        const got = reachable(mask, n, i, d);
        const want = Array.from({ length: i + 1 }, (_, x) => x)
          .filter((x) => popcount(x) <= d)
          .map((x) => i - x);
        expect([...got].sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
        for (let x = 0; x < Math.min(2 ** d, i + 1); x++) expect(got.has(i - x)).toBe(true);
        if (2 ** (d + 1) - 1 <= i) expect(got.has(i - (2 ** (d + 1) - 1))).toBe(false);
      }
    }
  });

  it('a sliding window of the same width only grows linearly (the contrast the method claims)', () => {
    const n = 64;
    const win = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) for (let j = Math.max(0, i - 2); j <= i; j++) win[i * n + j] = 1;
    expect(reachable(win, n, 63, 5).size).toBe(11); // 2 * 5 + 1, versus 32 for PowerAttention
  });

  it('sink and local blocks widen the rule', () => {
    const p = powerAttentionPattern(40, { blockSize: 2, sinkBlocks: 1, localBlocks: 3 });
    expect(listedBlocks(p, 0, 0, 19)).toEqual([0, 3, 11, 15, 17, 18, 19]);
  });

  it('rejects bad options', () => {
    expect(() => powerAttentionPattern(8, { blockSize: 2, localBlocks: 0 })).toThrow(
      /powerAttentionPattern: localBlocks must be an integer >= 1/,
    );
  });
});

describe.each(backendsUnderTest())('powerAttention on %s', (backend) => {
  it('matches the dense power-of-two mask (partial last block)', async () => {
    const { q, k, v } = qkv(1, 23, 2, 4, 1, backend);
    const isPow2 = (x: number) => x > 0 && (x & (x - 1)) === 0;
    await expectMatchesDense(powerAttention(q, k, v, { blockSize: 3 }), q, k, v, (_b, _h, i, j) => {
      const d = Math.floor(i / 3) - Math.floor(j / 3);
      return j <= i && (d === 0 || isPow2(d));
    });
  });
});

describe('powerAttention gradients', () => {
  it('match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 8, 1, 3, 2, 'cpu', 1, 'float64');
    gradcheck((a, b, c) => powerAttention(a, b, c, { blockSize: 2 }), [q, k, v]);
  });
});
