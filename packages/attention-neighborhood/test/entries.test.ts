import {
  attentionWorkloadFor,
  checkAttentionOutput,
  disposeAttentionInputs,
  getAttentionOp,
  listAttentionOps,
  sampleQueryRows,
} from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';
import { bruteMask } from './reference.js';

const NAMES = ['na1d', 'na1d-causal', 'na2d', 'na2d-unfused', 'na3d', 'halo'];

describe('attention-op registry entries', () => {
  it('registers na1d, na1d-causal, na2d, na2d-unfused, na3d and halo', () => {
    const mine = listAttentionOps().filter((e) => e.packageName === '@attnkit/attention-neighborhood');
    expect(mine.map((e) => e.name)).toEqual(NAMES);
  });

  it.each(NAMES)('%s: every default workload matches its reference on sampled rows (cpu)', async (name) => {
    const entry = getAttentionOp(name);
    for (const w of entry.defaultWorkloads()) {
      const inputs = entry.makeInputs(w, { backend: 'cpu', seed: 7 });
      const out = entry.run(inputs, w);
      const check = await checkAttentionOutput(entry, w, out, {
        seed: 7,
        rows: sampleQueryRows(w.tokens, 12),
      });
      expect(check.bad, `${name} ${w.label}`).toBe(0);
      out.dispose();
      disposeAttentionInputs(inputs);
    }
  });

  it.each(['na1d', 'na2d', 'na3d', 'na1d-causal'])(
    '%s: pattern and flops follow the brute-force mask',
    (name) => {
      const entry = getAttentionOp(name);
      for (const w of entry.defaultWorkloads()) {
        const p = w.params;
        const win = {
          kernelSize: p.kernelSize as number[],
          dilation: p.dilation as number[],
          stride: p.stride as number[],
          causal: w.tokens.map(() => p.isCausal as boolean),
        };
        const mask = bruteMask(w.tokens, win);
        for (const q of sampleQueryRows(w.tokens, 6)) {
          expect([...entry.pattern(w, q)]).toEqual(mask[q].map(Number));
        }
        const pairs = mask.reduce((s, row) => s + row.filter(Boolean).length, 0);
        expect(entry.flops(w)).toBe(4 * w.batch * w.heads * w.headDim * pairs);
      }
    },
  );

  it('workloadFor gives the default window and refuses grids smaller than it', () => {
    const w = attentionWorkloadFor(getAttentionOp('na2d'), {
      batch: 1,
      tokens: [9, 9],
      heads: 1,
      headDim: 8,
    });
    expect(w.params.kernelSize).toEqual([7, 7]);
    expect(() =>
      attentionWorkloadFor(getAttentionOp('na2d'), { batch: 1, tokens: [5, 9], heads: 1, headDim: 8 }),
    ).toThrow(/na2d: kernelSize\[0\] \* dilation\[0\] must be at most the token axis size 5/);
    expect(() =>
      attentionWorkloadFor(getAttentionOp('halo'), { batch: 1, tokens: [7], heads: 1, headDim: 8 }),
    ).toThrow(/halo: workload.tokens must be sizes divisible by a block size of 2, 4 or 8/);
  });
});
