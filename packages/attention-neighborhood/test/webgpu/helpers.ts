// Shared by the WebGPU suites: seeded random problems of neighborhood attention, the same values on the CPU
// (the float64 oracle) and on WebGPU, and comparison of an op's outputs across the two.
import { type OpDef, runOp, type Tensor, tensor } from '@attnkit/core';
import { assertClose } from '@attnkit/core/testing';
import type { NeighborhoodAttrs } from '../../src/ops/defs.js';

/** Whether test/setup.ts found a WebGPU adapter (SwiftShader here). */
export const gpuReady = (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU === true;

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi]. */
export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** One neighborhood-attention problem. */
export interface Problem {
  batch: number;
  tokens: number[];
  heads: number;
  kvHeads: number;
  headDim: number;
  valueDim: number;
  attrs: NeighborhoodAttrs;
}

/** A short description of a problem, for test names and failure messages. */
export function describeProblem(p: Problem): string {
  const a = p.attrs;
  return `B${p.batch} tok ${p.tokens.join('x')} H${p.heads}/${p.kvHeads} d${p.headDim}/${p.valueDim} k ${a.kernelSize} d ${a.dilation} s ${a.stride} causal ${a.causal.map(Number)}`;
}

/** Upper bounds of a random draw: axis lengths and kernel sizes. */
export interface Limits {
  maxSize: number;
  maxKernel: number;
}

/** A random problem of `rank` token axes: any valid kernel size, dilation, stride and causality per axis. */
export function randomProblem(r: () => number, rank: number, lim: Limits, noCausal = false): Problem {
  const tokens: number[] = [];
  const kernelSize: number[] = [];
  const dilation: number[] = [];
  const stride: number[] = [];
  const causal: boolean[] = [];
  for (let a = 0; a < rank; a++) {
    const n = int(r, 2, lim.maxSize);
    const k = int(r, 2, Math.min(n, lim.maxKernel));
    tokens.push(n);
    kernelSize.push(k);
    dilation.push(int(r, 1, Math.floor(n / k)));
    stride.push(int(r, 1, k));
    causal.push(!noCausal && r() < 0.35);
  }
  const kvHeads = int(r, 1, 2);
  const headDim = int(r, 1, 9);
  return {
    batch: int(r, 1, 2),
    tokens,
    heads: kvHeads * int(r, 1, 2),
    kvHeads,
    headDim,
    valueDim: r() < 0.5 ? headDim : int(r, 1, 9),
    attrs: {
      kernelSize,
      dilation,
      stride,
      causal,
      scale: 0.3 + r(),
      hasRpb: false,
      numExtra: 0,
    },
  };
}

/** The same random float32 values as a CPU tensor and a WebGPU tensor. */
export interface Pair {
  cpu: Tensor;
  gpu: Tensor;
}

/** Random values in [-1, 1) of `shape` on both backends. */
export function pair(r: () => number, shape: number[]): Pair {
  const n = shape.reduce((x, y) => x * y, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = 2 * r() - 1;
  return { cpu: tensor(v, { shape, backend: 'cpu' }), gpu: tensor(v, { shape, backend: 'webgpu' }) };
}

/** Runs `op` on the CPU and on WebGPU and checks every output against the CPU's (WebGPU tolerance). */
export async function compareOp<A>(op: OpDef<A>, inputs: Pair[], attrs: A, what: string): Promise<Tensor[]> {
  const want = runOp(
    op,
    inputs.map((p) => p.cpu),
    attrs,
  );
  const got = runOp(
    op,
    inputs.map((p) => p.gpu),
    attrs,
  );
  try {
    for (let i = 0; i < want.length; i++) {
      if (got[i].backend.name !== 'webgpu') throw new Error(`${what}: output ${i} is not on webgpu`);
      try {
        await assertClose(got[i], want[i]);
      } catch (e) {
        throw new Error(`${what}: output ${i}: ${(e as Error).message}`);
      }
    }
  } finally {
    for (const t of want) t.dispose();
  }
  return got;
}

/** Disposes the tensors of pairs and lists. */
export function disposeAll(...xs: (Pair | Tensor | null | undefined)[]): void {
  for (const x of xs) {
    if (!x) continue;
    if ('cpu' in x) {
      x.cpu.dispose();
      x.gpu.dispose();
    } else x.dispose();
  }
}

/** Random-problem bounds per token rank (1-D, 2-D, 3-D): small, SwiftShader is slow. */
export const FUSED_LIMITS = [
  { maxSize: 40, maxKernel: 12 },
  { maxSize: 10, maxKernel: 5 },
  { maxSize: 6, maxKernel: 4 },
];

/** Random q, k, v (and bias, extra keys when the attributes ask) of a problem. */
export function inputsOf(r: () => number, p: Problem): Pair[] {
  const tok = [p.batch, ...p.tokens];
  const xs = [
    pair(r, [...tok, p.heads, p.headDim]),
    pair(r, [...tok, p.kvHeads, p.headDim]),
    pair(r, [...tok, p.kvHeads, p.valueDim]),
  ];
  if (p.attrs.hasRpb) xs.push(pair(r, [p.heads, ...p.attrs.kernelSize.map((k) => 2 * k - 1)]));
  if (p.attrs.numExtra > 0) {
    xs.push(pair(r, [p.batch, p.attrs.numExtra, p.kvHeads, p.headDim]));
    xs.push(pair(r, [p.batch, p.attrs.numExtra, p.kvHeads, p.valueDim]));
  }
  return xs;
}
