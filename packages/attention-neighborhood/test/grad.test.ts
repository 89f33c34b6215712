import { add, clamp, randomNormal, runOp1, sum, type Tensor, valueAndGrad } from '@attnkit/core';
import { backendsUnderTest, compareArrays, gradcheck, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  haloAttention,
  type NeighborhoodAttrs,
  neighborhoodAttention,
  neighborhoodAvOp,
  neighborhoodQkOp,
  runScatter,
} from '../src/index.js';
import { type Case, makeCase, optionsOf } from './cases.js';

// Tiny float64 problems: gradcheck costs two forward passes per input element.
const TINY: Case[] = [
  {
    name: '1-D causal GQA s2',
    tokens: [5],
    heads: 2,
    kvHeads: 1,
    dim: 2,
    valueDim: 3,
    win: { kernelSize: [3], dilation: [1], stride: [2], causal: [true] },
  },
  {
    name: '1-D rpb d2 + extra',
    tokens: [6],
    heads: 2,
    kvHeads: 2,
    dim: 2,
    valueDim: 2,
    win: { kernelSize: [2], dilation: [2], stride: [1], causal: [false] },
    rpb: true,
    extra: 2,
  },
  {
    name: '2-D rpb even',
    tokens: [3, 4],
    heads: 1,
    kvHeads: 1,
    dim: 2,
    valueDim: 2,
    win: { kernelSize: [2, 3], dilation: [1, 1], stride: [1, 2], causal: [false, false] },
    rpb: true,
  },
  {
    name: '3-D causal',
    tokens: [2, 3, 3],
    heads: 2,
    kvHeads: 1,
    dim: 2,
    valueDim: 2,
    win: { kernelSize: [2, 2, 2], dilation: [1, 1, 1], stride: [1, 1, 1], causal: [true, false, true] },
  },
];

function inputsOf(c: Case) {
  const t = makeCase({ ...c }, 'cpu', 3, 'float64');
  // gradcheck's batch of 2 doubles the cost; keep it (batch is a summed axis of dRpb).
  const list: Tensor[] = [t.q, t.k, t.v];
  if (t.rpb) list.push(t.rpb);
  if (t.extraK && t.extraV) list.push(t.extraK, t.extraV);
  return { t, list };
}

describe.each(['fused', 'unfused'] as const)('gradients, %s', (kernel) => {
  it.each(TINY.map((c) => [c.name, c] as const))('%s: q, k, v, rpb and extra keys', (_n, c) => {
    const { t, list } = inputsOf(c);
    const f = (...xs: Tensor[]) => {
      const [q, k, v, ...rest] = xs;
      const rpb = c.rpb ? rest.shift() : undefined;
      const [extraK, extraV] = rest;
      return neighborhoodAttention(q, k, v, {
        ...optionsOf(c, t),
        rpb,
        additionalKeys: extraK,
        additionalValues: extraV,
        kernel,
      });
    };
    expect(() => gradcheck(f, list)).not.toThrow();
  });

  it.each(TINY.map((c) => [c.name, c] as const))('%s: through the log-sum-exp too', (_n, c) => {
    const { t, list } = inputsOf(c);
    const f = (...xs: Tensor[]) => {
      const [q, k, v, ...rest] = xs;
      const rpb = c.rpb ? rest.shift() : undefined;
      const [extraK, extraV] = rest;
      const { out, lse } = neighborhoodAttention(q, k, v, {
        ...optionsOf(c, t),
        rpb,
        additionalKeys: extraK,
        additionalValues: extraV,
        kernel,
        returnLse: true,
      });
      return add(sum(out, { axis: -1 }), lse);
    };
    expect(() => gradcheck(f, list)).not.toThrow();
  });
});

describe('the unfused primitives', () => {
  const attrs: NeighborhoodAttrs = {
    kernelSize: [3, 2],
    dilation: [1, 2],
    stride: [2, 1],
    causal: [true, false],
    scale: 0.7,
    hasRpb: false,
    numExtra: 0,
  };
  const f64 = (shape: number[], seed: number) =>
    randomNormal(shape, { seed, dtype: 'float64', backend: 'cpu' });
  const q = f64([1, 4, 4, 2, 2], 1);
  const k = f64([1, 4, 4, 1, 2], 2);
  const w = f64([1, 4, 4, 2, 6], 3);
  // Causal slots are -Infinity; clamping them to a constant keeps the projected sum finite.
  it('qk: dq, dk', () => gradcheck((a, b) => clamp(runOp1(neighborhoodQkOp, [a, b], attrs), -1e3), [q, k]));
  it('av: dW, dv', () => gradcheck((a, b) => runOp1(neighborhoodAvOp, [a, b], attrs), [w, k]));
  it('scatter: dW, dx', () => gradcheck((a, b) => runScatter(a, b, 1, attrs), [w, q]));
});

describe('HaloNet gradients', () => {
  it.each([
    [[6], 2, 1, 2, 1],
    [[4, 4], 2, 1, 2, 2],
  ])('tokens %j, block %i, halo %i, heads %i / kv %i', (tokens, b, h, heads, kvHeads) => {
    const r = (shape: number[], seed: number) =>
      randomNormal(shape, { seed, dtype: 'float64', backend: 'cpu' });
    const q = r([1, ...tokens, heads, 2], 1);
    const k = r([1, ...tokens, kvHeads, 2], 2);
    const v = r([1, ...tokens, kvHeads, 3], 3);
    expect(() =>
      gradcheck((a, c, d) => haloAttention(a, c, d, { blockSize: b, haloSize: h }), [q, k, v]),
    ).not.toThrow();
  });
});

describe.each(backendsUnderTest())('gradients on %s match the float64 CPU gradients', (backend) => {
  it.each(['fused', 'unfused'] as const)('%s, through out and lse', async (kernel) => {
    const c = TINY[0];
    const grads = async (where: string, dtype: 'float32' | 'float64') => {
      const t = makeCase(c, where, 9, dtype);
      const wOut = randomNormal([2, ...c.tokens, c.heads, c.valueDim], { seed: 20, backend: where, dtype });
      const wLse = randomNormal([2, ...c.tokens, c.heads], { seed: 21, backend: where, dtype });
      const f = (q: Tensor, k: Tensor, v: Tensor) => {
        const { out, lse } = neighborhoodAttention(q, k, v, { ...optionsOf(c, t), returnLse: true, kernel });
        return add(sum(out.mul(wOut)), sum(lse.mul(wLse)));
      };
      const { grads: g } = valueAndGrad(f)(t.q, t.k, t.v);
      return Promise.all(g.map(async (x) => Float64Array.from(await x.data())));
    };
    const got = await grads(backend, 'float32');
    const want = await grads('cpu', 'float64');
    got.forEach((g, i) => expect(compareArrays(g, want[i], toleranceFor(backend)).bad, `input ${i}`).toBe(0));
  });
});
