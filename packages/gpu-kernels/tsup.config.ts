import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // The declarations use the WebGPU types (GPUDevice, ...), which @webgpu/types (a dependency) declares.
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // Core is a peer (one copy of its registries); `webgpu` is an optional peer, imported only in Node.
  external: [/^node:/, '@attnkit/core', 'webgpu'],
});
