// Registers this package's WGSL kernels with core's registry for the 'webgpu' backend. Importing this module
// needs neither gpu-kernels nor a GPU: the kernels reach WebGPU only through the tensors' backend at run time.
import { type KernelDef, registerKernel } from '@attnkit/core';
import { BACKWARD_KERNELS } from './fused-backward.js';
import { FORWARD_KERNELS } from './fused-forward.js';
import { UNFUSED_KERNELS } from './unfused.js';

const KERNELS: KernelDef[] = [...UNFUSED_KERNELS, ...FORWARD_KERNELS, ...BACKWARD_KERNELS];
for (const k of KERNELS) registerKernel(k);
