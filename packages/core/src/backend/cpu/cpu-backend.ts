import { allocArray, type DType, dtypeOfArray, type TypedArray } from '../../dtype.js';
import { tensorFromHandle } from '../../tensor/make.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Backend } from '../backend.js';
import { registerBackend } from '../registry.js';

/**
 * The CPU backend: storage is a typed array, kernels are plain loops written to be obviously right (the
 * oracle every other implementation is tested against), accumulating in float64 where it matters.
 */
export const cpuBackend: Backend = {
  name: 'cpu',
  dtypes: ['float32', 'float64', 'int32', 'bool'],
  upload(values: TypedArray): TypedArray {
    return values.slice();
  },
  async read(handle, _dtype, offset, size) {
    return (handle as TypedArray).slice(offset, offset + size);
  },
  readSync(handle, _dtype, offset, size) {
    return (handle as TypedArray).slice(offset, offset + size);
  },
  release() {
    // The garbage collector reclaims the typed array once no tensor refers to it.
  },
  describe() {
    return 'CPU (reference kernels, float64 accumulation)';
  },
};

registerBackend(cpuBackend, 0);

/**
 * The elements of a CPU tensor that the dispatcher laid out contiguously, without copying (a subarray of its
 * storage). For CPU kernels only; do not write to it.
 */
export function cpuData(t: Tensor): TypedArray {
  const a = t.storage.handle as TypedArray;
  return t.offset === 0 && a.length === t.size ? a : a.subarray(t.offset, t.offset + t.size);
}

/** Wraps a freshly computed typed array as a CPU tensor, without copying (for CPU kernels). */
export function cpuTensor(values: TypedArray, shape: readonly number[]): Tensor {
  return tensorFromHandle(cpuBackend, values, dtypeOfArray(values) as DType, shape);
}

/** A zero-filled typed array for a CPU kernel's output. */
export function cpuAlloc(dtype: DType, size: number): TypedArray {
  return allocArray(dtype, size);
}
