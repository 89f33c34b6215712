import * as core from '@attnkit/core';
import { BackendError, fallbackStats, type Tensor, tensor } from '@attnkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { pendingHostTasks } from '../src/backend/queue.js';
import { gpuMemory } from '../src/index.js';
import { hasWebGPU } from './helpers.js';

// Third-party ops with only a CPU kernel (or a WebGPU kernel that declines some inputs): on WebGPU they run on
// the CPU through a host task, in program order, and are counted.
const doubleOp = core.defineOp<Record<string, never>>({ name: 'test.fallback.double' });
core.registerKernel({
  op: doubleOp.name,
  backend: 'cpu',
  run: ([t]) => [core.mul(t, 2)],
});
const pickOp = core.defineOp<{ n: number }>({ name: 'test.fallback.pick' });
core.registerKernel<{ n: number }>({
  op: pickOp.name,
  backend: 'cpu',
  // Reads its int32 input as indices: out-of-range values are an error that only the real data can show.
  run: ([x, idx]) => {
    const i = idx.dataSync() as Int32Array;
    for (const v of i) if (v < 0 || v >= x.size) throw new Error(`index ${v} out of range`);
    return [core.indexSelect(x, 0, idx)];
  },
});
const partOp = core.defineOp<{ gpu: boolean }>({ name: 'test.fallback.partial' });
core.registerKernel<{ gpu: boolean }>({ op: partOp.name, backend: 'cpu', run: ([t]) => [core.neg(t)] });
core.registerKernel<{ gpu: boolean }>({
  op: partOp.name,
  backend: 'webgpu',
  supports: (_inputs, attrs) => attrs.gpu,
  run: ([t]) => [core.neg(t)],
});
const shapeless = core.defineOp<Record<string, never>>({ name: 'test.fallback.valueShaped' });
core.registerKernel({
  op: shapeless.name,
  backend: 'cpu',
  // Output length depends on the values (like nonzero): zero-filled inputs cannot tell it.
  run: ([t]) => {
    const n = (t.dataSync() as Float32Array)[0];
    if (n <= 0) throw new Error('needs a positive length');
    return [core.zeros([n])];
  },
});

const values = async (t: Tensor) => [...(await t.data())];

describe.skipIf(!hasWebGPU)('CPU fallback on WebGPU', () => {
  beforeEach(() => fallbackStats.reset());

  it('runs an op without a WebGPU kernel between GPU ops, in order, and counts it', async () => {
    const x = tensor([1, 2, 3, 4], { backend: 'webgpu' });
    const y = core.neg(x); // GPU, recorded before the fallback
    const z = core.runOp1(doubleOp, [y], {}); // CPU, through a host task
    const w = core.add(z, 1); // GPU, recorded after: held until the task wrote z
    expect(z.backend.name).toBe('webgpu');
    expect(await values(w)).toEqual([-1, -3, -5, -7]);
    expect(fallbackStats.ops).toBe(1);
    expect(fallbackStats.transfers).toBe(2);
    expect([...fallbackStats.names]).toEqual([doubleOp.name]);
    for (const t of [x, y, z, w]) t.dispose();
  });

  it('chains fallbacks and keeps inputs alive when they are disposed before the task runs', async () => {
    const x = tensor([1, -2, 3], { backend: 'webgpu' });
    const a = core.runOp1(doubleOp, [x], {});
    x.dispose(); // its buffer is kept until the task has read it
    const b = core.runOp1(doubleOp, [a], {});
    a.dispose();
    const reuse = tensor([9, 9, 9], { backend: 'webgpu' }); // may take x's pooled buffer: ordered after
    expect(await values(b)).toEqual([4, -8, 12]);
    expect(await values(reuse)).toEqual([9, 9, 9]);
    expect(fallbackStats.ops).toBe(2);
    b.dispose();
    reuse.dispose();
  });

  it('packs a strided input first, and handles int32 and bool data', async () => {
    const m = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3], backend: 'webgpu' });
    const t = core.runOp1(doubleOp, [m.transpose(0, 1)], {});
    expect(t.shape).toEqual([3, 2]);
    expect(await values(t)).toEqual([2, 8, 4, 10, 6, 12]);
    const idx = tensor(Int32Array.from([2, 0]), { backend: 'webgpu' });
    const picked = core.runOp1(pickOp, [tensor([5, 6, 7], { backend: 'webgpu' }), idx], { n: 2 });
    expect(await values(picked)).toEqual([7, 5]);
    const flags = tensor(Uint8Array.from([1, 0, 1]), { dtype: 'bool', backend: 'webgpu' });
    expect(await values(core.runOp1(doubleOp, [core.cast(flags, 'float32')], {}))).toEqual([2, 0, 2]);
  });

  it('runs a WebGPU kernel that accepts the inputs, and falls back where it declines them', async () => {
    const x = tensor([1, 2], { backend: 'webgpu' });
    expect(await values(core.runOp1(partOp, [x], { gpu: true }))).toEqual([-1, -2]);
    expect(fallbackStats.ops).toBe(0);
    expect(await values(core.runOp1(partOp, [x], { gpu: false }))).toEqual([-1, -2]);
    expect(fallbackStats.ops).toBe(1);
  });

  it('raises a data error of the CPU kernel at the next read, naming it', async () => {
    const x = tensor([5, 6, 7], { backend: 'webgpu' });
    const bad = core.runOp1(pickOp, [x, tensor(Int32Array.from([0, 3]), { backend: 'webgpu' })], { n: 2 });
    await expect(bad.data()).rejects.toThrow(/index 3 out of range/);
    // The queue works again afterwards.
    expect(await values(core.neg(x))).toEqual([-5, -6, -7]);
    expect(pendingHostTasks()).toBe(0);
  });

  it('refuses an op whose output shape depends on the values, with a clear error', () => {
    const x = tensor([3], { backend: 'webgpu' });
    expect(() => core.runOp1(shapeless, [x], {})).toThrow(BackendError);
    expect(() => core.runOp1(shapeless, [x], {})).toThrow(
      /test\.fallback\.valueShaped: backend must be a WebGPU kernel for these inputs.*move the inputs to the CPU/,
    );
  });

  it('leaves live buffers unchanged over repeated fallbacks', async () => {
    const x = tensor([1, 2, 3], { backend: 'webgpu' });
    const once = async () => {
      const n = core.neg(x);
      const y = core.runOp1(doubleOp, [n], {});
      n.dispose(); // before the task ran: the fallback keeps it until then
      await y.data();
      y.dispose();
    };
    await once();
    const before = gpuMemory();
    for (let i = 0; i < 20; i++) await once();
    await core.getBackend('webgpu').sync?.();
    expect(gpuMemory().liveBuffers).toBe(before.liveBuffers);
    expect(gpuMemory().liveBytes).toBe(before.liveBytes);
    x.dispose();
  });
});
