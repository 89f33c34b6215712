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

/**
 * Host tasks: CPU work that must happen between GPU work in program order (the CPU fallback of an op without a
 * WebGPU kernel reads its inputs, computes on the CPU, and writes its outputs). While any is queued, command
 * buffers are finished but held back, in segments, so that work recorded after a task is submitted only once
 * the task has written its outputs (like a host function in a CUDA stream). Reads and syncs wait for them.
 */
interface Held {
  cbs: GPUCommandBuffer[];
  staging: GPUBuffer[];
}
let hostTasks = 0;
let hostTail: Promise<void> | undefined;
let held: Held = { cbs: [], staging: [] };
let hostError: unknown;
let emptyAfterHost = false;

/** @internal Forgets pools, pipelines and the pending encoder (a new device was created or it was destroyed). */
export function resetBackendState(): void {
  pool.clear();
  staging.clear();
  pipelines = new Map();
  encoder = undefined;
  pendingCount = 0;
  uploadStaging.length = 0;
  hostTasks = 0;
  hostTail = undefined;
  held = { cbs: [], staging: [] };
  hostError = undefined;
  emptyAfterHost = false;
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
  // Held command buffers may use pooled buffers (released after their dispatch was recorded): destroy those
  // only once the host tasks are done and the held work is submitted.
  if (hostTasks > 0) {
    emptyAfterHost = true;
    return;
  }
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
  const segment = { cbs: [e.finish()], staging: uploadStaging.splice(0) };
  if (hostTasks > 0) {
    held.cbs.push(...segment.cbs);
    held.staging.push(...segment.staging);
    return;
  }
  submitSegment(s, segment);
}

function submitSegment(s: DeviceState, segment: Held): void {
  if (segment.cbs.length > 0) s.device.queue.submit(segment.cbs);
  // Destroying after submit is safe: the device frees them once the submitted copies have run.
  for (const st of segment.staging) st.destroy();
}

/**
 * @internal Queues `run` to happen after all GPU work recorded so far and before any recorded later. `run` may
 * read buffers with {@link readBytesNow} and write them with `queue.writeBuffer`; its error (if any) is raised
 * by the next readback or sync.
 */
export function enqueueHostTask(op: string, run: (s: DeviceState) => Promise<void>): void {
  const s0 = liveState(op);
  flushPending();
  const before = held;
  held = { cbs: [], staging: [] };
  hostTasks++;
  const generation = s0.generation;
  const prev = hostTail ?? Promise.resolve();
  hostTail = prev
    .then(async () => {
      const s = liveState(op);
      if (s.generation !== generation) throw new Error(`${op}: the WebGPU device changed before it ran`);
      submitSegment(s, before);
      await run(s);
    })
    .catch((e: unknown) => {
      hostError ??= e;
    })
    .finally(() => {
      hostTasks--;
      if (hostTasks > 0) return;
      const rest = held;
      held = { cbs: [], staging: [] };
      hostTail = undefined;
      try {
        submitSegment(liveState(op), rest);
      } catch (e) {
        hostError ??= e;
      }
      if (emptyAfterHost) {
        emptyAfterHost = false;
        emptyPool();
      }
    });
}

/** @internal Waits for every queued host task; raises the first error one of them met. */
export async function waitHostTasks(): Promise<void> {
  while (hostTail) await hostTail;
  if (hostError !== undefined) {
    const e = hostError;
    hostError = undefined;
    throw e;
  }
}

/** @internal Number of host tasks queued or running (for tests). */
export function pendingHostTasks(): number {
  return hostTasks;
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
  // With host tasks queued, even a first write must wait its turn: it goes into the (held) encoder.
  if (!encoder && hostTasks === 0) {
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
  encoder ??= s.device.createCommandEncoder();
  encoder.copyBufferToBuffer(st, 0, h.buffer, 0, data.byteLength);
  uploadStaging.push(st);
}

/**
 * @internal Reads `bytes` bytes at `byteOffset` of a buffer back to the host (through a pooled staging buffer),
 * after every queued host task.
 */
export async function readBytes(h: GpuHandle, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
  stateFor('read', h);
  await waitHostTasks();
  return readBytesNow(h, byteOffset, bytes);
}

/** @internal {@link readBytes} without waiting for host tasks (what a host task itself uses). */
export async function readBytesNow(h: GpuHandle, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
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
  liveState('sync');
  await waitHostTasks();
  const s = liveState('sync');
  flushPending();
  await s.device.queue.onSubmittedWorkDone();
  raiseDeviceError('sync', s);
}
