import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import { afterEach, describe, expect, it } from 'vitest';
import { planScan, setScanVariant, useParallel } from '../../src/webgpu/plan.js';

// The launch geometry is pure arithmetic on the shape and the device limits: checked without a GPU.
describe('planScan', () => {
  const shape = (da: number, dc: number, n = 1000) => ({ batch: 1, n, heads: 1, da, dc });

  it('takes 64-token blocks and one slice when they fit', () => {
    expect(planScan(shape(16, 16), 32768, 256)).toEqual({ blk: 64, ev: 16, slices: 1, blocks: 16 });
  });

  it('balances value slices (dc 33 -> two of 17, not 32 + 1)', () => {
    expect(planScan(shape(8, 33), 32768, 256)).toMatchObject({ ev: 17, slices: 2 });
  });

  it('shortens blocks, then narrows slices, to fit workgroup memory', () => {
    // 64 * 100 + 64 * 20 + 100 * 20 + 65 floats > 8192; with 32-token blocks it fits.
    expect(planScan(shape(100, 40), 32768, 256)).toMatchObject({ blk: 32, ev: 20, slices: 2 });
    // 16 KiB (4096 floats): dk 128 needs 16-token blocks and slices of 8 channels.
    expect(planScan(shape(128, 64), 16384, 256)).toMatchObject({ blk: 16, ev: 8, slices: 8 });
  });

  it('never uses more threads than a workgroup may have, nor longer blocks than the cap', () => {
    expect(planScan(shape(8, 8), 32768, 32)?.blk).toBe(32);
    expect(planScan(shape(8, 8), 32768, 256, 16)?.blk).toBe(16);
  });

  it('counts a tail block and at least one block', () => {
    expect(planScan(shape(8, 8, 65), 32768, 256)?.blocks).toBe(2);
    expect(planScan(shape(8, 8, 0), 32768, 256)?.blocks).toBe(1);
  });

  it('declines dims it cannot hold (the CPU kernel runs them)', () => {
    expect(planScan(shape(257, 8), 1 << 20, 1024)).toBeNull();
    expect(planScan(shape(256, 256), 4096, 256)).toBeNull();
  });
});

describe('useParallel (the scan variant of each call)', () => {
  afterEach(() => setScanVariant('auto'));
  /** A kit with an H100-like adapter's limits, or SwiftShader's. */
  const kit = (software: boolean, bindingBytes = 2 ** 31) =>
    ({
      info: () => ({
        software,
        maxStorageBufferBindingSize: bindingBytes,
        maxBufferSize: bindingBytes,
        maxComputeWorkgroupsPerDimension: 65535,
      }),
      wgSize: () => 256,
    }) as unknown as WebGPUKernelKit;
  const shape = (batch: number, heads: number, n: number) => ({ batch, n, heads, da: 64, dc: 64 });
  const plan = (s: ReturnType<typeof shape>) => planScan(s, 49152, 1024)!;

  it('goes parallel over blocks on a GPU when batch x heads x slices is small and there are blocks', () => {
    const s = shape(1, 8, 65536);
    expect(useParallel(kit(false), 'op', s, plan(s))).toBe(true);
  });

  it('stays sequential with many workgroups, few blocks, or a software adapter', () => {
    const many = shape(16, 16, 65536);
    const short = shape(1, 8, 128);
    const s = shape(1, 8, 65536);
    expect(useParallel(kit(false), 'op', many, plan(many))).toBe(false);
    expect(useParallel(kit(false), 'op', short, plan(short))).toBe(false);
    expect(useParallel(kit(true), 'op', s, plan(s))).toBe(false);
  });

  it('follows setScanVariant, except when the block states do not fit one buffer', () => {
    const s = shape(1, 8, 65536);
    setScanVariant('parallel');
    expect(useParallel(kit(true), 'op', s, plan(s))).toBe(true);
    expect(useParallel(kit(false, 64 * 1024 * 1024), 'op', s, plan(s))).toBe(false);
    setScanVariant('sequential');
    expect(useParallel(kit(false), 'op', s, plan(s))).toBe(false);
  });
});
