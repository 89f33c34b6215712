import {
  checkAttentionOutput,
  disposeAttentionInputs,
  getAttentionOp,
  landmarkQueries,
  listAttentionOps,
  sampleQueryRows,
  tokenCount,
} from '@attnkit/core';
import { backendsUnderTest } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { SPARSE_ATTENTION_OPS } from '../../src/index.js';

describe('registered sparse attention ops', () => {
  it('every method is registered once, by this package', () => {
    expect(SPARSE_ATTENTION_OPS).toEqual([
      'block-sparse',
      's2-attention',
      'power-attention',
      'radial-attention',
      'moba',
      'vmoba',
      'biformer',
      'dynamic-mask',
      'routing',
      'consciousness',
    ]);
    const ours = listAttentionOps().filter((e) => e.packageName === '@attnkit/attention-sparse');
    expect(ours.map((e) => e.name)).toEqual([...SPARSE_ATTENTION_OPS]);
  });

  it('patterns are 0/1 masks over every key, flops positive and at most dense', () => {
    for (const name of SPARSE_ATTENTION_OPS) {
      const e = getAttentionOp(name);
      const w = e.defaultWorkloads()[0];
      const n = tokenCount(w);
      expect(e.flops(w)).toBeGreaterThan(0);
      expect(e.flops(w)).toBeLessThanOrEqual(4 * w.batch * w.heads * w.headDim * n * n);
      for (const { index } of landmarkQueries(w.tokens)) {
        const m = e.pattern(w, index);
        expect(m.length).toBe(n);
        expect(m.every((x) => x === 0 || x === 1)).toBe(true);
      }
      expect(() => e.pattern(w, n)).toThrow(new RegExp(`${name}.pattern: queryIndex must be`));
    }
  });

  it('workloadFor gives clear errors for grids an op does not take', () => {
    expect(() =>
      getAttentionOp('biformer').workloadFor!({ batch: 1, tokens: [5, 5], heads: 1, headDim: 4 }),
    ).toThrow(/biformer.workloadFor: tokens must be a grid cut by/);
    expect(() =>
      getAttentionOp('moba').workloadFor!({ batch: 1, tokens: [4, 4], heads: 1, headDim: 4 }),
    ).toThrow(/moba.workloadFor: tokens must be 1 token axes/);
    expect(() =>
      getAttentionOp('vmoba').workloadFor!({ batch: 1, tokens: [128], heads: 1, headDim: 4 }),
    ).toThrow(/vmoba.workloadFor: tokens must be 2 or 3 token axes/);
  });

  it('the video ops also run on a 2-D grid (frames x tokens for radial, one frame for VMoBA)', async () => {
    for (const name of ['radial-attention', 'vmoba']) {
      const e = getAttentionOp(name);
      const w = e.workloadFor!({ batch: 1, tokens: [12, 12], heads: 2, headDim: 8 });
      const inputs = e.makeInputs(w, { backend: 'cpu', seed: 3 });
      const out = e.run(inputs, w);
      expect(out.shape).toEqual([1, 12, 12, 2, 8]);
      const check = await checkAttentionOutput(e, w, out, {
        seed: 3,
        rows: sampleQueryRows(w.tokens, 12, 2),
      });
      expect(check.bad, name).toBe(0);
    }
  });
});

describe.each(backendsUnderTest())('entries run and match their references on %s', (backend) => {
  // On WebGPU the static patterns run here; the content-based methods' WebGPU runs are in their own files.
  const content = new Set(['moba', 'vmoba', 'biformer', 'dynamic-mask', 'routing', 'consciousness']);
  for (const name of SPARSE_ATTENTION_OPS) {
    it.skipIf(backend !== 'cpu' && content.has(name))(name, async () => {
      const e = getAttentionOp(name);
      // Small grids keep SwiftShader quick; the default workloads run in the first describe's checks.
      const tokens = e.tokenRank === 1 ? [48] : e.tokenRank === 2 ? [8, 8] : [4, 4, 4];
      const w = e.workloadFor!({ batch: 2, tokens, heads: 2, headDim: 8 });
      const inputs = e.makeInputs(w, { backend, seed: 5 });
      const out = e.run(inputs, w);
      const check = await checkAttentionOutput(e, w, out, {
        seed: 5,
        rows: sampleQueryRows(w.tokens, 16, 1),
      });
      expect(check.bad, `${name}: max abs error ${check.maxAbsError}`).toBe(0);
      disposeAttentionInputs(inputs);
      out.dispose();
    });
  }
});
