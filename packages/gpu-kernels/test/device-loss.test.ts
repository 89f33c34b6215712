import * as core from '@attnkit/core';
import { BackendError, tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { destroyWebGPU, getWebGPUDevice, initWebGPU, webgpuInfo } from '../src/index.js';
import { hasWebGPU } from './helpers.js';

describe.skipIf(!hasWebGPU)('device loss', () => {
  it('gives a clear error on the next op, and initWebGPU() makes a new device', async () => {
    const x = tensor([1, 2, 3], { backend: 'webgpu' });
    getWebGPUDevice().destroy();
    // The lost promise settles asynchronously.
    await new Promise((r) => setTimeout(r, 50));
    expect(() => core.exp(x)).toThrow(BackendError);
    expect(() => core.exp(x)).toThrow(/lost.*initWebGPU/);
    expect(webgpuInfo()).toBeUndefined();
    // Disposing tensors of the lost device is safe.
    x.dispose();
    expect(await initWebGPU({ notice: null })).toBe(true);
    const y = tensor([1, 2, 3], { backend: 'webgpu' });
    expect([...(await core.add(y, y).data())]).toEqual([2, 4, 6]);
  });

  it('with no adapter: one notice, false, and the CPU stays the backend', async () => {
    await destroyWebGPU();
    expect(core.listBackends()).not.toContain('webgpu');
    const notices: string[] = [];
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    expect(await initWebGPU({ gpu: noAdapter, notice: (m) => notices.push(m) })).toBe(false);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/WebGPU unavailable.*CPU/);
    expect(core.currentBackendName()).toBe('cpu');
    expect(() => core.exp(tensor([1]).to('webgpu'))).toThrow(/webgpu/);
    expect(await initWebGPU({ notice: null })).toBe(true);
    expect(core.currentBackendName()).toBe('webgpu');
  });
});
