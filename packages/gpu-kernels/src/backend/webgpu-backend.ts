import { type Backend, BackendError, type DType, type TypedArray } from '@attnkit/core';
import { currentState } from '../runtime/device.js';
import {
  acquire,
  type GpuHandle,
  readBytes,
  releaseHandle,
  stateFor,
  syncQueue,
  writeBytes,
} from './queue.js';

/** WGSL element type per dtype: bool is stored as one u32 (0 or 1) per element. */
export const WGSL_TYPE = { float32: 'f32', int32: 'i32', bool: 'u32' } as const;

/** @internal Checks a dtype is one the WebGPU backend stores. */
export function checkDType(op: string, dtype: DType): asserts dtype is 'float32' | 'int32' | 'bool' {
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw new BackendError(op, 'dtype', 'float32, int32 or bool on WebGPU', dtype);
  }
}

/**
 * attnkit's WebGPU backend. Every element takes 4 bytes (bool as a u32 0/1), buffers come from a pool keyed
 * by size class, and kernels are recorded into one command encoder that is submitted before every readback.
 * It has no `readSync` (WebGPU cannot read synchronously): an op without a WebGPU kernel runs through its
 * `fallback` (the CPU kernel in a host task, in program order, counted in core's `fallbackStats`), and
 * `tensor.data()` reads values back.
 */
export const webgpuBackend: Backend = {
  name: 'webgpu',
  dtypes: ['float32', 'int32', 'bool'],
  upload(values: TypedArray, dtype: DType): GpuHandle {
    checkDType('upload', dtype);
    const h = acquire('upload', values.length * 4, false);
    const data = dtype === 'bool' ? Uint32Array.from(values as Uint8Array) : values;
    writeBytes(h, data);
    return h;
  },
  async read(handle, dtype, offset, size) {
    checkDType('read', dtype);
    const bytes = await readBytes(handle as GpuHandle, offset * 4, size * 4);
    if (dtype === 'float32') return new Float32Array(bytes);
    if (dtype === 'int32') return new Int32Array(bytes);
    return Uint8Array.from(new Uint32Array(bytes));
  },
  release(handle) {
    releaseHandle(handle as GpuHandle);
  },
  async sync() {
    await syncQueue();
  },
  // Every dtype, bool included, takes one 32-bit word per element on the GPU.
  bytesPerElement: () => 4,
  describe() {
    const s = currentState();
    if (!s) return 'WebGPU (not initialised)';
    const i = s.info;
    const what = [i.description, i.vendor, i.architecture].filter(Boolean).join(', ') || 'unknown adapter';
    return `WebGPU (${what})${s.lost ? ' [device lost]' : ''}`;
  },
};

/** @internal The handle of a WebGPU tensor's storage, checked against the live device. */
export function handleOf(op: string, h: unknown): GpuHandle {
  stateFor(op, h as GpuHandle);
  return h as GpuHandle;
}
