import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as core from '@attnkit/core';
import { fallbackStats, getKernel, type KernelDef, listKernels, registerKernel } from '@attnkit/core';
import { backendsUnderTest } from '@attnkit/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasWebGPU } from './helpers.js';

// Core's op suites (packages/core/test/ops/*.test.ts), run here on the WebGPU backend: each suite iterates
// over `backendsUnderTest()`, which this project's vitest config narrows to 'webgpu' (the CPU runs them in
// core's project). The setup file poisons every kernel output with NaN, so an element a kernel leaves
// unwritten fails the comparison. vitest.config.ts resolves `@attnkit/core` to core's source, so the WebGPU
// backend registers itself in the same registry the suites read.

/** Core ops the WebGPU backend has no WGSL kernel for: they may run through the CPU fallback, nothing else. */
const WITHOUT_WGSL_KERNEL: readonly string[] = listKernels('cpu').filter((op) => !getKernel(op, 'webgpu'));

const suiteDir = fileURLToPath(new URL('../../core/test/ops/', import.meta.url));
const suites = readdirSync(suiteDir)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();

// Outside CI only (test/setup.ts fails the run in CI) there may be no adapter, and then no backend to test.
describe.skipIf(!hasWebGPU)('core op suites on WebGPU', () => {
  it('runs on webgpu alone, with core suites found', () => {
    expect(backendsUnderTest()).toEqual(['webgpu']);
    expect(suites.length).toBeGreaterThan(10);
  });

  it('counts a kernel that declines its inputs as a fallback, which the check after each test sees', async () => {
    const neg = getKernel('neg', 'webgpu') as KernelDef;
    registerKernel({ ...neg, supports: () => false });
    try {
      const y = core.neg(core.tensor([1, -2, 3], { backend: 'webgpu' }));
      expect(Array.from(await y.data())).toEqual([-1, 2, -3]);
      expect([...fallbackStats.names]).toEqual(['neg']);
    } finally {
      registerKernel(neg);
      fallbackStats.reset();
    }
  });

  // An op with a WGSL kernel that silently ran on the CPU instead (a kernel declining its inputs, or a
  // missing registration) fails the test that ran it.
  beforeEach(() => {
    fallbackStats.reset();
  });
  afterEach(() => {
    const unexpected = [...fallbackStats.names].filter((op) => !WITHOUT_WGSL_KERNEL.includes(op));
    expect(unexpected, 'ops with a WGSL kernel that fell back to the CPU').toEqual([]);
  });

  // Which WGSL kernels the suites run: each is wrapped (same supports and input layout) to note its op.
  const exercised = new Set<string>();
  for (const op of hasWebGPU ? listKernels('webgpu') : []) {
    const kernel = getKernel(op, 'webgpu') as KernelDef;
    registerKernel({
      ...kernel,
      run: (inputs, attrs) => {
        exercised.add(op);
        return kernel.run(inputs, attrs);
      },
    });
  }

  // The suites read `backendsUnderTest()` when collected, which names 'webgpu' only once it is registered.
  for (const file of hasWebGPU ? suites : []) {
    describe(`core ${file}`, async () => {
      await import(pathToFileURL(`${suiteDir}${file}`).href);
    });
  }

  // Last (tests run in order): core's suites reach every WGSL kernel of core's ops, so a kernel without a
  // test of its own here fails. (Skipped when a name filter runs only some suites.)
  it('ran every WGSL kernel', () => {
    expect(listKernels('webgpu').filter((op) => !exercised.has(op))).toEqual([]);
  });
});
