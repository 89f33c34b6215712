import type { Backend } from '../backend/backend.js';
import { dtypeOfArray, type TypedArray } from '../dtype.js';
import { Storage } from './storage.js';
import { Tensor } from './tensor.js';

/**
 * Wraps host values in a new packed tensor on `backend` (the backend copies them). For backend and kernel
 * authors; users call `tensor()`.
 */
export function makeTensor(backend: Backend, values: TypedArray, shape: readonly number[]): Tensor {
  const dtype = dtypeOfArray(values);
  if (!dtype)
    throw new Error('makeTensor: values must be a Float32Array, Float64Array, Int32Array or Uint8Array');
  return new Tensor(new Storage(backend, backend.upload(values, dtype), dtype, values.length), shape);
}

/**
 * Wraps a storage handle the backend already allocated (a kernel's output) in a new packed tensor. The
 * tensor takes ownership: the backend's `release` is called when the last view of it is disposed.
 */
export function tensorFromHandle(
  backend: Backend,
  handle: unknown,
  dtype: import('../dtype.js').DType,
  shape: readonly number[],
): Tensor {
  let size = 1;
  for (const d of shape) size *= d;
  return new Tensor(new Storage(backend, handle, dtype, size), shape);
}
