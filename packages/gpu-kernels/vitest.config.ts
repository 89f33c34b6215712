import { existsSync } from 'node:fs';
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

export default defineProject({
  test: {
    name: 'gpu-kernels',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
