import type { DType, Tensor } from '@attnkit/core';
import { type AttentionGradRows, packAttentionGradRows } from './kernels/attention-rows.js';
import {
  bufferOf,
  elementKernel,
  f32,
  grid,
  i32,
  launch,
  MATH_WGSL,
  offsetsCode,
  output,
  rowMajor,
  wgSize,
  wgslType,
} from './kernels/common.js';
import { liveState, type WebGPUInfo } from './runtime/device.js';

/**
 * What a package outside gpu-kernels needs to write WebGPU kernels for its own ops: output allocation from
 * the buffer pool, buffer access, a cached-pipeline launch recorded into the backend's batched encoder, and
 * the WGSL helpers gpu-kernels' own kernels use.
 *
 * The WebGPU backend carries it as `backend.kernelKit`, so an attention package reaches it from the tensors
 * its kernel receives (`inputs[0].backend.kernelKit`) and needs only a type import of this package: it keeps
 * working on the CPU with `@attnkit/core` alone.
 *
 * @example
 * ```ts
 * import { type Tensor, registerKernel } from '@attnkit/core';
 * import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
 *
 * registerKernel({
 *   op: 'mypkg.double',
 *   backend: 'webgpu',
 *   run: ([x]: Tensor[]) => {
 *     const kit = x.backend.kernelKit as WebGPUKernelKit;
 *     const { t, h } = kit.output('mypkg.double', 'float32', x.shape);
 *     const X = { name: 'X', ty: 'f32', buf: kit.bufferOf('mypkg.double', x) };
 *     const Y = { name: 'Y', ty: 'f32', buf: h.buffer, write: true };
 *     kit.elementKernel('mypkg.double', `${x.offset}`, x.size, [X, Y], `Y[e] = 2.0 * X[${x.offset}u + e];`);
 *     return [t];
 *   },
 * });
 * ```
 */
export interface WebGPUKernelKit {
  /** A new output tensor on WebGPU of `dtype` and `shape`, and its buffer handle (poisoned in test mode). */
  output(op: string, dtype: DType, shape: readonly number[]): KitOutput;
  /** The buffer of a WebGPU tensor, checked against the live device (a clear error names `op` otherwise). */
  bufferOf(op: string, t: Tensor): GPUBuffer;
  /**
   * Compiles `code()` once per `key` (the pipeline cache; put every baked-in constant in the key) and records
   * a dispatch of `groups` workgroups with `buffers` bound at `@group(0) @binding(0..)` in order.
   */
  launch(
    op: string,
    key: string,
    code: () => string,
    buffers: readonly GPUBuffer[],
    groups: readonly [number, number?, number?],
  ): void;
  /**
   * Records a kernel of one thread per element of a `total`-element output: `body` sees the flat index `e`
   * (after the bounds check) and the buffers bound in order as `array<ty>` named `name`. `key` must hold
   * everything baked into `body`.
   */
  elementKernel(
    op: string,
    key: string,
    total: number,
    bindings: { name: string; ty: string; buf: GPUBuffer; write?: boolean }[],
    body: string,
    helpers?: string,
  ): void;
  /**
   * Workgroups for `count` items of `wg` threads each: a 1-D grid, folded into 2-D past the per-dimension
   * limit. `index` is the WGSL expression of the flat item index (uses builtins `wid` and `lid`).
   */
  grid(count: number, wg: number): KitGrid;
  /** Threads per workgroup for 1-D kernels on this adapter (256 or the device maximum). */
  wgSize(): number;
  /** A WGSL f32 literal of any JS number (NaN and infinities need {@link WebGPUKernelKit.MATH_WGSL}). */
  f32(v: number): string;
  /** A WGSL i32 literal. */
  i32(v: number): string;
  /** WGSL helpers (`is_nan`, `tanh_s`, `sigmoid_s`, ..., and the NaN/infinity bit patterns). */
  readonly MATH_WGSL: string;
  /** WGSL turning flat index `index` of `shape` into offsets `o0, o1, ...` of strided operands. */
  offsetsCode(
    shape: readonly number[],
    operands: readonly { strides: readonly number[]; offset: number }[],
    index?: string,
  ): string;
  /** Row-major strides of a shape. */
  rowMajor(shape: readonly number[]): number[];
  /** The WGSL element type (`f32`, `i32`, or `u32` for bool) of a tensor or dtype. */
  wgslType(t: Tensor | DType): 'f32' | 'i32' | 'u32';
  /** The live adapter's description, features and limits (workgroup memory, invocations, grid size). */
  info(op: string): WebGPUInfo;
  /**
   * Packs the query rows of a flash-style attention backward, `[q, gOut, lse, delta]` per row, into `packed`
   * (see `packAttentionGradRows`): the preprocessing dense `sdpa` and the attention packages share.
   */
  packAttentionGradRows(
    op: string,
    t: AttentionGradRows,
    dims: { rows: number; headDim: number; valueDim: number },
    packed: GPUBuffer,
  ): void;
}

/** An output made by {@link WebGPUKernelKit.output}. */
export interface KitOutput {
  /** The tensor (on WebGPU). */
  t: Tensor;
  /** Its storage. */
  h: {
    /** The pooled buffer the kernel writes. */
    readonly buffer: GPUBuffer;
  };
}

/** A dispatch grid made by {@link WebGPUKernelKit.grid}. */
export interface KitGrid {
  /** Workgroups along x and y. */
  groups: [number, number];
  /** WGSL expression of the flat item index. */
  index: string;
}

/** The kit the WebGPU backend exposes as `kernelKit`. */
export const webgpuKernelKit: WebGPUKernelKit = {
  output,
  bufferOf,
  launch,
  elementKernel,
  grid,
  wgSize,
  f32,
  i32,
  MATH_WGSL,
  offsetsCode,
  rowMajor,
  wgslType,
  info: (op) => liveState(op).info,
  packAttentionGradRows,
};
