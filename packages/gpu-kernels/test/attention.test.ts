import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues } from './helpers.js';

type Pair = ReturnType<typeof pair>;

/** One attention problem: shapes of q, k, v, and the options (mask/bias given as shapes). */
interface Case {
  name: string;
  q: number[];
  k: number[];
  v: number[];
  causal?: boolean;
  scale?: number;
  mask?: number[];
  bias?: number[];
  /** Query rows (flattened index into the mask's query axis) whose mask is all false. */
  maskedRows?: number[];
}

const CASES: Case[] = [
  { name: 'nq != nk, not tile multiples', q: [2, 37, 2, 16], k: [2, 45, 2, 16], v: [2, 45, 2, 16] },
  { name: '2-D token axes, dv != d', q: [1, 5, 7, 2, 8], k: [1, 3, 6, 2, 8], v: [1, 3, 6, 2, 12] },
  {
    name: 'GQA 4/2, d32 dv8, causal',
    q: [1, 40, 4, 32],
    k: [1, 40, 2, 32],
    v: [1, 40, 2, 8],
    causal: true,
  },
  // Head sizes that are not multiples of 4: the forward's vec4 lanes past d / dv must read as 0.
  { name: 'odd head dims d5 dv7', q: [1, 23, 2, 5], k: [1, 30, 2, 5], v: [1, 30, 2, 7] },
  { name: 'odd head dims d3 dv1, causal', q: [2, 9, 1, 3], k: [2, 9, 1, 3], v: [2, 9, 1, 1], causal: true },
  { name: 'causal nq < nk', q: [1, 20, 2, 8], k: [1, 50, 2, 8], v: [1, 50, 2, 8], causal: true },
  { name: 'causal nq > nk', q: [1, 50, 2, 8], k: [1, 20, 2, 8], v: [1, 20, 2, 8], causal: true, scale: 0.7 },
  {
    name: 'mask [1,1,Nq,Nk] with a fully masked row',
    q: [2, 33, 2, 16],
    k: [2, 35, 2, 16],
    v: [2, 35, 2, 16],
    mask: [1, 1, 33, 35],
    maskedRows: [3, 32],
  },
  { name: 'mask [B,1,1,Nk]', q: [2, 19, 2, 8], k: [2, 41, 2, 8], v: [2, 41, 2, 8], mask: [2, 1, 1, 41] },
  { name: 'bias [1,H,Nq,Nk]', q: [2, 21, 3, 8], k: [2, 34, 3, 8], v: [2, 34, 3, 8], bias: [1, 3, 21, 34] },
  {
    name: 'bias [B,H,Nq,Nk] + mask [B,1,Nq,Nk] + causal, GQA',
    q: [2, 24, 4, 16],
    k: [2, 24, 2, 16],
    v: [2, 24, 2, 8],
    bias: [2, 4, 24, 24],
    mask: [2, 1, 24, 24],
    causal: true,
  },
  { name: 'bias [B,1,1,Nk]', q: [2, 17, 2, 8], k: [2, 29, 2, 8], v: [2, 29, 2, 8], bias: [2, 1, 1, 29] },
  // Big head dims fill workgroup memory sooner: key tiles of 25 (32 KiB) or 12 (16 KiB) keys, so causal tile
  // bounds fall off the 32-row query tiles.
  {
    name: 'causal, d64 dv256, GQA 2/1',
    q: [1, 45, 2, 64],
    k: [1, 45, 1, 64],
    v: [1, 45, 1, 256],
    causal: true,
  },
  // More than one key tile of the dK/dV kernel: causally skipped query tiles must still give dbias 0.
  {
    name: 'causal, bias [1,H,Nq,Nk], 2 key tiles',
    q: [1, 40, 2, 8],
    k: [1, 40, 2, 8],
    v: [1, 40, 2, 8],
    bias: [1, 2, 40, 40],
    causal: true,
  },
  { name: 'no keys: out 0, lse -Infinity', q: [1, 3, 2, 8], k: [1, 0, 2, 8], v: [1, 0, 2, 8] },
  { name: 'bias [Nk] (rank 1)', q: [1, 9, 2, 8], k: [1, 13, 2, 8], v: [1, 13, 2, 8], bias: [13] },
];

/** The inputs of a case on both backends (values in [-1, 1), mask about 80% true). */
function inputs(c: Case, seed: number) {
  const q = pair(c.q, seed, 'float32', -1, 1);
  const k = pair(c.k, seed + 1, 'float32', -1, 1);
  const v = pair(c.v, seed + 2, 'float32', -1, 1);
  let mask: Pair | undefined;
  if (c.mask) {
    const vals = randomValues(c.mask, seed + 3, 'float32', 0, 1);
    const m = Uint8Array.from(vals, (x) => (x < 0.8 ? 1 : 0));
    const nk = c.mask[3];
    for (const r of c.maskedRows ?? []) m.fill(0, r * nk, (r + 1) * nk);
    mask = {
      cpu: core.tensor(m, { shape: c.mask, dtype: 'bool', backend: 'cpu' }),
      gpu: core.tensor(m, { shape: c.mask, dtype: 'bool', backend: 'webgpu' }),
    };
  }
  const bias = c.bias ? pair(c.bias, seed + 4, 'float32', -1, 1) : undefined;
  return { q, k, v, mask, bias };
}

function opts(c: Case, mask?: Tensor, bias?: Tensor): core.SdpaOptions & { returnLse?: false } {
  return { causal: c.causal ?? false, scale: c.scale, mask, bias };
}

/** Checks `out` and `lse` against the oracle (and the fully masked rows' out 0 and lse -Infinity). */
async function checkForward(c: Case, seed: number): Promise<void> {
  const { q, k, v, mask, bias } = inputs(c, seed);
  const g = core.sdpa(q.gpu, k.gpu, v.gpu, { ...opts(c, mask?.gpu, bias?.gpu), returnLse: true });
  const r = core.sdpa(q.cpu, k.cpu, v.cpu, { ...opts(c, mask?.cpu, bias?.cpu), returnLse: true });
  await expectMatch(g.out, r.out, `${c.name}: out`);
  await expectMatch(g.lse, r.lse, `${c.name}: lse`);
  if (c.maskedRows) {
    // The oracle's convention for a query that attends nothing: out 0 and lse -Infinity.
    const lse = await g.lse.data();
    const out = await g.out.data();
    const [heads, dv] = [c.q[2], c.v[3]];
    for (const i of c.maskedRows) {
      expect(lse[i * heads], `${c.name}: lse of masked row ${i}`).toBe(Number.NEGATIVE_INFINITY);
      expect(out[i * heads * dv], `${c.name}: out of masked row ${i}`).toBe(0);
    }
  }
}

/** Checks the gradients of q, k, v (and the bias) of a loss using both `out` and `lse` against the oracle. */
async function checkBackward(c: Case, seed: number): Promise<void> {
  const { q, k, v, mask, bias } = inputs(c, seed);
  const outShape = [...c.q.slice(0, -1), c.v[c.v.length - 1]];
  const wOut = pair(outShape, seed + 5, 'float32', -1, 1);
  const wLse = pair(c.q.slice(0, -1), seed + 6, 'float32', -1, 1);
  const run = (be: 'cpu' | 'gpu') => {
    const m = mask?.[be];
    const wo = wOut[be];
    const wl = wLse[be];
    const loss = (qq: Tensor, kk: Tensor, vv: Tensor, bb?: Tensor) => {
      const { out, lse } = core.sdpa(qq, kk, vv, { ...opts(c, m, bb), returnLse: true });
      // Fully masked rows have lse -Infinity: weight only the finite ones (the gradient there is 0 anyway).
      const finite = core.where(core.gt(lse, -1e30), core.mul(lse, wl), 0);
      return core.add(core.sum(core.mul(out, wo)), core.sum(finite));
    };
    const args = [q[be], k[be], v[be], ...(bias ? [bias[be]] : [])];
    return core.valueAndGrad(loss)(...args);
  };
  const g = run('gpu');
  const r = run('cpu');
  await expectMatch(g.value, r.value, `${c.name}: loss`);
  const names = ['dq', 'dk', 'dv', 'dbias'];
  for (const [a, gg] of g.grads.entries()) {
    await expectMatch(gg, r.grads[a], `${c.name}: ${names[a]}`);
  }
}

describe.skipIf(!hasWebGPU)('sdpa on WebGPU matches the CPU oracle', () => {
  for (const [n, c] of CASES.entries()) {
    it(`${c.name}: forward (out, lse) and backward (dq, dk, dv, dbias)`, async () => {
      await checkForward(c, 100 + 10 * n);
      await checkBackward(c, 300 + 10 * n);
    });
  }

  it('B1 H4 N256 d32: forward and backward match, and are timed', async () => {
    const shape = [1, 256, 4, 32];
    const q = pair(shape, 7, 'float32', -1, 1);
    const k = pair(shape, 8, 'float32', -1, 1);
    const v = pair(shape, 9, 'float32', -1, 1);
    // Warm-up compiles the pipelines.
    await core.sdpa(q.gpu, k.gpu, v.gpu).data();
    let t0 = performance.now();
    const out = core.sdpa(q.gpu, k.gpu, v.gpu);
    await out.data();
    const fwd = performance.now() - t0;
    await expectMatch(out, core.sdpa(q.cpu, k.cpu, v.cpu), 'N256 out');
    const loss = (a: Tensor, b: Tensor, c: Tensor) => core.sum(core.sdpa(a, b, c));
    core.valueAndGrad(loss)(q.gpu, k.gpu, v.gpu);
    t0 = performance.now();
    const g = core.valueAndGrad(loss)(q.gpu, k.gpu, v.gpu);
    await g.grads[0].data();
    const bwd = performance.now() - t0;
    const r = core.valueAndGrad(loss)(q.cpu, k.cpu, v.cpu);
    for (const a of [0, 1, 2]) await expectMatch(g.grads[a], r.grads[a], `N256 grad ${a}`);
    console.log(
      `sdpa B1 H4 N256 d32 on WebGPU: forward ${fwd.toFixed(1)} ms, value and grad ${bwd.toFixed(1)} ms`,
    );
  });

  it('does not leak buffers over repeated forward and backward calls', async () => {
    const c = CASES.find((x) => x.name === 'bias [B,H,Nq,Nk] + mask [B,1,Nq,Nk] + causal, GQA') as Case;
    const { q, k, v, mask, bias } = inputs(c, 900);
    const once = async () => {
      const g = core.valueAndGrad((qq: Tensor, kk: Tensor, vv: Tensor, bb: Tensor) =>
        core.sum(core.sdpa(qq, kk, vv, opts(c, mask?.gpu, bb))),
      )(q.gpu, k.gpu, v.gpu, bias?.gpu as Tensor);
      await g.value.data();
      g.value.dispose();
      for (const t of g.grads) t.dispose();
      const y = core.sdpa(q.gpu, k.gpu, v.gpu, { ...opts(c, mask?.gpu, bias?.gpu), returnLse: true });
      await y.lse.data();
      y.out.dispose();
      y.lse.dispose();
    };
    await once();
    const before = gpuMemory().liveBuffers;
    for (let n = 0; n < 3; n++) await once();
    expect(gpuMemory().liveBuffers).toBe(before);
  });

  it('rejects head dims it cannot hold with a clear error', () => {
    const q = core.zeros([1, 2, 1, 300], { backend: 'webgpu' });
    expect(() => core.sdpa(q, q, q)).toThrow(/headDim.*between 1 and 256/);
  });
});
