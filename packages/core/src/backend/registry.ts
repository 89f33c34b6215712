import { BackendError, ValueError } from '../errors.js';
import type { Backend, KernelDef } from './backend.js';

const backends = new Map<string, { backend: Backend; priority: number }>();
const kernels = new Map<string, KernelDef>();
let current: string | undefined;

const key = (op: string, backend: string) => `${op}\u0000${backend}`;

/**
 * Makes a backend available. The one with the highest priority becomes the default unless the user chose one
 * (with {@link setBackend} or the `ATTNKIT_BACKEND` environment variable in Node). CPU has priority 0.
 */
export function registerBackend(backend: Backend, priority = 0): void {
  backends.set(backend.name, { backend, priority });
}

/** Removes a backend (its kernels stay registered, so re-registering it restores it). */
export function removeBackend(name: string): void {
  backends.delete(name);
  if (current === name) current = undefined;
}

/** The backend called `name`, or a clear error listing those that exist. */
export function getBackend(name?: string): Backend {
  const n = name ?? currentBackendName();
  const entry = backends.get(n);
  if (!entry) {
    throw new BackendError('getBackend', 'name', `one of ${listBackends().join(', ')}`, JSON.stringify(n));
  }
  return entry.backend;
}

/** Names of every registered backend, highest priority first. */
export function listBackends(): string[] {
  return [...backends.entries()].sort((a, b) => b[1].priority - a[1].priority).map(([n]) => n);
}

function envBackend(): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = proc?.env?.ATTNKIT_BACKEND;
  return v && v.length > 0 ? v : undefined;
}

/**
 * The backend new tensors go to: the one chosen with {@link setBackend}, else `ATTNKIT_BACKEND` (Node), else the
 * registered backend with the highest priority.
 */
export function currentBackendName(): string {
  if (current !== undefined) return current;
  const env = envBackend();
  if (env !== undefined) {
    if (!backends.has(env)) {
      throw new BackendError(
        'ATTNKIT_BACKEND',
        'value',
        `one of ${listBackends().join(', ')}`,
        JSON.stringify(env),
      );
    }
    return env;
  }
  const names = listBackends();
  if (names.length === 0) throw new BackendError('currentBackendName', 'backends', 'at least one', 'none');
  return names[0];
}

/** Chooses the default backend for new tensors. */
export function setBackend(name: string): void {
  if (!backends.has(name)) {
    throw new ValueError('setBackend', 'name', `one of ${listBackends().join(', ')}`, JSON.stringify(name));
  }
  current = name;
}

/** Registers a kernel for (op, backend); a later registration for the same pair replaces the earlier one. */
export function registerKernel<A>(kernel: KernelDef<A>): void {
  kernels.set(key(kernel.op, kernel.backend), kernel as KernelDef);
}

/** The kernel for (op, backend), if one is registered. */
export function getKernel(op: string, backend: string): KernelDef | undefined {
  return kernels.get(key(op, backend));
}

/** Every op name that has a kernel on `backend`. */
export function listKernels(backend: string): string[] {
  const out: string[] = [];
  for (const k of kernels.values()) if (k.backend === backend) out.push(k.op);
  return out.sort();
}
