import { sdpa } from '@attnkit/core';
import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { mobaAttention, mobaLayout } from '../../src/methods/moba/moba.js';
import { expectGradsMatchDense, expectMatchesDense, host, layoutMask, qkv } from './helpers.js';

/**
 * MoBA's mask written from the spec (6.1, naive version), independently of the implementation: gates from
 * real-token block means, -inf for blocks not fully past, +inf for the own block, top-k with ties to the
 * lower index, then token-level causality.
 */
function mobaMaskRef(
  q: Float64Array,
  k: Float64Array,
  [b, n, h, d]: number[],
  kvHeads: number,
  chunk: number,
  topk: number,
): (bb: number, hh: number, i: number, j: number) => boolean {
  const nb = Math.ceil(n / chunk);
  const sel = new Map<string, Set<number>>();
  for (let bb = 0; bb < b; bb++) {
    for (let hh = 0; hh < h; hh++) {
      const kh = Math.floor(hh / (h / kvHeads));
      for (let t = 0; t < n; t++) {
        const gates: number[] = [];
        for (let c = 0; c < nb; c++) {
          if (c === Math.floor(t / chunk)) {
            gates.push(Number.POSITIVE_INFINITY);
            continue;
          }
          if ((c + 1) * chunk > t) {
            gates.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let g = 0;
          const end = Math.min(n, (c + 1) * chunk);
          for (let e = 0; e < d; e++) {
            let m = 0;
            for (let j = c * chunk; j < end; j++) m += k[((bb * n + j) * kvHeads + kh) * d + e];
            g += q[((bb * n + t) * h + hh) * d + e] * (m / (end - c * chunk));
          }
          gates.push(g);
        }
        const order = gates.map((g, c) => [g, c]).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        const chosen = order
          .slice(0, Math.min(topk, nb))
          .filter(([g]) => g > Number.NEGATIVE_INFINITY)
          .map(([, c]) => c);
        sel.set(`${bb},${hh},${t}`, new Set(chosen));
      }
    }
  }
  return (bb, hh, i, j) => j <= i && sel.get(`${bb},${hh},${i}`)!.has(Math.floor(j / chunk));
}

describe.each(backendsUnderTest())('MoBA on %s', (backend) => {
  it('layout and output match the spec mask (partial last block, GQA)', async () => {
    const [b, n, h, kvh, d] = [2, 21, 4, 2, 8];
    const { q, k, v } = qkv(b, n, h, d, 1, backend, kvh);
    const opts = { chunkSize: 4, topk: 3 };
    const ref = mobaMaskRef(await host(q), await host(k), [b, n, h, d], kvh, 4, 3);
    const m = await layoutMask(mobaLayout(q, k, opts), n, n, true);
    for (let bb = 0; bb < b; bb++)
      for (let hh = 0; hh < h; hh++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const got = m.data[((bb * h + hh) * n + i) * n + j] === 1;
            if (got !== ref(bb, hh, i, j)) expect.fail(`mask differs at b${bb} h${hh} q${i} k${j}`);
          }
    await expectMatchesDense(mobaAttention(q, k, v, opts), q, k, v, ref);
  });

  it.skipIf(backend !== 'cpu')('topk >= blocks and chunk >= n both equal causal attention', async () => {
    const { q, k, v } = qkv(1, 13, 2, 4, 5, backend);
    const causal = (_b: number, _h: number, i: number, j: number) => j <= i;
    await expectMatchesDense(mobaAttention(q, k, v, { chunkSize: 3, topk: 5 }), q, k, v, causal);
    await expectMatchesDense(mobaAttention(q, k, v, { chunkSize: 16, topk: 1 }), q, k, v, causal);
  });

  it.skipIf(backend !== 'cpu')(
    'topk = 1 is own-block-only causal attention (the naive reference, our decision)',
    async () => {
      const { q, k, v } = qkv(1, 12, 2, 4, 7, backend);
      const out = mobaAttention(q, k, v, { chunkSize: 4, topk: 1 });
      await expectMatchesDense(
        out,
        q,
        k,
        v,
        (_b, _h, i, j) => j <= i && Math.floor(j / 4) === Math.floor(i / 4),
      );
      // ... and so it differs from full causal attention (what MoBA's efficient kernel returns for k = 1).
      const full = await sdpa(q, k, v, { causal: true }).data();
      const got = await out.data();
      expect(Math.max(...got.map((x, i) => Math.abs(x - full[i])))).toBeGreaterThan(1e-3);
    },
  );

  it('gradients match dense masked attention', async () => {
    const { q, k, v } = qkv(1, 10, 2, 4, 13, backend);
    const ref = mobaMaskRef(await host(q), await host(k), [1, 10, 2, 4], 2, 3, 2);
    await expectGradsMatchDense((a, b, c) => mobaAttention(a, b, c, { chunkSize: 3, topk: 2 }), q, k, v, ref);
  });

  it('rejects bad options', () => {
    const { q, k, v } = qkv(1, 8, 1, 4, 1, backend);
    expect(() => mobaAttention(q, k, v, { chunkSize: 0, topk: 2 })).toThrow(
      /mobaAttention: chunkSize must be/,
    );
    expect(() => mobaAttention(q, k, v, { chunkSize: 4, topk: 1.5 })).toThrow(/mobaAttention: topk must be/);
  });
});

describe('MoBA gradients', () => {
  it('match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 7, 2, 3, 11, 'cpu', 1, 'float64');
    gradcheck((a, b, c) => mobaAttention(a, b, c, { chunkSize: 2, topk: 2 }), [q, k, v]);
  });
});
