import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // Core is a peer (one copy of its registries). gpu-kernels is an optional peer that the WebGPU kernels
  // reach through `backend.kernelKit` and only type-import, so nothing of it may be bundled or required.
  external: [/^node:/, '@attnkit/core', '@attnkit/gpu-kernels', 'webgpu'],
});
