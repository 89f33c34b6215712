import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { addChromiumVulkanLoader } from '../../scripts/testing/webgpu-suite.js';

// SwiftShader's Vulkan loader must be on LD_LIBRARY_PATH before vitest forks its workers.
addChromiumVulkanLoader();

const coreSrc = (path: string) => fileURLToPath(new URL(`../core/src/${path}`, import.meta.url));

export default defineProject({
  resolve: {
    // test/core-suites.test.ts runs core's op suites (test files of core that import core's source). Core's
    // backend and kernel registries must exist once, so in this project `@attnkit/core` resolves to that same
    // source instead of core's dist: the WebGPU backend registers itself where core's suites look for it.
    alias: [
      { find: /^@attnkit\/core\/testing$/, replacement: coreSrc('testing/index.ts') },
      { find: /^@attnkit\/core\/node$/, replacement: coreSrc('node/index.ts') },
      { find: /^@attnkit\/core$/, replacement: coreSrc('index.ts') },
    ],
  },
  test: {
    name: 'gpu-kernels',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Core's suites run on every backend of `backendsUnderTest()`; the CPU already runs them in core's own
    // project, so here they run on WebGPU only.
    env: { ATTNKIT_TEST_BACKENDS: 'webgpu' },
  },
});
