import type { DType, TypedArray } from '../dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** A backend's handle to a block of device memory (a typed array on the CPU, a GPUBuffer on WebGPU). */
export type StorageHandle = unknown;

/**
 * A compute backend. Core ships the CPU backend; others (WebGPU, a WASM backend, ...) implement this interface
 * in their own package, call {@link registerBackend}, and register kernels with {@link registerKernel}.
 * Core never needs to know about them.
 */
export interface Backend {
  /** Unique name used in the kernel registry, e.g. `'cpu'` or `'webgpu'`. */
  readonly name: string;
  /** The dtypes this backend can store. */
  readonly dtypes: readonly DType[];
  /** Copies host values into new device storage. */
  upload(values: TypedArray, dtype: DType): StorageHandle;
  /** Reads `size` elements of storage starting at element `offset` back to the host. */
  read(handle: StorageHandle, dtype: DType, offset: number, size: number): Promise<TypedArray>;
  /**
   * Synchronous readback, where the backend can do it (the CPU can; WebGPU cannot). Core uses it for
   * `dataSync()` and for running ops that have no kernel on this backend on the CPU instead.
   */
  readSync?(handle: StorageHandle, dtype: DType, offset: number, size: number): TypedArray;
  /** Frees storage. Called exactly once per handle, when the last tensor viewing it is disposed. */
  release(handle: StorageHandle, dtype: DType, size: number): void;
  /**
   * Runs `op` for a backend without a kernel for it, when the backend cannot read synchronously (so core's
   * generic move-to-CPU fallback cannot be used). Returns undefined to let core raise a clear error.
   */
  fallback?(op: string, inputs: Tensor[], attrs: unknown): Tensor[] | undefined;
  /**
   * Bytes one element of `dtype` takes in this backend's storage, when it differs from the host layout (a GPU
   * backend that stores bool as 4 bytes). Used by `memory()`. Default: `bytesPerElement(dtype)`.
   */
  bytesPerElement?(dtype: DType): number;
  /** Waits for queued work to finish (a no-op on the CPU). */
  sync?(): Promise<void>;
  /** Human-readable description, e.g. the GPU adapter. */
  describe?(): string;
  /**
   * Backend-specific services for kernels that live in other packages (WebGPU's is the `WebGPUKernelKit` of
   * `@attnkit/gpu-kernels`: buffer pool, pipeline cache, dispatch). A kernel reaches it through
   * `inputs[0].backend.kernelKit`, so its package needs only a type import of the backend's package.
   */
  readonly kernelKit?: unknown;
}

/** How a kernel wants its inputs laid out; the dispatcher copies inputs that do not fit. */
export type InputLayout =
  /** Row-major strides; a non-zero offset into the storage is allowed. */
  | 'contiguous'
  /** Row-major strides and offset 0. */
  | 'packed'
  /** Any strides and offset: the kernel reads `tensor.strides` and `tensor.offset` itself. */
  | 'strided';

/** A kernel implements one op on one backend. */
export interface KernelDef<A = unknown> {
  /** The op name, as given to `defineOp`. */
  op: string;
  /** The backend name. */
  backend: string;
  /** How the kernel wants its inputs (default `'contiguous'`). */
  inputLayout?: InputLayout;
  /**
   * Whether this kernel handles these inputs and attributes (default: always). A kernel that covers only part
   * of an op (say, a fused WGSL kernel without relative positional bias) returns false for the rest, and the
   * dispatcher treats the call as if the backend had no kernel: it falls back to the CPU, counted.
   */
  supports?(inputs: Tensor[], attrs: A): boolean;
  /**
   * Computes the outputs. Inputs are already checked by the op and laid out as requested. Kernels create
   * their outputs on their own backend and must not keep references to the inputs.
   */
  run(inputs: Tensor[], attrs: A): Tensor[];
}
