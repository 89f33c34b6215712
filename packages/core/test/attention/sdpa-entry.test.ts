import { describe, expect, it } from 'vitest';
import {
  checkAttentionOutput,
  disposeAttentionInputs,
  getAttentionOp,
  listAttentionOps,
  memory,
  sampleQueryRows,
  tokenCount,
  zeros,
} from '../../src/index.js';
import { backendsUnderTest } from '../../src/testing/index.js';

const sdpa = getAttentionOp('sdpa');
const causal = getAttentionOp('sdpa-causal');

describe('sdpa attention entries', () => {
  it('draw dense and causal patterns in row-major token order', () => {
    const w = causal.workloadFor!({ batch: 1, tokens: [3, 4], heads: 1, headDim: 8 });
    // Query (1, 2) is flat index 6: it sees keys 0..6.
    expect([...causal.pattern(w, 6)]).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect([...causal.pattern(w, 0)].indexOf(0)).toBe(1);
    expect([...sdpa.pattern(w, 6)]).toEqual(new Array(12).fill(1));
    expect(() => sdpa.pattern(w, 12)).toThrow(
      /sdpa.pattern: queryIndex must be a token index in \[0, 12\), got 12/,
    );
  });

  it('count 4*B*H*d FLOPs per attended (query, key) pair', () => {
    const w = sdpa.workloadFor!({ batch: 1, tokens: [56, 56], heads: 4, headDim: 32 });
    expect(sdpa.flops(w)).toBe(4 * 4 * 32 * 3136 * 3136); // about 5.0 GFLOP
    expect(causal.flops(w)).toBe(4 * 4 * 32 * ((3136 * 3137) / 2));
    // The causal count equals the number of ones in its pattern, summed over queries.
    const small = causal.workloadFor!({ batch: 2, tokens: [5], heads: 3, headDim: 2 });
    let pairs = 0;
    for (let i = 0; i < 5; i++) pairs += causal.pattern(small, i).reduce((s, v) => s + v, 0);
    expect(causal.flops(small)).toBe(4 * 2 * 3 * 2 * pairs);
  });

  it('check outputs of the right shape only', async () => {
    const w = sdpa.defaultWorkloads()[1];
    const wrong = zeros([1, 144, 2, 16]);
    await expect(checkAttentionOutput(sdpa, w, wrong, { seed: 0 })).rejects.toThrow(
      /checkAttentionOutput\(sdpa\): output must be \[1, 12, 12, 2, valueDim\], got \[1, 144, 2, 16\]/,
    );
    wrong.dispose();
  });

  it('give softmax weights that sum to one over the attended keys', () => {
    const w = causal.defaultWorkloads()[1];
    const inputs = causal.makeInputs(w, { backend: 'cpu', seed: 3 });
    const weights = causal.weights!(inputs, w, { query: 40, batch: 0, head: 1 });
    expect(weights.subarray(0, 41).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(weights.subarray(41).every((v) => v === 0)).toBe(true);
    disposeAttentionInputs(inputs);
  });
});

describe.each(backendsUnderTest())('registered attention ops on %s', (backend) => {
  for (const entry of listAttentionOps()) {
    for (const w of entry.defaultWorkloads()) {
      it(`${entry.name} ${w.tokens.join('x')}: run matches the float64 reference`, async () => {
        const before = memory(backend).tensors;
        const inputs = entry.makeInputs(w, { backend, seed: 5 });
        const out = entry.run(inputs, w);
        expect(out.shape).toEqual([w.batch, ...w.tokens, w.heads, w.headDim]);
        const check = await checkAttentionOutput(entry, w, out, { seed: 5 });
        expect(check.bad).toBe(0);
        expect(check.maxAbsError).toBeLessThan(1e-4);
        expect(check.rows).toHaveLength(tokenCount(w));
        // A subset of rows gives exactly the rows of the full reference.
        const rows = sampleQueryRows(w.tokens, 5, 1);
        const sampled = await checkAttentionOutput(entry, w, out, { seed: 5, rows });
        expect(sampled.rows).toEqual(rows);
        expect(sampled.maxAbsError).toBeLessThanOrEqual(check.maxAbsError);
        // A different seed gives different inputs, which the check must notice.
        const wrongSeed = await checkAttentionOutput(entry, w, out, { seed: 6, rows });
        expect(wrongSeed.bad).toBeGreaterThan(0);
        out.dispose();
        disposeAttentionInputs(inputs);
        expect(memory(backend).tensors).toBe(before);
      });
    }
  }
});
