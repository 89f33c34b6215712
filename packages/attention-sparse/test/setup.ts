import * as gpu from '@attnkit/gpu-kernels';
import { afterAll } from 'vitest';
import { setUpWebGPUSuite } from '../../../scripts/testing/webgpu-suite.js';

// WebGPU for every test file of this package (SwiftShader without a GPU; required in CI), outputs poisoned.
await setUpWebGPUSuite(gpu, afterAll);
