import type { Server } from 'node:http';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage, CHROMIUM, hasChromium, launchChromium, serve } from './browser/harness.js';
import type { BrowserCheck } from './browser/protocol.js';

// In CI (or with ATTNKIT_REQUIRE_WEBGPU=1) a missing chromium is a failure, not a skip.
const required = !!process.env.CI || process.env.ATTNKIT_REQUIRE_WEBGPU === '1';

describe.skipIf(!hasChromium && !required)('in headless chromium (navigator.gpu)', () => {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let url = '';

  beforeAll(async () => {
    if (!hasChromium) return;
    const script = await bundlePage();
    ({ server, url } = await serve(script));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('finds a WebGPU adapter and matches the CPU on matmul, softmax, broadcasting add and sum', async () => {
    if (!hasChromium) {
      throw new Error(
        `chromium is required here (CI or ATTNKIT_REQUIRE_WEBGPU=1) but ${CHROMIUM} is missing`,
      );
    }
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction('typeof globalThis.attnkitBrowserCheck === "function"');
    const got = (await page.evaluate('globalThis.attnkitBrowserCheck()')) as BrowserCheck;
    await page.close();
    expect(errors).toEqual([]);
    expect(got.hasNavigatorGpu, got.userAgent).toBe(true);
    expect(got.adapter, got.why).toBe(true);
    expect(got.ops.map((o) => o.name)).toHaveLength(5);
    const tol = toleranceFor('webgpu');
    for (const op of got.ops) {
      expect(op.backend, op.name).toBe('webgpu');
      expect(op.shape, op.name).toEqual(op.cpuShape);
      expect(op.gpu.length, op.name).toBe(op.cpu.length);
      expect(op.cpu.length, op.name).toBeGreaterThan(0);
      const d = compareArrays(op.gpu, op.cpu, tol);
      expect(d.bad, `${op.name}: max abs error ${op.maxAbsError}`).toBe(0);
      expect(op.maxAbsError, op.name).toBeLessThanOrEqual(
        tol.atol + tol.rtol * Math.max(...op.cpu.map(Math.abs)),
      );
    }
  });
});
