import * as core from '@attnkit/core';
import { type Tensor, UNARY_OPS } from '@attnkit/core';
import { describe, it } from 'vitest';
import { expectMatch, hasWebGPU, pair } from './helpers.js';

const SHAPES = [[1], [7], [3, 5], [2, 3, 67], [513]];

// Inputs in a range where each op is defined (log of positives, ...).
const RANGE: Record<string, [number, number]> = {
  log: [0.05, 4],
  sqrt: [0.05, 4],
  rsqrt: [0.1, 4],
  log1p: [-0.9, 3],
  reciprocal: [0.2, 3],
};

type UnaryFn = (x: Tensor, ...args: never[]) => Tensor;
const fn = (name: string) => (core as unknown as Record<string, UnaryFn>)[name];

const ATTR_CASES: Record<string, ((x: Tensor) => Tensor)[]> = {
  gelu: [(x) => core.gelu(x), (x) => core.gelu(x, { approximate: 'tanh' })],
  elu: [(x) => core.elu(x), (x) => core.elu(x, 0.3)],
  leakyRelu: [(x) => core.leakyRelu(x), (x) => core.leakyRelu(x, 0.2)],
  softplus: [(x) => core.softplus(x), (x) => core.softplus(x, { beta: 2, threshold: 1.5 })],
  clamp: [(x) => core.clamp(x, -0.5, 0.7), (x) => core.clamp(x, -1), (x) => core.clamp(x, undefined, 0.25)],
};

describe.skipIf(!hasWebGPU)('unary ops on WebGPU match the CPU', () => {
  for (const name of Object.keys(UNARY_OPS)) {
    it(name, async () => {
      const cases = ATTR_CASES[name] ?? [(x: Tensor) => fn(name)(x)];
      for (const [s, shape] of SHAPES.entries()) {
        const [lo, hi] = RANGE[name] ?? [-3, 3];
        const { cpu, gpu } = pair(shape, 100 + s, 'float32', lo, hi);
        for (const [c, f] of cases.entries()) await expectMatch(f(gpu), f(cpu), `${name}#${c} ${shape}`);
      }
    });
  }

  it('integer and bool inputs keep the CPU dtypes', async () => {
    const { cpu, gpu } = pair([4, 9], 7, 'int32', -20, 20);
    for (const f of [
      core.neg,
      core.abs,
      core.sign,
      core.square,
      core.relu,
      core.floor,
      core.round,
      core.logicalNot,
    ])
      await expectMatch(f(gpu), f(cpu), `int32 ${f.name}`);
    await expectMatch(core.clamp(gpu, -3.5, 7.2), core.clamp(cpu, -3.5, 7.2), 'int32 clamp');
    await expectMatch(core.exp(gpu), core.exp(cpu), 'int32 exp (float output)');
    const b = pair([5, 3], 8, 'bool');
    await expectMatch(core.logicalNot(b.gpu), core.logicalNot(b.cpu), 'bool logicalNot');
  });
});

const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const LOGICAL = ['logicalAnd', 'logicalOr', 'logicalXor'];
type BinFn = (a: Tensor | number, b: Tensor | number) => Tensor;
const bin = (name: string) => (core as unknown as Record<string, BinFn>)[name];

// Pairs of shapes that broadcast, including odd sizes and size-1 axes on either side.
const BROADCAST: [number[], number[]][] = [
  [[5], [5]],
  [
    [3, 7],
    [3, 7],
  ],
  [[3, 7], [7]],
  [
    [2, 1, 5],
    [4, 1],
  ],
  [[1], [6, 3]],
  [
    [33, 1],
    [1, 17],
  ],
];

describe.skipIf(!hasWebGPU)('binary ops on WebGPU match the CPU, broadcasting', () => {
  for (const name of [...BINARY, ...LOGICAL]) {
    it(name, async () => {
      for (const [k, [sa, sb]] of BROADCAST.entries()) {
        const pos = name === 'pow';
        const a = pair(sa, 10 + k, 'float32', pos ? 0.1 : -2, 2);
        // Integer-valued b so that eq/ne see equal elements and pow sees negative bases in the int case below.
        const b = pair(sb, 20 + k, 'float32', -2, 2);
        await expectMatch(bin(name)(a.gpu, b.gpu), bin(name)(a.cpu, b.cpu), `${name} ${sa} ${sb}`);
        await expectMatch(bin(name)(a.gpu, 0.5), bin(name)(a.cpu, 0.5), `${name} ${sa} scalar`);
        const ia = pair(sa, 30 + k, 'int32', -3, 4);
        const ib = pair(sb, 40 + k, 'int32', -3, 4);
        await expectMatch(bin(name)(ia.gpu, ib.gpu), bin(name)(ia.cpu, ib.cpu), `${name} int32 ${sa} ${sb}`);
      }
    });
  }

  it('logical ops and where on bool tensors', async () => {
    const a = pair([4, 5], 1, 'bool');
    const b = pair([5], 2, 'bool');
    for (const name of LOGICAL)
      await expectMatch(bin(name)(a.gpu, b.gpu), bin(name)(a.cpu, b.cpu), `bool ${name}`);
    const x = pair([3, 4, 5], 3);
    const y = pair([4, 1], 4);
    await expectMatch(core.where(a.gpu, x.gpu, y.gpu), core.where(a.cpu, x.cpu, y.cpu), 'where');
    await expectMatch(core.where(b.gpu, x.gpu, 0), core.where(b.cpu, x.cpu, 0), 'where scalar');
  });

  it('cast between every pair of dtypes', async () => {
    const dts = ['float32', 'int32', 'bool'] as const;
    for (const from of dts) {
      const x = pair([3, 11], 5, from, -4, 4);
      for (const to of dts) {
        if (to === from) continue;
        await expectMatch(core.cast(x.gpu, to), core.cast(x.cpu, to), `cast ${from} -> ${to}`);
      }
    }
  });

  it('views: contiguous copies of permuted, sliced and expanded tensors; unslice', async () => {
    const x = pair([4, 5, 6], 9);
    await expectMatch(
      core.contiguous(core.permute(x.gpu, [2, 0, 1])),
      core.contiguous(core.permute(x.cpu, [2, 0, 1])),
      'permute',
    );
    const sl = (t: Tensor) => core.slice(t, [[1, 4, 2], null, [5, 0, 1]]);
    const slr = (t: Tensor) => core.slice(t, [2, [1, 5, 3], [1, 6, 2]]);
    await expectMatch(core.contiguous(sl(x.gpu)), core.contiguous(sl(x.cpu)), 'slice');
    await expectMatch(core.contiguous(slr(x.gpu)), core.contiguous(slr(x.cpu)), 'slice with index');
    const e = pair([3, 1], 11);
    await expectMatch(
      core.contiguous(core.expand(e.gpu, [2, 3, 7])),
      core.contiguous(core.expand(e.cpu, [2, 3, 7])),
      'expand',
    );
    // A strided input to an elementwise op goes through the contiguous kernel first.
    await expectMatch(core.exp(core.transpose(x.gpu)), core.exp(core.transpose(x.cpu)), 'exp of transpose');
    // unslice runs as the gradient of slice.
    const g = (t: Tensor) => core.valueAndGrad((v: Tensor) => core.sum(core.mul(slr(v), slr(v))))(t).grads[0];
    await expectMatch(g(x.gpu), g(x.cpu), 'unslice (gradient of slice)');
  });
});
