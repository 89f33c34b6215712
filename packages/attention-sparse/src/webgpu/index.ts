/**
 * WebGPU kernels of the block-sparse engine, registered for backend `'webgpu'` on import. They reach the
 * device only through the backend's `kernelKit` (a type import of `@attnkit/gpu-kernels`), so the package
 * works with `@attnkit/core` alone; without WebGPU these registrations are never used.
 *
 * @module
 */
import './forward.js';
import './backward.js';

export { type KernelVariant, setKernelVariant } from './variant.js';
