import * as core from '@attnkit/core';
import { gpuMemory } from '@attnkit/gpu-kernels';
import { afterAll, describe, expect, it } from 'vitest';
import { decayCausal, decayCausalBackward } from '../../src/index.js';
import { type ScanVariant, setMaxScanBlock, setScanVariant } from '../../src/webgpu/index.js';
import { expectMatch, hasWebGPU, pair } from './helpers.js';

// The chunked WGSL scans against the float64 CPU kernels, for both ways of carrying the state between blocks.
// Shapes cover one token, n not a multiple of the block (16, 32 or 64 tokens), odd head dims, dv above one
// 32-channel slice, dk != dv, and batch and heads above 1; decays cover 0, tiny, moderate and total (every
// block's carried state vanishes).

interface Case {
  batch: number;
  n: number;
  heads: number;
  dk: number;
  dv: number;
  decay: number[];
}

const CASES: Case[] = [
  { batch: 1, n: 1, heads: 1, dk: 3, dv: 5, decay: [0.5] },
  // The dims of the n = 200 case: the same pipelines (the token count is a run-time value) serve both.
  { batch: 2, n: 31, heads: 2, dk: 5, dv: 3, decay: [0, 2 ** -8] },
  { batch: 1, n: 65, heads: 3, dk: 3, dv: 33, decay: [0, 0.5, 40] },
  { batch: 2, n: 200, heads: 2, dk: 5, dv: 3, decay: [0.05, 0] },
];

/** Run with blocks capped at 16 tokens: five full blocks and a tail of 10 in both scan directions. */
const SHORT_BLOCKS: Case = { batch: 1, n: 90, heads: 2, dk: 7, dv: 5, decay: [0.2, 0] };

const VARIANTS: ScanVariant[] = ['sequential', 'parallel'];

function inputs(c: Case, seed: number) {
  return {
    q: pair([c.batch, c.n, c.heads, c.dk], seed),
    k: pair([c.batch, c.n, c.heads, c.dk], seed + 1),
    v: pair([c.batch, c.n, c.heads, c.dv], seed + 2),
    dO: pair([c.batch, c.n, c.heads, c.dv], seed + 3),
  };
}

const label = (c: Case) => `B${c.batch} n${c.n} H${c.heads} dk${c.dk} dv${c.dv} decay [${c.decay}]`;

describe.skipIf(!hasWebGPU)('linear.decayCausal on WebGPU', () => {
  afterAll(() => setScanVariant('auto'));

  for (const variant of VARIANTS) {
    // Pipelines compile slowly on SwiftShader: the parallel variant skips the one-token case.
    const forwardCases = variant === 'sequential' ? CASES : CASES.slice(1);
    it.each(forwardCases.map((c) => [label(c), c] as const))(
      `${variant} forward == CPU (%s)`,
      async (_, c) => {
        setScanVariant(variant);
        const { q, k, v } = inputs(c, 10);
        core.fallbackStats.reset();
        const got = decayCausal(q.gpu, k.gpu, v.gpu, { decay: c.decay });
        const want = decayCausal(q.cpu, k.cpu, v.cpu, { decay: c.decay });
        await expectMatch(got, want, `${variant} ${label(c)}`);
        expect(core.fallbackStats.ops).toBe(0);
      },
    );

    // The parallel variant's backward compiles eight pipelines per set of dims: one set here (two token counts),
    // more in the 16-token block test below.
    const backwardCases = variant === 'sequential' ? CASES.slice(1) : [CASES[1], CASES[3]];
    it.each(backwardCases.map((c) => [label(c), c] as const))(
      `${variant} backward == CPU (%s)`,
      async (_, c) => {
        setScanVariant(variant);
        const { q, k, v, dO } = inputs(c, 20);
        core.fallbackStats.reset();
        const got = decayCausalBackward(q.gpu, k.gpu, v.gpu, dO.gpu, { decay: c.decay });
        const want = decayCausalBackward(q.cpu, k.cpu, v.cpu, dO.cpu, { decay: c.decay });
        for (const [i, name] of ['dq', 'dk', 'dv'].entries()) {
          await expectMatch(got[i], want[i], `${variant} ${name} ${label(c)}`);
        }
        expect(core.fallbackStats.ops).toBe(0);
      },
    );
  }

  it.each(VARIANTS)('%s with 16-token blocks: forward and backward == CPU', async (variant) => {
    setScanVariant(variant);
    setMaxScanBlock(16);
    try {
      const c = SHORT_BLOCKS;
      const { q, k, v, dO } = inputs(c, 60);
      const got = [
        decayCausal(q.gpu, k.gpu, v.gpu, { decay: c.decay }),
        ...decayCausalBackward(q.gpu, k.gpu, v.gpu, dO.gpu, { decay: c.decay }),
      ];
      const want = [
        decayCausal(q.cpu, k.cpu, v.cpu, { decay: c.decay }),
        ...decayCausalBackward(q.cpu, k.cpu, v.cpu, dO.cpu, { decay: c.decay }),
      ];
      for (const [i, name] of ['o', 'dq', 'dk', 'dv'].entries()) {
        await expectMatch(got[i], want[i], `${variant} ${name} ${label(c)}`);
      }
    } finally {
      setMaxScanBlock(64);
    }
  });

  it('autograd through the WebGPU kernels gives the CPU gradients', async () => {
    setScanVariant('auto');
    const c = CASES[3];
    const { q, k, v, dO } = inputs(c, 30);
    const loss = (qq: core.Tensor, kk: core.Tensor, vv: core.Tensor, w: core.Tensor) =>
      core.sum(core.mul(decayCausal(qq, kk, vv, { decay: c.decay }), w));
    const g = core.valueAndGrad((a: core.Tensor, b: core.Tensor, x: core.Tensor) => loss(a, b, x, dO.gpu))(
      q.gpu,
      k.gpu,
      v.gpu,
    );
    const w = core.valueAndGrad((a: core.Tensor, b: core.Tensor, x: core.Tensor) => loss(a, b, x, dO.cpu))(
      q.cpu,
      k.cpu,
      v.cpu,
    );
    for (let i = 0; i < 3; i++) await expectMatch(g.grads[i], w.grads[i], `grad ${i}`);
  });

  it('reads inputs that are views at an offset into a larger buffer', async () => {
    setScanVariant('sequential');
    const c = CASES[1];
    const { q, k, v, dO } = inputs({ ...c, batch: 3 }, 70);
    // Batch row 1 of each: contiguous views whose data starts past the buffer's beginning.
    const row = (t: core.Tensor) => core.narrow(t, 0, 1, 1);
    const [gq, gk, gv, gdO] = [q.gpu, k.gpu, v.gpu, dO.gpu].map(row);
    const [cq, ck, cv, cdO] = [q.cpu, k.cpu, v.cpu, dO.cpu].map(row);
    expect(gq.offset).toBeGreaterThan(0);
    core.fallbackStats.reset();
    const got = [
      decayCausal(gq, gk, gv, { decay: c.decay }),
      ...decayCausalBackward(gq, gk, gv, gdO, { decay: c.decay }),
    ];
    const want = [
      decayCausal(cq, ck, cv, { decay: c.decay }),
      ...decayCausalBackward(cq, ck, cv, cdO, { decay: c.decay }),
    ];
    for (const [i, name] of ['o', 'dq', 'dk', 'dv'].entries()) await expectMatch(got[i], want[i], name);
    expect(core.fallbackStats.ops).toBe(0);
  });

  it('returns empty outputs for zero tokens', async () => {
    const q = core.zeros([1, 0, 2, 3], { backend: 'webgpu' });
    const v = core.zeros([1, 0, 2, 4], { backend: 'webgpu' });
    const o = decayCausal(q, q, v, { decay: [0, 1] });
    expect(o.shape).toEqual([1, 0, 2, 4]);
    expect((await o.data()).length).toBe(0);
    const grads = decayCausalBackward(q, q, v, v, { decay: [0, 1] });
    expect(grads.map((g) => g.shape)).toEqual([q.shape, q.shape, v.shape]);
  });

  it('falls back to the CPU (counted) for a head dim the kernels cannot hold', async () => {
    const shape = [1, 5, 1, 300];
    const q = pair(shape, 40, 0.1);
    const k = pair(shape, 41, 0.1);
    const v = pair([1, 5, 1, 2], 42);
    core.fallbackStats.reset();
    const got = decayCausal(q.gpu, k.gpu, v.gpu, { decay: [0.1] });
    expect(core.fallbackStats.names.has('linear.decayCausal')).toBe(true);
    await expectMatch(got, decayCausal(q.cpu, k.cpu, v.cpu, { decay: [0.1] }), 'dk 300 via CPU');
  });

  for (const variant of VARIANTS) {
    it(`${variant}: no growth of live WebGPU buffers over repeated forward and backward calls`, async () => {
      setScanVariant(variant);
      const c = CASES[3];
      const { q, k, v, dO } = inputs(c, 50);
      const once = async () => {
        const o = decayCausal(q.gpu, k.gpu, v.gpu, { decay: c.decay });
        const grads = decayCausalBackward(q.gpu, k.gpu, v.gpu, dO.gpu, { decay: c.decay });
        await o.data();
        for (const t of [o, ...grads]) t.dispose();
      };
      await once();
      const before = gpuMemory().liveBuffers;
      for (let i = 0; i < 3; i++) await once();
      expect(gpuMemory().liveBuffers).toBe(before);
    });
  }
});
