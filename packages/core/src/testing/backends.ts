import { listBackends } from '../backend/registry.js';

/**
 * The backends a test suite should run on: every registered backend, or the comma-separated list in the
 * `ATTNKIT_TEST_BACKENDS` environment variable. A backend package runs core's op suites by registering itself
 * in a vitest setup file and including them.
 */
export function backendsUnderTest(): string[] {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const env = proc?.env?.ATTNKIT_TEST_BACKENDS;
  const all = listBackends();
  if (!env) return all;
  const wanted = env
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const missing = wanted.filter((w) => !all.includes(w));
  if (missing.length > 0) {
    throw new Error(
      `ATTNKIT_TEST_BACKENDS names ${missing.join(', ')}, which are not registered (have ${all.join(', ')})`,
    );
  }
  return wanted;
}
