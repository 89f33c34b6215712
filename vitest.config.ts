import { defineConfig } from 'vitest/config';

// Runs every package's and app's tests in one process: each folder under packages/ and apps/ has its own
// vitest.config.ts (name, include, timeouts). Machines here have 2 cores.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
