// The neighborhood-attention benchmark cases shared by run.ts (CPU and SwiftShader here) and gpu.ts (the lent
// GPU), in the BenchCase form of gpu-kernels' bench helpers: inputs built once per backend, a step that runs
// the op and frees what it made.
import { grad, sdpa, sum, type Tensor } from '@attnkit/core';
import { type BenchCase, prepared, randomTensor } from '../../gpu-kernels/bench/cases.js';
import { NEIGHBORHOOD_OPS, neighborhoodAttention } from '../src/index.js';

/** One neighborhood-attention problem: `[batch, ...tokens, heads, headDim]`, one window size for every axis. */
export interface NaShape {
  batch: number;
  heads: number;
  tokens: number[];
  headDim: number;
  kernelSize: number;
}

/** Fused (flash-style WGSL) or unfused (qk -> softmax -> av, the "naive" baseline). */
export type NaKernel = 'fused' | 'unfused';

function prod(xs: number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** Tokens per batch item. */
export function tokensOf(s: NaShape): number {
  return prod(s.tokens);
}

/** Keys each query sees. */
export function windowOf(s: NaShape): number {
  return s.kernelSize ** s.tokens.length;
}

/** The FLOP-bound speedup over dense attention on the same tokens: `N / prod(k)` (spec 1.6). */
export function flopBound(s: NaShape): number {
  return tokensOf(s) / windowOf(s);
}

/** `na{rank}d B.. H.. AxB d.. k..` */
export function naName(kind: string, s: NaShape): string {
  return `na${s.tokens.length}d ${kind} B${s.batch} H${s.heads} ${s.tokens.join('x')} d${s.headDim} k${s.kernelSize}`;
}

function qkv(shape: number[], backend: string, seed: number): Tensor[] {
  return [0, 1, 2].map((i) => randomTensor(shape, seed + i, backend));
}

/** A problem's shapes and options, for the JSON. */
function naParams(s: NaShape): Record<string, number> {
  return {
    batch: s.batch,
    heads: s.heads,
    tokens: tokensOf(s),
    headDim: s.headDim,
    kernelSize: s.kernelSize,
    rank: s.tokens.length,
  };
}

/** The ops a kernel variant needs on the backend (listKernels), forward only or with the backward. */
function opsOf(kernel: NaKernel, train: boolean): string[] {
  if (kernel === 'fused')
    return train ? [NEIGHBORHOOD_OPS.forward, NEIGHBORHOOD_OPS.backward] : [NEIGHBORHOOD_OPS.forward];
  const fwd = [NEIGHBORHOOD_OPS.qk, 'softmax', NEIGHBORHOOD_OPS.av];
  return train ? [...fwd, NEIGHBORHOOD_OPS.scatter] : fwd;
}

/** Neighborhood attention forward, q, k, v `[batch, ...tokens, heads, headDim]`. */
export function naCase(s: NaShape, kernel: NaKernel): BenchCase {
  const shape = [s.batch, ...s.tokens, s.heads, s.headDim];
  return {
    name: naName(`${kernel} fwd`, s),
    ops: opsOf(kernel, false),
    params: naParams(s),
    flops: 4 * s.batch * s.heads * tokensOf(s) * windowOf(s) * s.headDim,
    flopsRule: '4*B*H*N*prod(k)*d (two products over each window)',
    bytes: 4 * s.batch * s.heads * tokensOf(s) * s.headDim * 4,
    prepare: (b) =>
      prepared(qkv(shape, b, 50), (q, k, v) =>
        neighborhoodAttention(q, k, v, { kernelSize: s.kernelSize, kernel }),
      ),
  };
}

/** Forward and backward: the gradients of `sum(na(q, k, v))` for q, k and v. */
export function naTrainCase(s: NaShape, kernel: NaKernel): BenchCase {
  const shape = [s.batch, ...s.tokens, s.heads, s.headDim];
  const g = grad((q, k, v) =>
    sum(neighborhoodAttention(q, k, v, { kernelSize: s.kernelSize, kernel }) as Tensor),
  );
  return {
    name: naName(`${kernel} fwd+bwd`, s),
    ops: opsOf(kernel, true),
    params: naParams(s),
    flops: 14 * s.batch * s.heads * tokensOf(s) * windowOf(s) * s.headDim,
    flopsRule: '4*B*H*N*prod(k)*d forward + 10*B*H*N*prod(k)*d backward',
    bytes: 4 * s.batch * s.heads * tokensOf(s) * s.headDim * 7,
    prepare: (b) => prepared(qkv(shape, b, 60), (q, k, v) => g(q, k, v)),
  };
}

/** Dense attention (core's fused `sdpa`) over the same tokens, flattened: the baseline of the speedups. */
export function denseCase(s: NaShape): BenchCase {
  const n = tokensOf(s);
  return {
    name: `dense sdpa fwd B${s.batch} H${s.heads} N${n} d${s.headDim}`,
    ops: ['sdpa'],
    params: { batch: s.batch, heads: s.heads, tokens: n, headDim: s.headDim },
    flops: 4 * s.batch * s.heads * n * n * s.headDim,
    flopsRule: '4*B*H*N*N*d',
    bytes: 4 * s.batch * s.heads * n * s.headDim * 4,
    prepare: (b) => prepared(qkv([s.batch, n, s.heads, s.headDim], b, 70), (q, k, v) => sdpa(q, k, v)),
  };
}
