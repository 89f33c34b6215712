/**
 * `@attnkit/core`: tensors, CPU reference ops, autograd, nn modules, optimizers, safetensors I/O, and the
 * backend and kernel-registry interfaces that every other attnkit package plugs into.
 *
 * @packageDocumentation
 */
import './backend/cpu/cpu-backend.js';

export * from './attention/index.js';
export { type BackwardOptions, backward } from './autograd/backward.js';
export { grad, type ValueAndGrad, valueAndGrad } from './autograd/grad.js';
export { isGradEnabled, noGrad, withGradMode } from './autograd/mode.js';

export type { Backend, InputLayout, KernelDef, StorageHandle } from './backend/backend.js';
export { cpuBackend, cpuData, cpuTensor } from './backend/cpu/cpu-backend.js';
export {
  currentBackendName,
  getBackend,
  getKernel,
  listBackends,
  listKernels,
  registerBackend,
  registerKernel,
  removeBackend,
  setBackend,
} from './backend/registry.js';
export type { DType, TypedArray } from './dtype.js';
export { bytesPerElement, DTYPES, isFloat, promoteTypes } from './dtype.js';
export * from './errors.js';
export * from './io/index.js';
export * from './nn/index.js';
export * from './ops/index.js';
export {
  backendOf,
  contiguousCopy,
  defineOp,
  fallbackStats,
  moveTensor,
  type OpDef,
  runOp,
  runOp1,
} from './ops/op.js';
export * from './optim/index.js';
export { broadcastShapes, sizeOf, stridesOf } from './shape.js';
export * from './tensor/creation.js';
export { makeTensor, tensorFromHandle } from './tensor/make.js';
export { memory } from './tensor/memory.js';
export * from './tensor/random.js';
export { endScope, keep, startScope, tidy } from './tensor/scope.js';
export { type MemoryInfo, Storage } from './tensor/storage.js';
export { type NestedArray, Tensor } from './tensor/tensor.js';
