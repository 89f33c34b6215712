// WebGPU kernels of the attention-linear primitives, registered with core's kernel registry for backend
// 'webgpu' on import (src/index.ts imports this module). They reach WebGPU only through the backend's
// `kernelKit`, so the package loads and works on the CPU without `@attnkit/gpu-kernels`.
import './decay-causal.js';

export { maxScanBlock, type ScanVariant, scanVariant, setMaxScanBlock, setScanVariant } from './plan.js';
