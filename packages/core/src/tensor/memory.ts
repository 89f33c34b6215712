import { currentBackendName } from '../backend/registry.js';
import { type MemoryInfo, memory as memoryOf } from './storage.js';

/** Live tensors, storages and bytes on `backend` (default: the current backend). */
export function memory(backend?: string): MemoryInfo {
  return memoryOf(backend ?? currentBackendName());
}
