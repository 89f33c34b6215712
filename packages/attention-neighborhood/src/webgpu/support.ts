import type { Tensor } from '@attnkit/core';

/** Whether every tensor is float32 (the only dtype the WGSL kernels compute in; float64 runs on the CPU). */
export function allFloat32(ts: readonly Tensor[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}
