import { BackendError } from '@attnkit/core';

/** Buffer usage and map-mode flags (the WebGPU constants, so that no global `GPUBufferUsage` is needed). */
export const USAGE = { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
/** `GPUMapMode.READ`. */
export const MAP_READ_MODE = 0x1;

/** What {@link initWebGPU} found: the adapter, the features it enabled and the limits it requested. */
export interface WebGPUInfo {
  /** Adapter vendor, e.g. `'nvidia'` (may be empty). */
  vendor: string;
  /** Adapter architecture (may be empty). */
  architecture: string;
  /** Adapter description, e.g. `'SwiftShader driver 5.0.0'` (may be empty). */
  description: string;
  /** Features enabled on the device (those of `subgroups` and `timestamp-query` the adapter has). */
  features: string[];
  /** Largest storage-buffer binding the device accepts, in bytes. */
  maxStorageBufferBindingSize: number;
  /** Largest buffer the device accepts, in bytes. */
  maxBufferSize: number;
  /** Workgroup memory available to one workgroup, in bytes. */
  maxComputeWorkgroupStorageSize: number;
  /** Most invocations in one workgroup. */
  maxComputeInvocationsPerWorkgroup: number;
  /** Most workgroups per dispatch dimension. */
  maxComputeWorkgroupsPerDimension: number;
  /** Whether the adapter is a software (CPU) implementation such as SwiftShader. */
  software: boolean;
}

/** @internal The live device and what depends on it. */
export interface DeviceState {
  device: GPUDevice;
  info: WebGPUInfo;
  /** Bumped on every successful init, so handles from an older device are recognised. */
  generation: number;
  /** Set when the device was lost (or destroyed): the reason, for the next op's error. */
  lost?: string;
  /** The first uncaptured WebGPU error since the last readback or sync, raised by the next one. */
  error?: string;
}

let state: DeviceState | undefined;
let generation = 0;

/** @internal Installs a freshly created device. */
export function setDeviceState(device: GPUDevice, info: WebGPUInfo): DeviceState {
  generation++;
  const s: DeviceState = { device, info, generation };
  state = s;
  device.onuncapturederror = (ev) => {
    s.error ??= ev.error.message;
  };
  device.lost.then((e) => {
    s.lost = `the WebGPU device was lost (${e.reason}: ${e.message || 'no message'}); call initWebGPU() again`;
  });
  return s;
}

/** @internal Throws (once) the first WebGPU error reported since the last call. */
export function raiseDeviceError(op: string, s: DeviceState): void {
  const e = s.error;
  if (e === undefined) return;
  s.error = undefined;
  throw new BackendError(op, 'WebGPU work', 'no WebGPU errors', e.split('\n')[0]);
}

/** @internal Forgets the current device (after destroy). */
export function clearDeviceState(reason: string): void {
  if (state) state.lost = reason;
  state = undefined;
}

/** @internal The live device, or a clear error when there is none or it was lost. */
export function liveState(op: string): DeviceState {
  if (!state) {
    throw new BackendError(op, 'backend', 'an initialised WebGPU device', 'none (call initWebGPU() first)');
  }
  if (state.lost) throw new BackendError(op, 'backend', 'a live WebGPU device', state.lost);
  return state;
}

/** @internal The current state, lost or not, if any. */
export function currentState(): DeviceState | undefined {
  return state;
}

/** The adapter and device limits in use, or undefined before a successful {@link initWebGPU}. */
export function webgpuInfo(): WebGPUInfo | undefined {
  return state && !state.lost ? { ...state.info, features: [...state.info.features] } : undefined;
}

/**
 * The `GPUDevice` attnkit's WebGPU backend runs on (for packages that add their own kernels), or a clear error
 * when {@link initWebGPU} has not succeeded or the device was lost.
 */
export function getWebGPUDevice(): GPUDevice {
  return liveState('getWebGPUDevice').device;
}
