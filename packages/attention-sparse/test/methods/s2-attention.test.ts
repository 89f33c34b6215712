import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { listedBlocks } from '../../src/methods/pattern.js';
import { s2Attention } from '../../src/methods/s2-attention/attention.js';
import {
  checkS2Coverage,
  s2AttentionPattern,
  s2UncoveredBlocks,
} from '../../src/methods/s2-attention/pattern.js';
import { expectMatchesDense, qkv } from './helpers.js';

/** dkernel's token mask written from the spec: kron(M, ones(B, B)), then tril when causal (bottom-right). */
function s2TokenRef(
  B: number,
  V: number,
  local: number,
  heads: number,
  nq: number,
  nk: number,
  causal = true,
) {
  const step = Math.max(1, Math.floor(V / heads));
  return (_b: number, h: number, i: number, j: number) => {
    const qb = Math.floor((i + nk - nq) / B);
    const kb = Math.floor(j / B);
    if (causal) {
      return qb >= kb && (qb - kb < local || (kb + h * step) % V === 0) && j <= i + nk - nq;
    }
    const left = Math.max(qb - kb - local + 1, 0);
    const right = Math.max(kb - qb - local + 1, 0);
    return (left + right) % V === 0;
  };
}

describe('S2-Attention pattern', () => {
  it("reproduces the spec's worked example (V=4, 4 heads, local=2, causal, qb=9)", () => {
    const p = s2AttentionPattern(40, 40, { blockSize: 4, localBlocks: 2, vertStride: 4, heads: 4 });
    expect(listedBlocks(p, 0, 0, 9)).toEqual([0, 4, 8, 9]);
    expect(listedBlocks(p, 0, 1, 9)).toEqual([3, 7, 8, 9]);
    const union = new Set([0, 1, 2, 3].flatMap((h) => listedBlocks(p, 0, h, 9)));
    expect([...union].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('heads together cover every causal block; too few phases leave gaps and the check says so', () => {
    const ok = { blockSize: 4, localBlocks: 1, vertStride: 4, heads: 4 };
    expect(s2UncoveredBlocks(12, ok)).toEqual([]);
    expect(() => checkS2Coverage(12, ok)).not.toThrow();
    const gappy = { ...ok, heads: 2, headSlidingStep: 1 };
    expect(s2UncoveredBlocks(12, gappy).length).toBeGreaterThan(0);
    expect(() => checkS2Coverage(12, gappy)).toThrow(/s2Attention: .* must be heads whose vertical phases/);
    // Homogeneous heads share one phase, so they never shard the context.
    expect(s2UncoveredBlocks(12, { ...ok, homoHead: true }).length).toBeGreaterThan(0);
  });

  it('dense heads read every causal block; GQA repeats the kv-head pattern', () => {
    const p = s2AttentionPattern(32, 32, {
      blockSize: 4,
      vertStride: 4,
      heads: 4,
      kvHeads: 2,
      numDenseHeads: 1,
    });
    expect(listedBlocks(p, 0, 2, 7)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(listedBlocks(p, 0, 0, 7)).toEqual(listedBlocks(p, 0, 1, 7));
  });

  it('rejects bad options', () => {
    expect(() => s2AttentionPattern(8, 8, { blockSize: 0, vertStride: 2, heads: 1 })).toThrow(
      /s2AttentionPattern: blockSize must be an integer >= 1/,
    );
    expect(() => s2AttentionPattern(8, 10, { blockSize: 4, vertStride: 2, heads: 1 })).toThrow(
      /nk - nq must be a multiple of blockSize 4/,
    );
    expect(() => s2AttentionPattern(8, 8, { blockSize: 4, vertStride: 2, heads: 3, kvHeads: 2 })).toThrow(
      /kvHeads must be a divisor of heads/,
    );
  });
});

describe.each(backendsUnderTest())('s2Attention on %s', (backend) => {
  it('matches the dense token mask (causal, decoding with nk > nq, partial block)', async () => {
    const { q } = qkv(1, 7, 4, 4, 1, backend);
    const { k, v } = qkv(1, 15, 4, 4, 2, backend);
    const out = s2Attention(q, k, v, { blockSize: 4, localBlocks: 1, vertStride: 2 });
    // nk - nq = 8 is two blocks of past keys.
    await expectMatchesDense(out, q, k, v, s2TokenRef(4, 2, 1, 4, 7, 15));
  });

  it('bidirectional form matches the relative-position rule', async () => {
    const { q, k, v } = qkv(1, 18, 2, 4, 3, backend);
    const out = s2Attention(q, k, v, { blockSize: 3, localBlocks: 2, vertStride: 3, causal: false });
    await expectMatchesDense(out, q, k, v, s2TokenRef(3, 3, 2, 2, 18, 18, false));
  });

  it('V = 1 is causal attention', async () => {
    const { q, k, v } = qkv(2, 11, 2, 4, 4, backend);
    await expectMatchesDense(
      s2Attention(q, k, v, { blockSize: 4, vertStride: 1 }),
      q,
      k,
      v,
      (_b, _h, i, j) => j <= i,
    );
  });
});

describe('s2Attention gradients', () => {
  it('match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 6, 2, 3, 9, 'cpu', 2, 'float64');
    gradcheck((a, b, c) => s2Attention(a, b, c, { blockSize: 2, vertStride: 2 }), [q, k, v]);
  });
});
