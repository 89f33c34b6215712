// Benchmark cases of the block-sparse engine, shared by `run.ts` (CPU and SwiftShader here) and `gpu.ts` (the
// lent GPU). The timing helpers and the dense fused-attention cases come from gpu-kernels' benchmark.
import { grad, sum, type Tensor } from '@attnkit/core';
import {
  type BenchCase,
  mulberry32,
  type Prepared,
  prepared,
  randomTensor,
} from '../../gpu-kernels/bench/cases.js';
import { type BlockLayout, blockSparseAttention, layoutFromBlockLists } from '../src/engine/index.js';
import { type KernelVariant, setKernelVariant } from '../src/webgpu/index.js';

/** Shapes of a block-sparse case: q, k, v `[batch, tokens, heads, headDim]`, square blocks of `block`. */
export interface SparseShape {
  batch: number;
  heads: number;
  tokens: number;
  headDim: number;
  block: number;
}

/**
 * A random block pattern per head, `[heads][queryBlocks]` lists of key blocks (ascending): every query block
 * keeps its diagonal block plus `round(density * blocks) - 1` others drawn uniformly without replacement, so
 * every row does the same work and the density is `round(density * blocks) / blocks`.
 */
export function randomBlockPattern(
  blocks: number,
  heads: number,
  density: number,
  seed: number,
): number[][][] {
  const next = mulberry32(seed);
  const perRow = Math.max(1, Math.min(blocks, Math.round(density * blocks)));
  return Array.from({ length: heads }, () =>
    Array.from({ length: blocks }, (_, qb) => {
      // Partial Fisher-Yates over the other blocks.
      const others = Array.from({ length: blocks - 1 }, (_, i) => (i < qb ? i : i + 1));
      for (let i = 0; i < perRow - 1; i++) {
        const j = i + (next() % (others.length - i));
        [others[i], others[j]] = [others[j], others[i]];
      }
      return [qb, ...others.slice(0, perRow - 1)].sort((x, y) => x - y);
    }),
  );
}

/** The layout of a per-head pattern (shared by the batch). */
export function patternLayout(pattern: number[][][], block: number): BlockLayout {
  return layoutFromBlockLists([pattern], { blockQ: block, blockK: block });
}

function sparseName(kind: string, s: SparseShape, density: number): string {
  return `sparse ${kind} B${s.batch} H${s.heads} N${s.tokens} d${s.headDim} b${s.block} ${Math.round(density * 1000) / 10}%`;
}

/** Real density of a pattern: listed block pairs over all pairs. */
export function patternDensity(pattern: number[][][]): number {
  const blocks = pattern[0].length;
  const listed = pattern.reduce((n, rows) => n + rows.reduce((m, r) => m + r.length, 0), 0);
  return listed / (pattern.length * blocks * blocks);
}

function prepareSparse(
  s: SparseShape,
  pattern: number[][][],
  backend: string,
  run: (q: Tensor, k: Tensor, v: Tensor, layout: BlockLayout) => unknown,
): Prepared {
  const shape = [s.batch, s.tokens, s.heads, s.headDim];
  const ts = [0, 1, 2].map((i) => randomTensor(shape, 40 + i, backend));
  const cpuLayout = patternLayout(pattern, s.block);
  // The layout lives on the benchmark's backend, so steps time the attention only.
  const layout = { ...cpuLayout, kvBlocks: cpuLayout.kvBlocks.to(backend) };
  const p = prepared(ts, (q, k, v) => run(q, k, v, layout));
  return {
    step: p.step,
    dispose: () => {
      p.dispose();
      layout.kvBlocks.dispose();
      cpuLayout.kvBlocks.dispose();
    },
  };
}

/**
 * Block-sparse forward with a per-head random pattern of the given density; with a `variant`, those WebGPU
 * kernels (named `fwd-simple` / `fwd-tiled`), else the default choice.
 */
export function sparseCase(
  s: SparseShape,
  pattern: number[][][],
  variant: KernelVariant = 'auto',
): BenchCase {
  const density = patternDensity(pattern);
  const run = (q: Tensor, k: Tensor, v: Tensor, layout: BlockLayout) => {
    const prev = setKernelVariant(variant);
    try {
      return blockSparseAttention(q, k, v, layout);
    } finally {
      setKernelVariant(prev);
    }
  };
  return {
    name: sparseName(variant === 'auto' ? 'fwd' : `fwd-${variant}`, s, density),
    ops: ['sparse.blockForward'],
    params: { ...s, density },
    flops: 4 * s.batch * s.heads * s.tokens * s.tokens * s.headDim * density,
    flopsRule: '4*B*H*N*N*d*density (two matmuls over the listed blocks)',
    bytes: 4 * s.batch * s.tokens * s.heads * (4 * s.headDim + 1),
    prepare: (b) => prepareSparse(s, pattern, b, run),
  };
}

/** Block-sparse forward and backward: the gradients of `sum(out)` for q, k and v (kernels as in `sparseCase`). */
export function sparseTrainCase(
  s: SparseShape,
  pattern: number[][][],
  variant: KernelVariant = 'auto',
): BenchCase {
  const density = patternDensity(pattern);
  let layoutRef: BlockLayout | null = null;
  const g = grad((q, k, v) => sum(blockSparseAttention(q, k, v, layoutRef as BlockLayout).out));
  return {
    name: sparseName(variant === 'auto' ? 'fwd+bwd' : `fwd+bwd-${variant}`, s, density),
    ops: ['sparse.blockForward', 'sparse.blockBackward'],
    params: { ...s, density },
    flops: 14 * s.batch * s.heads * s.tokens * s.tokens * s.headDim * density,
    flopsRule: '4*B*H*N*N*d*density forward + 10*B*H*N*N*d*density backward',
    bytes: 4 * s.batch * s.tokens * s.heads * (4 * s.headDim + 1 + 8 * s.headDim + 1),
    prepare: (b) =>
      prepareSparse(s, pattern, b, (q, k, v, layout) => {
        layoutRef = layout;
        const prev = setKernelVariant(variant);
        try {
          return g(q, k, v);
        } finally {
          setKernelVariant(prev);
        }
      }),
  };
}
