import { ones, sdpa } from '@attnkit/core';
import { gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { kroneckerRef } from '../src/entries/references.js';
import { kroneckerAttention } from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

describe('Kronecker attention', () => {
  it('== its definition (sum over key pairs), and is symmetric in (k1, v1) <-> (k2, v2)', () => {
    const [B, n, H, d, e] = [2, 5, 2, 3, 2];
    const q = rand([B, n, H, d], 1);
    const k1 = rand([B, n, H, d], 2);
    const k2 = rand([B, n, H, d], 3);
    const v1 = rand([B, n, H, e], 4);
    const v2 = rand([B, n, H, e], 5);
    const got = kroneckerAttention(q, k1, k2, v1, v2, { scale: 0.7 });
    const x = { q: q.dataSync(), k: k1.dataSync(), v: v1.dataSync(), batch: B, n, heads: H, dk: d, dv: e };
    const rows = Array.from({ length: n }, (_, i) => i);
    expectClose(got.dataSync(), kroneckerRef(x, k2.dataSync(), v2.dataSync(), rows, 0.7), F64);
    expectClose(kroneckerAttention(q, k2, k1, v2, v1, { scale: 0.7 }).dataSync(), got.dataSync(), F64);
  });

  it('the memory-chunked form (loop over j1, merged by log-sum-exp) == the full einsum, values and gradients', () => {
    const xs = [1, 2, 3, 4, 5].map((s) => rand([1, 7, 2, 3], 20 + s, { scale: 1.5 }));
    const [q, k1, k2, v1, v2] = xs;
    const full = kroneckerAttention(q, k1, k2, v1, v2);
    for (const chunk of [1, 3]) {
      expectClose(kroneckerAttention(q, k1, k2, v1, v2, { chunk }).dataSync(), full.dataSync(), F64);
    }
    gradcheck(
      (a, b, c, d, e) => kroneckerAttention(a, b, c, d, e, { chunk: 2 }),
      [1, 2, 3, 4, 5].map((s) => rand([1, 3, 1, 2], 30 + s)),
    );
  });

  it('with k2 = v2 = 1 it is softmax attention of (q, k1, v1)', () => {
    const q = rand([1, 6, 2, 3], 6);
    const k = rand([1, 6, 2, 3], 7);
    const v = rand([1, 6, 2, 3], 8);
    const one = ones([1, 6, 2, 3], { dtype: 'float64', backend: 'cpu' });
    expectClose(
      kroneckerAttention(q, k, one, v, one).dataSync(),
      sdpa(q, k, v, { scale: 1 }).dataSync(),
      F64,
    );
  });

  it('gradcheck in all five inputs', () => {
    const xs = [1, 2, 3, 4, 5].map((s) => rand([1, 3, 1, 2], 10 + s));
    gradcheck((a, b, c, d, e) => kroneckerAttention(a, b, c, d, e), xs);
  });

  it('errors name the argument', () => {
    const q = rand([1, 3, 1, 2], 1);
    expect(() => kroneckerAttention(q, q, rand([1, 4, 1, 2], 2), q, q)).toThrow(
      /kroneckerAttention: k2 must be the shape of q/,
    );
  });
});
