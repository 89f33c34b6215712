import * as core from '@attnkit/core';
import { type Tensor, tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  getWebGPUDevice,
  gpuMemory,
  setPoisonOutputs,
  sizeClass,
  webgpuBackend,
  webgpuInfo,
} from '../src/index.js';
import { expectMatch, hasWebGPU, pair } from './helpers.js';

describe('size classes', () => {
  it('are powers of two from 256 bytes, then multiples of 16 MiB', () => {
    expect(sizeClass(0)).toBe(256);
    expect(sizeClass(257)).toBe(512);
    expect(sizeClass(4096)).toBe(4096);
    expect(sizeClass(64 * 2 ** 20)).toBe(64 * 2 ** 20);
    expect(sizeClass(64 * 2 ** 20 + 1)).toBe(80 * 2 ** 20);
  });
});

describe.skipIf(!hasWebGPU)('the WebGPU backend', () => {
  it('is registered as the default, describes its adapter and reports limits', () => {
    expect(core.currentBackendName()).toBe('webgpu');
    const info = webgpuInfo()!;
    expect(info.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(info.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(webgpuBackend.describe!()).toContain(info.description || 'WebGPU');
    expect(getWebGPUDevice()).toBeDefined();
  });

  it("counts bool tensors in core's memory() at their 4 bytes per element on the GPU", () => {
    const before = core.memory('webgpu').bytes;
    const m = tensor(Uint8Array.from([1, 0, 1]), { dtype: 'bool', backend: 'webgpu' });
    expect(core.memory('webgpu').bytes - before).toBe(12);
    m.dispose();
    expect(core.memory('webgpu').bytes).toBe(before);
  });

  it('round-trips every dtype, reads at offsets, and refuses float64 and sync reads', async () => {
    const f = tensor(Float32Array.from([1.5, -2, 3, 4, 5]), { backend: 'webgpu' });
    const i = tensor(Int32Array.from([-7, 0, 2147483647]), { backend: 'webgpu' });
    const b = tensor(Uint8Array.from([1, 0, 1, 1]), { backend: 'webgpu', dtype: 'bool' });
    expect([...(await f.data())]).toEqual([1.5, -2, 3, 4, 5]);
    expect([...(await i.data())]).toEqual([-7, 0, 2147483647]);
    expect(await b.data()).toEqual(Uint8Array.from([1, 0, 1, 1]));
    const s = core.slice(f, [[1, 4]]);
    expect([...(await s.data())]).toEqual([-2, 3, 4]);
    expect(() => tensor([1, 2], { backend: 'webgpu', dtype: 'float64' })).toThrow(/float64/);
    expect(() => f.dataSync()).toThrow();
    const empty = tensor(new Float32Array(0), { backend: 'webgpu' });
    expect((await core.exp(empty).data()).length).toBe(0);
  });

  it('orders an upload into a reused buffer after pending kernels that read its old contents', async () => {
    const x = tensor(Float32Array.from([1, 2, 3, 4]), { backend: 'webgpu' });
    const handle = x.storage.handle;
    const y = core.neg(x); // recorded, not yet submitted
    x.dispose(); // x's buffer goes back to the pool while neg still has to read it
    const z = tensor(Float32Array.from([10, 20, 30, 40]), { backend: 'webgpu' });
    expect((z.storage.handle as { buffer: unknown }).buffer).toBe((handle as { buffer: unknown }).buffer);
    expect([...(await y.data())]).toEqual([-1, -2, -3, -4]);
    expect([...(await z.data())]).toEqual([10, 20, 30, 40]);
  });

  it('poisons outputs in test mode, so an unwritten element would be NaN', async () => {
    // A kernel writes every element, so poisoning is invisible in results...
    const x = tensor([1, 2, 3], { backend: 'webgpu' });
    const y = core.add(x, 1);
    expect([...(await y.data())]).toEqual([2, 3, 4]);
    // ...but the pooled buffer behind an output really is filled with NaN before the kernel runs: an output
    // of 3 elements lives in a 64-element class, and the tail beyond it is still the poison.
    const h = y.storage.handle as { buffer: GPUBuffer };
    const raw = await webgpuBackend.read(h, 'float32', 0, 64);
    expect(raw.slice(0, 3)).toEqual(Float32Array.from([2, 3, 4]));
    expect(Number.isNaN(raw[63])).toBe(true);
  });

  it('computes gradients on WebGPU (vjps of matmul, add, gelu, softmax, max, slice) like the CPU', async () => {
    const x = pair([5, 7], 1);
    const w = pair([7, 6], 2);
    const b = pair([6], 3);
    const f = (xx: Tensor, ww: Tensor, bb: Tensor) => {
      const h = core.gelu(core.add(core.matmul(xx, ww), bb));
      const p = core.softmax(h, -1);
      const m = core.max(h, { axis: 0 });
      return core.add(core.sum(core.mul(p, core.slice(h, [null, [0, 6]]))), core.sum(m));
    };
    const g = core.valueAndGrad(f)(x.gpu, w.gpu, b.gpu);
    const c = core.valueAndGrad(f)(x.cpu, w.cpu, b.cpu);
    await expectMatch(g.value, c.value, 'value');
    for (const k of [0, 1, 2]) await expectMatch(g.grads[k], c.grads[k], `grad ${k}`);
    // Transposed operands: the vjp of matmul(x, transpose(w)) passes transposed views again.
    const wt = pair([6, 7], 4);
    const f2 = (xx: Tensor, ww: Tensor) => core.sum(core.square(core.matmul(xx, core.transpose(ww))));
    const g2 = core.valueAndGrad(f2)(x.gpu, wt.gpu);
    const c2 = core.valueAndGrad(f2)(x.cpu, wt.cpu);
    for (const k of [0, 1]) await expectMatch(g2.grads[k], c2.grads[k], `transB grad ${k}`);
  });

  it('releases every buffer: 1000 steps of matmul, add, gelu, softmax, sum inside tidy', async () => {
    setPoisonOutputs(false);
    try {
      const x = pair([8, 16], 5).gpu;
      const w = pair([16, 16], 6).gpu;
      const bias = pair([16], 7).gpu;
      await webgpuBackend.sync!();
      const before = gpuMemory();
      const coreBefore = core.memory('webgpu');
      let last = 0;
      for (let step = 0; step < 1000; step++) {
        const s = core.tidy(() => core.sum(core.softmax(core.gelu(core.add(core.matmul(x, w), bias)), -1)));
        if (step % 250 === 249) last = (await s.data())[0];
        s.dispose();
      }
      await webgpuBackend.sync!();
      const after = gpuMemory();
      expect(after.liveBuffers).toBe(before.liveBuffers);
      expect(after.liveBytes).toBe(before.liveBytes);
      expect(core.memory('webgpu')).toEqual(coreBefore);
      // Reuse, not growth: the pool gained at most the handful of buffers one step needs.
      expect(after.pooledBuffers).toBeLessThanOrEqual(before.pooledBuffers + 6);
      // softmax rows sum to 1: 8 rows.
      expect(last).toBeCloseTo(8, 4);
    } finally {
      setPoisonOutputs(true);
    }
  });
});
