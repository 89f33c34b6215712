import type { Backend, StorageHandle } from '../backend/backend.js';
import { bytesPerElement, type DType } from '../dtype.js';

interface BackendStats {
  storages: number;
  bytes: number;
  tensors: number;
}

const stats = new Map<string, BackendStats>();

function statsOf(backend: string): BackendStats {
  let s = stats.get(backend);
  if (!s) {
    s = { storages: 0, bytes: 0, tensors: 0 };
    stats.set(backend, s);
  }
  return s;
}

/**
 * A reference-counted block of backend memory. Tensors are views of a storage; views share it, and the
 * backend memory is released exactly when the last view is disposed.
 */
export class Storage {
  private refs = 0;
  private released = false;
  /** Bytes this storage takes on its backend. */
  readonly bytes: number;

  constructor(
    /** The backend owning the memory. */
    readonly backend: Backend,
    /** The backend's handle. */
    readonly handle: StorageHandle,
    /** Element type. */
    readonly dtype: DType,
    /** Number of elements. */
    readonly size: number,
  ) {
    this.bytes = size * (backend.bytesPerElement?.(dtype) ?? bytesPerElement(dtype));
    const s = statsOf(backend.name);
    s.storages++;
    s.bytes += this.bytes;
  }

  /** Adds a view. */
  retain(): void {
    this.refs++;
  }

  /** Drops a view; frees the memory with the last one. */
  release(): void {
    this.refs--;
    if (this.refs === 0 && !this.released) {
      this.released = true;
      const s = statsOf(this.backend.name);
      s.storages--;
      s.bytes -= this.bytes;
      this.backend.release(this.handle, this.dtype, this.size);
    }
  }
}

/** @internal Counts a live tensor object on a backend. */
export function countTensor(backend: string, delta: number): void {
  statsOf(backend).tensors += delta;
}

/** Live memory per backend: what tests check to prove that repeated runs do not leak. */
export interface MemoryInfo {
  /** Tensor objects not yet disposed (views and internal aliases included). */
  tensors: number;
  /** Distinct storages alive. */
  storages: number;
  /** Bytes held by live storages. */
  bytes: number;
}

/** Live tensors, storages and bytes on one backend. */
export function memory(backend: string): MemoryInfo {
  const s = statsOf(backend);
  return { tensors: s.tensors, storages: s.storages, bytes: s.bytes };
}
