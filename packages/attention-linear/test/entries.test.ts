import { disposeAttentionInputs, getAttentionOp, listAttentionOps, tokenCount } from '@attnkit/core';
import { backendsUnderTest, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { LINEAR_ATTENTION_OPS } from '../src/index.js';
import { expectClose } from './helpers.js';

describe('attention-op registry entries', () => {
  it('registers every op of the package, none with softmax weights', () => {
    const names = listAttentionOps()
      .filter((e) => e.packageName === '@attnkit/attention-linear')
      .map((e) => e.name);
    expect(names).toEqual([...LINEAR_ATTENTION_OPS]);
    expect(names).toEqual(
      expect.arrayContaining([
        'linear',
        'linear-causal',
        'lightning2',
        'lightnet',
        'lightnet-md',
        'inline',
        'l2vit',
        'lla',
        'kronecker',
      ]),
    );
    for (const name of names) {
      const e = getAttentionOp(name);
      expect(e.weights).toBeUndefined();
      for (const w of e.defaultWorkloads()) {
        expect(e.flops(w)).toBeGreaterThan(0);
        const n = tokenCount(w);
        const last = e.pattern(w, n - 1);
        expect(last.length).toBe(n);
        expect(last[n - 1]).toBe(1);
      }
    }
    expect(() =>
      getAttentionOp('kronecker').workloadFor!({ batch: 1, tokens: [64], heads: 1, headDim: 8 }),
    ).toThrow(/kronecker: workload.tokens must be at most 32 tokens, got 64 tokens/);
  });

  // On WebGPU only the ops that run the scan primitive's kernel: the others are compositions of core ops, which
  // gpu-kernels tests itself, and would only make this suite slow on SwiftShader.
  const SCAN_OPS = ['linear-causal', 'lightning2', 'lightnet'];
  describe.each(backendsUnderTest())('on %s', (backend) => {
    const ops = backend === 'cpu' ? [...LINEAR_ATTENTION_OPS] : SCAN_OPS;
    it.each(ops)('%s: run == reference on its default workloads', async (name) => {
      const e = getAttentionOp(name);
      for (const w of e.defaultWorkloads()) {
        const inputs = e.makeInputs(w, { backend, seed: 3 });
        const cpuInputs = e.makeInputs(w, { backend: 'cpu', seed: 3 });
        const out = e.run(inputs, w);
        expect(out.shape).toEqual([w.batch, ...w.tokens, w.heads, w.headDim]);
        const ref = e.reference(cpuInputs, w);
        expectClose(await out.data(), ref.values, toleranceFor(backend));
        out.dispose();
        disposeAttentionInputs(inputs);
        disposeAttentionInputs(cpuInputs);
      }
    });
  });
});
