import { getBackend, listBackends, registerBackend, removeBackend } from '@attnkit/core';
import { flushPending, resetBackendState, waitHostTasks } from '../backend/queue.js';
import { webgpuBackend } from '../backend/webgpu-backend.js';
import { clearDeviceState, currentState, setDeviceState, type WebGPUInfo } from './device.js';

/** Options of {@link initWebGPU}. */
export interface InitOptions {
  /** Passed to `requestAdapter` (default `'high-performance'`). */
  powerPreference?: GPUPowerPreference;
  /** A `GPU` object to use instead of `navigator.gpu` or the `webgpu` package (tests, custom Dawn builds). */
  gpu?: GPU;
  /** Strings passed to the `webgpu` package's `create()` in Node (Dawn options such as `'backend=vulkan'`). */
  dawnOptions?: string[];
  /** Priority given to the backend when it is registered (default 10; CPU has 0). */
  priority?: number;
  /** Where the one-line notice goes when no adapter is found (default `console.warn`; `null` for silence). */
  notice?: ((message: string) => void) | null;
}

/** The SwiftShader Vulkan driver that Debian's `chromium` package ships. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface NodeProcess {
  env: Record<string, string | undefined>;
  platform: string;
  versions?: { node?: string };
}

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : undefined;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    // A variable specifier keeps browser bundlers from resolving a Node built-in they cannot provide.
    const name = 'node:fs';
    const fs = (await import(/* @vite-ignore */ name)) as typeof import('node:fs');
    return fs.existsSync(path);
  } catch {
    return false;
  }
}

type CreateFn = (options: string[]) => GPU;

// Dawn's GPU objects (and adapters) must outlive every device made from them: when the garbage collector
// frees a Dawn instance that a live device came from, the process aborts. So every one made is kept.
const keepAlive: unknown[] = [];

async function loadDawn(): Promise<CreateFn> {
  // A variable specifier keeps browser bundlers from trying to resolve the Node-only package.
  const name = 'webgpu';
  try {
    const mod = (await import(/* @vite-ignore */ name)) as { create: CreateFn };
    return mod.create;
  } catch (e) {
    throw new Error(
      `@attnkit/gpu-kernels: WebGPU in Node needs the optional peer dependency 'webgpu' (npm install webgpu): ${
        (e as Error).message
      }`,
    );
  }
}

const FEATURES = ['subgroups', 'timestamp-query'] as const;

async function adapterFrom(gpu: GPU, opts: InitOptions): Promise<GPUAdapter | null> {
  keepAlive.push(gpu);
  try {
    return await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch {
    return null;
  }
}

async function requestDevice(adapter: GPUAdapter, wanted: readonly string[]): Promise<GPUDevice> {
  const L = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures: wanted as GPUFeatureName[],
    requiredLimits: {
      maxBufferSize: L.maxBufferSize,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    },
  });
}

/**
 * Finds a WebGPU adapter and makes `'webgpu'` the default backend: `navigator.gpu` in browsers, the `webgpu`
 * package (Dawn) in Node. On Linux with no adapter, it retries once with Dawn pointed (through
 * `VK_ICD_FILENAMES`) at the SwiftShader CPU driver of Debian's `chromium` package, when that is installed;
 * Dawn also needs `libvulkan.so.1` on the library path (the `libvulkan1` package, or
 * `LD_LIBRARY_PATH=/usr/lib/chromium` set before Node starts).
 *
 * Returns true when the backend is ready. With no adapter it prints a one-line notice, returns false, and the
 * CPU stays the backend. Calling it again after the device was lost creates a new device (tensors of the old
 * one cannot be used any more); calling it while a device is live does nothing and returns true.
 *
 * @example
 * if (await initWebGPU()) console.log(getBackend('webgpu').describe?.());
 */
export async function initWebGPU(opts: InitOptions = {}): Promise<boolean> {
  const live = currentState();
  if (live && !live.lost) return true;
  const notice = opts.notice === undefined ? (m: string) => console.warn(m) : opts.notice;
  const proc = nodeProcess();
  let adapter: GPUAdapter | null = null;
  let why = 'no adapter';
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (opts.gpu) adapter = await adapterFrom(opts.gpu, opts);
  else if (nav?.gpu) adapter = await adapterFrom(nav.gpu, opts);
  else if (proc) {
    let create: CreateFn;
    try {
      create = await loadDawn();
    } catch (e) {
      notice?.(`${(e as Error).message}; using the CPU backend`);
      return false;
    }
    adapter = await adapterFrom(create(opts.dawnOptions ?? []), opts);
    if (!adapter && proc.platform === 'linux' && !proc.env.VK_ICD_FILENAMES) {
      if (await fileExists(SWIFTSHADER_ICD)) {
        // Dawn reads VK_ICD_FILENAMES when its instance is created, so a second create() sees it.
        proc.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
        adapter = await adapterFrom(create(opts.dawnOptions ?? []), opts);
        if (!adapter) {
          delete proc.env.VK_ICD_FILENAMES;
          why =
            'no adapter, also not SwiftShader (is libvulkan.so.1 on the library path? install libvulkan1 or start ' +
            'Node with LD_LIBRARY_PATH=/usr/lib/chromium)';
        }
      }
    }
  } else why = 'no navigator.gpu';
  if (!adapter) {
    notice?.(`@attnkit/gpu-kernels: WebGPU unavailable (${why}); using the CPU backend`);
    return false;
  }
  keepAlive.push(adapter);
  const wanted = FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await requestDevice(adapter, wanted);
  } catch (e) {
    notice?.(
      `@attnkit/gpu-kernels: WebGPU device request failed (${(e as Error).message}); using the CPU backend`,
    );
    return false;
  }
  const ai = adapter.info;
  const info: WebGPUInfo = {
    vendor: ai?.vendor ?? '',
    architecture: ai?.architecture ?? '',
    description: ai?.description ?? '',
    features: [...wanted],
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    maxBufferSize: device.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    software: /swiftshader|llvmpipe|software|warp/i.test(
      `${ai?.description} ${ai?.vendor} ${ai?.architecture}`,
    ),
  };
  resetBackendState();
  setDeviceState(device, info);
  registerBackend(webgpuBackend, opts.priority ?? 10);
  return true;
}

/**
 * Releases the WebGPU device: waits for queued work, destroys the device (and with it every buffer) and removes
 * the `'webgpu'` backend, so the CPU becomes the default again. Tensors still on WebGPU can no longer be used.
 */
export async function destroyWebGPU(): Promise<void> {
  const s = currentState();
  if (!s) return;
  if (!s.lost) {
    // Host tasks (CPU fallbacks) still queued finish first; their errors do not stop the teardown.
    await waitHostTasks().catch(() => undefined);
    flushPending();
    await s.device.queue.onSubmittedWorkDone();
  }
  clearDeviceState('the WebGPU device was destroyed by destroyWebGPU(); call initWebGPU() again');
  resetBackendState();
  s.device.destroy();
  if (listBackends().includes('webgpu') && getBackend('webgpu') === webgpuBackend) removeBackend('webgpu');
}
