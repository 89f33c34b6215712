// Small random problems covering the parameter space: 1-3 token axes, odd and even kernels, dilation, stride,
// causal per axis, GQA, a value size unlike the head size, the relative bias and extra keys.
import { randomNormal, type Tensor } from '@attnkit/core';
import type { Win } from './reference.js';

/** One test problem. */
export interface Case {
  name: string;
  tokens: number[];
  heads: number;
  kvHeads: number;
  dim: number;
  valueDim: number;
  win: Win;
  rpb?: boolean;
  extra?: number;
}

const win = (
  kernelSize: number[],
  dilation = kernelSize.map(() => 1),
  stride = kernelSize.map(() => 1),
  causal = kernelSize.map(() => false),
): Win => ({ kernelSize, dilation, stride, causal });

export const CASES: Case[] = [
  { name: '1-D k3 d2', tokens: [9], heads: 2, kvHeads: 2, dim: 4, valueDim: 4, win: win([3], [2]) },
  {
    name: '1-D even k4 blocked',
    tokens: [10],
    heads: 2,
    kvHeads: 1,
    dim: 3,
    valueDim: 5,
    win: win([4], [1], [4]),
  },
  {
    name: '1-D causal k5 s2',
    tokens: [11],
    heads: 4,
    kvHeads: 2,
    dim: 4,
    valueDim: 3,
    win: win([5], [1], [2], [true]),
  },
  {
    name: '1-D rpb k4 d2',
    tokens: [9],
    heads: 2,
    kvHeads: 2,
    dim: 4,
    valueDim: 4,
    win: win([4], [2]),
    rpb: true,
  },
  {
    name: '1-D extra keys',
    tokens: [8],
    heads: 2,
    kvHeads: 1,
    dim: 4,
    valueDim: 4,
    win: win([3], [1], [1], [true]),
    extra: 3,
  },
  {
    name: '2-D mixed',
    tokens: [5, 6],
    heads: 2,
    kvHeads: 2,
    dim: 4,
    valueDim: 4,
    win: win([3, 4], [1, 1], [1, 2], [true, false]),
  },
  {
    name: '2-D dilated',
    tokens: [6, 5],
    heads: 2,
    kvHeads: 1,
    dim: 3,
    valueDim: 3,
    win: win([2, 2], [2, 2]),
  },
  {
    name: '2-D rpb + extra',
    tokens: [5, 5],
    heads: 2,
    kvHeads: 2,
    dim: 4,
    valueDim: 2,
    win: win([3, 2], [1, 2], [2, 1]),
    rpb: true,
    extra: 2,
  },
  {
    name: '3-D',
    tokens: [3, 4, 5],
    heads: 2,
    kvHeads: 1,
    dim: 3,
    valueDim: 3,
    win: win([2, 3, 3], [1, 1, 1], [1, 1, 2], [true, false, false]),
  },
];

/** The tensors of `c` on `backend`, float32 (or `dtype`), drawn from `seed`. */
export function makeCase(c: Case, backend: string, seed = 1, dtype: 'float32' | 'float64' = 'float32') {
  const opts = (s: number) => ({ seed: seed + s, backend, dtype });
  const B = 2;
  const q = randomNormal([B, ...c.tokens, c.heads, c.dim], opts(0));
  const k = randomNormal([B, ...c.tokens, c.kvHeads, c.dim], opts(1));
  const v = randomNormal([B, ...c.tokens, c.kvHeads, c.valueDim], opts(2));
  const rpb: Tensor | undefined = c.rpb
    ? randomNormal([c.heads, ...c.win.kernelSize.map((x) => 2 * x - 1)], opts(3))
    : undefined;
  const extraK = c.extra ? randomNormal([B, c.extra, c.kvHeads, c.dim], opts(4)) : undefined;
  const extraV = c.extra ? randomNormal([B, c.extra, c.kvHeads, c.valueDim], opts(5)) : undefined;
  return { q, k, v, rpb, extraK, extraV };
}

/** The options of `neighborhoodAttention` for `c` and its tensors. */
export function optionsOf(c: Case, t: ReturnType<typeof makeCase>) {
  return {
    kernelSize: c.win.kernelSize,
    dilation: c.win.dilation,
    stride: c.win.stride,
    isCausal: c.win.causal,
    rpb: t.rpb,
    additionalKeys: t.extraK,
    additionalValues: t.extraV,
  };
}
