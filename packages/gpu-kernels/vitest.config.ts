import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

// Without a GPU, Dawn runs on the SwiftShader Vulkan driver of Debian's chromium package. That package keeps
// its libvulkan.so.1 in /usr/lib/chromium, off the loader's path, and the loader reads LD_LIBRARY_PATH only
// when a process starts: so it is set here, before vitest forks the test workers (which inherit it).
const CHROMIUM_LIB = '/usr/lib/chromium';
if (process.platform === 'linux' && existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`)) {
  const cur = process.env.LD_LIBRARY_PATH ?? '';
  if (!cur.split(':').includes(CHROMIUM_LIB)) {
    process.env.LD_LIBRARY_PATH = cur ? `${cur}:${CHROMIUM_LIB}` : CHROMIUM_LIB;
  }
}

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
