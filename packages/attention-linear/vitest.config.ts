import { existsSync } from 'node:fs';
import { defineProject } from 'vitest/config';

// Without a GPU, Dawn runs on SwiftShader from Debian's chromium package, whose libvulkan.so.1 lives off the
// loader's path: set LD_LIBRARY_PATH before vitest forks its workers (they inherit it).
const CHROMIUM_LIB = '/usr/lib/chromium';
if (process.platform === 'linux' && existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`)) {
  const cur = process.env.LD_LIBRARY_PATH ?? '';
  if (!cur.split(':').includes(CHROMIUM_LIB)) {
    process.env.LD_LIBRARY_PATH = cur ? `${cur}:${CHROMIUM_LIB}` : CHROMIUM_LIB;
  }
}

export default defineProject({
  test: {
    name: 'attention-linear',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
