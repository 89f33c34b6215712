import { memory, sum, tidy } from '@attnkit/core';
import { backendsUnderTest, compareArrays, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { neighborhoodAttention } from '../src/index.js';
import { CASES, makeCase, optionsOf } from './cases.js';
import { denseReference } from './reference.js';

// Every case on the CPU; on other backends (SwiftShader in CI, slow) the cases their kernels cover most, since
// test/webgpu compares each WGSL kernel with the CPU kernels on many more shapes.
const GPU_CASES = new Set(['1-D causal k5 s2', '2-D mixed', '3-D']);

describe.each(backendsUnderTest())('%s', (backend) => {
  const cases = CASES.filter((c) => backend === 'cpu' || GPU_CASES.has(c.name));
  describe.each(['fused', 'unfused'] as const)('neighborhoodAttention, %s', (kernel) => {
    it.each(cases.map((c) => [c.name, c] as const))(
      '%s equals dense attention under the NATTEN mask',
      async (_n, c) => {
        const t = makeCase(c, backend);
        const { out, lse } = neighborhoodAttention(t.q, t.k, t.v, {
          ...optionsOf(c, t),
          returnLse: true,
          kernel,
        });
        const cpu = makeCase(c, 'cpu');
        const ref = denseReference(cpu.q, cpu.k, cpu.v, c.win, cpu);
        const tol = toleranceFor(backend);
        expect(out.shape).toEqual([2, ...c.tokens, c.heads, c.valueDim]);
        expect(lse.shape).toEqual([2, ...c.tokens, c.heads]);
        expect(compareArrays(Float64Array.from(await out.data()), ref.out, tol).bad).toBe(0);
        expect(compareArrays(Float64Array.from(await lse.data()), ref.lse, tol).bad).toBe(0);
        for (const x of [out, lse, ...Object.values(t), ...Object.values(cpu)]) x?.dispose();
      },
    );
  });

  it('leaves no tensor behind after repeated calls', () => {
    // With the bias and extra keys on the CPU; elsewhere a case whose kernels the tests above compiled already.
    const c = backend === 'cpu' ? CASES[7] : CASES[5];
    const t = makeCase(c, backend);
    const before = memory(backend).tensors;
    for (const kernel of ['fused', 'unfused'] as const) {
      for (let r = 0; r < 2; r++) {
        const res = neighborhoodAttention(t.q, t.k, t.v, { ...optionsOf(c, t), returnLse: true, kernel });
        res.out.dispose();
        res.lse.dispose();
      }
    }
    expect(memory(backend).tensors).toBe(before);
    for (const x of Object.values(t)) x?.dispose();
  });

  it('leaves no tensor behind after repeated forward and backward passes', () => {
    const c = CASES[2]; // causal, strided, GQA
    const t = makeCase(c, backend);
    t.q.setRequiresGrad();
    t.k.setRequiresGrad();
    const step = (kernel: 'fused' | 'unfused') => {
      tidy(() => {
        const { out, lse } = neighborhoodAttention(t.q, t.k, t.v, {
          ...optionsOf(c, t),
          returnLse: true,
          kernel,
        });
        sum(out).add(sum(lse)).backward();
      });
      t.q.grad?.dispose();
      t.k.grad?.dispose();
      t.q.grad = null;
      t.k.grad = null;
    };
    step('fused');
    step('unfused');
    const before = memory(backend).tensors;
    for (let r = 0; r < 2; r++) {
      step('fused');
      step('unfused');
    }
    expect(memory(backend).tensors).toBe(before);
    for (const x of Object.values(t)) x?.dispose();
  });
});
