/// <reference types="@webgpu/types" />
/**
 * `@attnkit/gpu-kernels`: attnkit's WebGPU backend. {@link initWebGPU} finds an adapter (the browser's
 * `navigator.gpu`, or Dawn through the `webgpu` package in Node), registers the `'webgpu'` backend, and the WGSL
 * kernels of this package then run attnkit's elementwise ops, reductions, matmul and softmax on the GPU.
 *
 * @packageDocumentation
 */
import './kernels/elementwise.js';
import './kernels/reduce.js';
import './kernels/matmul.js';
import './kernels/attention.js';
import './kernels/norm.js';
import './kernels/conv.js';
import './kernels/pool.js';
import './kernels/indexing.js';
import './kernels/scan.js';
import { cpuFallback } from './backend/fallback.js';
import { webgpuBackend } from './backend/webgpu-backend.js';
import { webgpuKernelKit } from './kit.js';

// The kit for kernels of other packages, and the CPU fallback for ops without a WebGPU kernel (host tasks, in
// order; see backend/fallback.ts). Set here because both import kernels' helpers, which import the backend.
Object.assign(webgpuBackend, { kernelKit: webgpuKernelKit, fallback: cpuFallback });

export { emptyPool, type GpuMemoryInfo, gpuMemory, setPoisonOutputs, sizeClass } from './backend/queue.js';
export { webgpuBackend } from './backend/webgpu-backend.js';
export type { AttentionGradRows } from './kernels/attention-rows.js';
export { type KitGrid, type KitOutput, type WebGPUKernelKit, webgpuKernelKit } from './kit.js';
export { getWebGPUDevice, type WebGPUInfo, webgpuInfo } from './runtime/device.js';
export { destroyWebGPU, type InitOptions, initWebGPU } from './runtime/init.js';
