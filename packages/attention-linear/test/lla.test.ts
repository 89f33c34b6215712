import { sdpa } from '@attnkit/core';
import { gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { llaAttention, llaDirect } from '../src/index.js';
import { expectClose, rand } from './helpers.js';

/**
 * Per-query weighted least squares with intercept, ridge on the slope only, by the normal equations on the
 * augmented design [1, k_j - q]: min sum_j w_j |v_j - b - W (k_j - q)|^2 + lambda |W|^2; returns b.
 */
function wlsIntercept(
  q: number[],
  keys: number[][],
  vals: number[][],
  lambda: number,
  scale: number,
): number[] {
  const d = q.length;
  const p = d + 1;
  const A = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const B = Array.from({ length: p }, () => new Array<number>(vals[0].length).fill(0));
  keys.forEach((k, j) => {
    const w = Math.exp(scale * k.reduce((s, x, c) => s + x * q[c], 0));
    const x = [1, ...k.map((kc, c) => kc - q[c])];
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) A[a][b] += w * x[a] * x[b];
      for (let e = 0; e < vals[j].length; e++) B[a][e] += w * x[a] * vals[j][e];
    }
  });
  for (let a = 1; a < p; a++) A[a][a] += lambda;
  // Gauss-Jordan on [A | B].
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    [B[c], B[piv]] = [B[piv], B[c]];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = 0; j < p; j++) A[r][j] -= f * A[c][j];
      for (let e = 0; e < B[r].length; e++) B[r][e] -= f * B[c][e];
    }
  }
  return B[0].map((x) => x / A[0][0]);
}

describe('Local Linear Attention', () => {
  it('direct closed form == per-query weighted least squares (causal, several lambdas)', () => {
    const [n, d, e] = [7, 3, 2];
    const q = rand([1, n, 1, d], 1);
    const k = rand([1, n, 1, d], 2);
    const v = rand([1, n, 1, e], 3);
    const Q = q.dataSync();
    const K = k.dataSync();
    const V = v.dataSync();
    for (const lambda of [0.1, 1, 10]) {
      const got = llaDirect(q, k, v, { lambda }).dataSync();
      for (let i = 0; i < n; i++) {
        const keys = Array.from({ length: i + 1 }, (_, j) => Array.from(K.subarray(j * d, j * d + d)));
        const vals = Array.from({ length: i + 1 }, (_, j) => Array.from(V.subarray(j * e, j * e + e)));
        const want = wlsIntercept(
          Array.from(Q.subarray(i * d, i * d + d)),
          keys,
          vals,
          lambda,
          1 / Math.sqrt(d),
        );
        for (let c = 0; c < e; c++) expect(got[i * e + c]).toBeCloseTo(want[c], 9);
      }
    }
  });

  it.each([true, false])('blockwise (CG, blocks of 4, n=11) == direct (causal=%s)', (causal) => {
    const q = rand([2, 11, 2, 3], 4);
    const k = rand([2, 11, 2, 3], 5);
    const v = rand([2, 11, 2, 4], 6);
    for (const lambda of [0.5, 10]) {
      const direct = llaDirect(q, k, v, { lambda, causal }).dataSync();
      const block = llaAttention(q, k, v, { lambda, causal, blockSize: 4 }).dataSync();
      expectClose(block, direct, { atol: 1e-9, rtol: 1e-8 });
    }
  });

  it('tends to softmax attention as lambda grows (causal)', () => {
    const q = rand([1, 9, 2, 4], 7);
    const k = rand([1, 9, 2, 4], 8);
    const v = rand([1, 9, 2, 3], 9);
    const soft = sdpa(q, k, v, { causal: true }).dataSync();
    const gap = (lambda: number) => {
      const o = llaAttention(q, k, v, { lambda }).dataSync();
      return Math.max(...Array.from(o, (x, i) => Math.abs(x - soft[i])));
    };
    const gaps = [1, 100, 1e4, 1e8].map(gap);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeLessThan(gaps[i - 1]);
    expect(gaps[3]).toBeLessThan(1e-6);
  });

  it('gradcheck of the blockwise form', () => {
    gradcheck(
      (a, b, c) => llaAttention(a, b, c, { lambda: 2, blockSize: 2 }),
      [rand([1, 3, 1, 2], 10), rand([1, 3, 1, 2], 11), rand([1, 3, 1, 2], 12)],
    );
  });

  it('rejects a non-positive lambda', () => {
    const q = rand([1, 3, 1, 2], 1);
    expect(() => llaAttention(q, q, q, { lambda: 0 })).toThrow(
      /llaAttention: lambda must be a finite number > 0, got 0/,
    );
  });
});
