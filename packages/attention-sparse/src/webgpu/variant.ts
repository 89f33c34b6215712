import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';

// The WebGPU kernels of the engine come in two variants that compute the same thing:
// - 'tiled' (forward-tiled.ts, backward-tiled.ts): 128 threads share tiles in workgroup memory and each computes
//   a micro-tile of scores and outputs, so every staged value feeds several multiply-adds: the one for GPUs;
// - 'simple' (forward-simple.ts, backward.ts): one thread per query (or key) row, as gpu-kernels' dense flash
//   kernels: on a software adapter (SwiftShader) it runs and compiles several times faster than the tiled one.
// 'auto' (the default) picks 'simple' on software adapters and 'tiled' otherwise.

/** Which WebGPU kernels of the block-sparse engine run: `'auto'`, `'simple'` or `'tiled'`. */
export type KernelVariant = 'auto' | 'simple' | 'tiled';

let variant: KernelVariant = 'auto';

/**
 * Chooses the WebGPU kernels of the block-sparse engine, forward and backward (for tests and benchmarks; both
 * variants give the same results within float32 rounding). Returns the previous choice.
 */
export function setKernelVariant(v: KernelVariant): KernelVariant {
  const prev = variant;
  variant = v;
  return prev;
}

/** Whether the tiled kernels run now on the kit's adapter. */
export function useTiled(kit: WebGPUKernelKit, op: string): boolean {
  return variant === 'tiled' || (variant === 'auto' && !kit.info(op).software);
}

// The signatures both variants implement, so that forward.ts and backward.ts can pick either.

/** Records a forward kernel writing `out` and `lse` (buffers of outputs already allocated). */
export type ForwardKernel = (
  kit: WebGPUKernelKit,
  inputs: Tensor[],
  a: BlockSparseAttrs,
  out: GPUBuffer,
  lse: GPUBuffer,
) => void;

/**
 * Records a dK/dV kernel of the backward: from the inputs `ins`, the packed rows and the transposed layout `ql`
 * (see backward.ts), into `dk` and `dv`.
 */
export type DkDvKernel = (
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  ql: GPUBuffer,
  dk: GPUBuffer,
  dv: GPUBuffer,
) => void;

/** Records a dQ kernel of the backward: from the inputs `ins` and the packed rows, into `dq`. */
export type DqKernel = (
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  dq: GPUBuffer,
) => void;
