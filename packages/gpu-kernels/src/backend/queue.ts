import { BackendError } from '@attnkit/core';
import { type DeviceState, liveState, MAP_READ_MODE, raiseDeviceError, USAGE } from '../runtime/device.js';

/** @internal A storage handle of the WebGPU backend: a pooled buffer and the device generation it belongs to. */
export interface GpuHandle {
  /** The buffer (at least `bytes` long). */
  readonly buffer: GPUBuffer;
  /** Its size class in bytes (the buffer's size). */
  readonly bytes: number;
  /** The device generation that created it. */
  readonly generation: number;
  /** Set once it went back to the pool. */
  released: boolean;
}

/** Live and pooled WebGPU memory, as counted by the backend's buffer pool. */
export interface GpuMemoryInfo {
  /** Buffers held by live tensors. */
  liveBuffers: number;
  /** Bytes of those buffers (size classes, so at least the tensors' bytes). */
  liveBytes: number;
  /** Buffers kept in the pool for reuse. */
  pooledBuffers: number;
  /** Bytes kept in the pool. */
  pooledBytes: number;
}

const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
/** Smallest size class: 256 bytes (64 elements). */
const MIN_CLASS = 256;
/** Dispatches recorded into one command encoder before it is submitted. */
const MAX_PENDING = 64;

/**
 * The size class of a request: the next power of two at least 256 bytes. Sizes above 64 MiB go to the next
 * multiple of 16 MiB instead, so big buffers waste at most 16 MiB.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  const big = 64 * 1024 * 1024;
  if (bytes > big) return Math.ceil(bytes / (16 * 1024 * 1024)) * 16 * 1024 * 1024;
  return 2 ** Math.ceil(Math.log2(bytes));
}

const pool = new Map<number, GPUBuffer[]>();
const staging = new Map<number, GPUBuffer[]>();
const stats = { liveBuffers: 0, liveBytes: 0, pooledBuffers: 0, pooledBytes: 0 };
let poison = false;
let encoder: GPUCommandEncoder | undefined;
let pendingCount = 0;
let pipelines = new Map<string, GPUComputePipeline>();
/** Staging buffers of uploads recorded into the pending encoder, destroyed once it is submitted. */
const uploadStaging: GPUBuffer[] = [];

/** @internal Forgets pools, pipelines and the pending encoder (a new device was created or it was destroyed). */
export function resetBackendState(): void {
  pool.clear();
  staging.clear();
  pipelines = new Map();
  encoder = undefined;
  pendingCount = 0;
  uploadStaging.length = 0;
  stats.liveBuffers = 0;
  stats.liveBytes = 0;
  stats.pooledBuffers = 0;
  stats.pooledBytes = 0;
}

/** Live and pooled buffer counts and bytes of the WebGPU backend (what leak tests check). */
export function gpuMemory(): GpuMemoryInfo {
  return { ...stats };
}

/**
 * Test mode: every buffer handed to a kernel for its output is first filled with NaN (0x7fc00000), so that
 * elements a kernel forgets to write fail comparisons instead of passing with stale or zero values.
 */
export function setPoisonOutputs(on: boolean): void {
  poison = on;
}

/** @internal The state, checking that a handle belongs to the live device. */
export function stateFor(op: string, h?: GpuHandle): DeviceState {
  const s = liveState(op);
  if (h && h.generation !== s.generation) {
    throw new BackendError(op, 'tensor', 'a tensor of the current WebGPU device', 'one of a lost device');
  }
  if (h?.released) throw new BackendError(op, 'tensor', 'live storage', 'a released WebGPU buffer');
  return s;
}

/** @internal A buffer of at least `bytes` bytes from the pool (or a new one). */
export function acquire(op: string, bytes: number, output = true): GpuHandle {
  const s = stateFor(op);
  const cls = sizeClass(bytes);
  const free = pool.get(cls);
  let buffer = free?.pop();
  if (buffer) {
    stats.pooledBuffers--;
    stats.pooledBytes -= cls;
  } else {
    if (cls > s.info.maxBufferSize) {
      throw new BackendError(
        op,
        'size',
        `at most ${s.info.maxBufferSize} bytes per buffer`,
        `${bytes} bytes`,
      );
    }
    buffer = s.device.createBuffer({ size: cls, usage: STORAGE_USAGE });
  }
  stats.liveBuffers++;
  stats.liveBytes += cls;
  const h: GpuHandle = { buffer, bytes: cls, generation: s.generation, released: false };
  if (poison && output) writeBytes(h, new Uint32Array(cls / 4).fill(0x7fc00000));
  return h;
}

/** @internal Returns a buffer to the pool (buffers of a lost or destroyed device are dropped). */
export function releaseHandle(h: GpuHandle): void {
  if (h.released) return;
  h.released = true;
  const s = liveStateOrUndefined();
  if (!s || s.generation !== h.generation) return;
  stats.liveBuffers--;
  stats.liveBytes -= h.bytes;
  let free = pool.get(h.bytes);
  if (!free) {
    free = [];
    pool.set(h.bytes, free);
  }
  free.push(h.buffer);
  stats.pooledBuffers++;
  stats.pooledBytes += h.bytes;
}

function liveStateOrUndefined(): DeviceState | undefined {
  try {
    return liveState('release');
  } catch {
    return undefined;
  }
}

/** Destroys every pooled (unused) buffer of the WebGPU backend, returning their memory to the device. */
export function emptyPool(): void {
  flushPending();
  for (const list of [...pool.values(), ...staging.values()]) for (const b of list) b.destroy();
  pool.clear();
  staging.clear();
  stats.pooledBuffers = 0;
  stats.pooledBytes = 0;
}

/** @internal Submits the pending command encoder, if any. */
export function flushPending(): void {
  if (!encoder) return;
  const s = liveState('flush');
  const e = encoder;
  encoder = undefined;
  pendingCount = 0;
  s.device.queue.submit([e.finish()]);
  // Destroying after submit is safe: the device frees them once the submitted copies have run.
  for (const st of uploadStaging) st.destroy();
  uploadStaging.length = 0;
}

/** @internal A pipeline from the cache, compiling `code()` on a miss. */
export function pipeline(key: string, code: () => string): GPUComputePipeline {
  let p = pipelines.get(key);
  if (!p) {
    const { device } = liveState(key);
    const module = device.createShaderModule({ code: code(), label: key });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    pipelines.set(key, p);
  }
  return p;
}

/** @internal Number of compiled pipelines (for tests of the cache). */
export function pipelineCount(): number {
  return pipelines.size;
}

/**
 * @internal Records one compute dispatch into the pending encoder (submitted every {@link MAX_PENDING}
 * dispatches, and before any readback or sync).
 */
export function dispatch(
  op: string,
  p: GPUComputePipeline,
  buffers: readonly GPUBuffer[],
  groups: readonly [number, number?, number?],
): void {
  const { device } = liveState(op);
  const bindGroup = device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  encoder ??= device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
  pass.end();
  if (++pendingCount >= MAX_PENDING) flushPending();
}

/**
 * @internal Copies host bytes (a multiple of 4) into a buffer, ordered after all work recorded so far: a pooled
 * buffer may still be read by dispatches in the pending encoder, and `queue.writeBuffer` would overtake them. So
 * with work pending, the bytes go through a mapped staging buffer copied inside the pending encoder (no submit);
 * with none, `writeBuffer` is already in order.
 */
export function writeBytes(h: GpuHandle, data: ArrayBufferView & { byteLength: number }): void {
  const s = stateFor('upload', h);
  if (data.byteLength === 0) return;
  if (!encoder) {
    s.device.queue.writeBuffer(h.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return;
  }
  const st = s.device.createBuffer({
    size: data.byteLength,
    usage: USAGE.MAP_WRITE | USAGE.COPY_SRC,
    mappedAtCreation: true,
  });
  new Uint8Array(st.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  st.unmap();
  encoder.copyBufferToBuffer(st, 0, h.buffer, 0, data.byteLength);
  uploadStaging.push(st);
}

/** @internal Reads `bytes` bytes at `byteOffset` of a buffer back to the host (through a pooled staging buffer). */
export async function readBytes(h: GpuHandle, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
  const s = stateFor('read', h);
  if (bytes === 0) return new ArrayBuffer(0);
  const cls = sizeClass(bytes);
  const buf =
    staging.get(cls)?.pop() ?? s.device.createBuffer({ size: cls, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  flushPending();
  const e = s.device.createCommandEncoder();
  e.copyBufferToBuffer(h.buffer, byteOffset, buf, 0, bytes);
  s.device.queue.submit([e.finish()]);
  try {
    await buf.mapAsync(MAP_READ_MODE, 0, bytes);
  } catch (err) {
    const lost = s.lost;
    buf.destroy();
    throw new BackendError('read', 'tensor', 'a successful readback', lost ?? (err as Error).message);
  }
  const out = buf.getMappedRange(0, bytes).slice(0);
  buf.unmap();
  raiseDeviceError('read', s);
  if (s.lost) buf.destroy();
  else {
    let list = staging.get(cls);
    if (!list) {
      list = [];
      staging.set(cls, list);
    }
    list.push(buf);
  }
  return out;
}

/** @internal Waits for all submitted work. */
export async function syncQueue(): Promise<void> {
  const s = liveState('sync');
  flushPending();
  await s.device.queue.onSubmittedWorkDone();
  raiseDeviceError('sync', s);
}
