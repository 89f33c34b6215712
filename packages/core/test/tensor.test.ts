import { describe, expect, it } from 'vitest';
import {
  arange,
  endScope,
  exp,
  eye,
  full,
  Generator,
  keep,
  linspace,
  manualSeed,
  memory,
  ones,
  randomNormal,
  randomPermutation,
  randomUniform,
  scalar,
  startScope,
  tensor,
  tidy,
  truncatedNormal,
  zeros,
} from '../src/index.js';

describe('tensor creation and readback', () => {
  it('creates from nested arrays, typed arrays and scalars', async () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(a.shape).toEqual([2, 2]);
    expect(a.dtype).toBe('float32');
    expect(a.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(await a.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(Array.from(await a.data())).toEqual([1, 2, 3, 4]);
    expect(tensor(new Int32Array([1, 2, 3]), { shape: [3, 1] }).dtype).toBe('int32');
    expect(tensor(true).dtype).toBe('bool');
    expect(scalar(2.5).item()).toBe(2.5);
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: values must be a rectangular nested array/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(
      /tensor: shape must be 3 elements, got \[2, 2\] \(4 elements\)/,
    );
    expect(() => zeros([2, -1])).toThrow(/full: shape must be a list of non-negative integers/);
  });

  it('copies its input, so later writes to the source do not leak in', () => {
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 9;
    expect(t.dataSync()[0]).toBe(1);
  });

  it('range helpers', () => {
    expect(Array.from(arange(5).dataSync())).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(Array.from(arange(1, 2, 0.25).dataSync())).toEqual([1, 1.25, 1.5, 1.75]);
    expect(Array.from(linspace(0, 1, 5).dataSync())).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(full([2], 7, { dtype: 'int32' }).toArray()).toEqual([7, 7]);
    expect(ones([0, 3]).size).toBe(0);
  });

  it('dispose is idempotent and use after dispose is a clear error', () => {
    const t = tensor([1, 2]);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(() => exp(t)).toThrow(/exp: x must be a live tensor, got tensor #\d+ after dispose\(\)/);
    expect(() => t.dataSync()).toThrow(/dataSync: tensor must be a live tensor/);
  });
});

describe('scopes', () => {
  it('tidy frees everything but the result, including nested results', () => {
    const before = memory('cpu');
    const out = tidy(() => {
      const a = tensor([1, 2]);
      const b = exp(a);
      return { b, list: [exp(b)] };
    });
    expect(memory('cpu').tensors).toBe(before.tensors + 2);
    out.b.dispose();
    out.list[0].dispose();
    expect(memory('cpu')).toEqual(before);
  });

  it('keep exempts a tensor, nested scopes hand results outwards', () => {
    const before = memory('cpu');
    let kept!: ReturnType<typeof tensor>;
    const r = tidy(() => {
      kept = keep(tensor([1]));
      return tidy(() => exp(tensor([2])));
    });
    expect(kept.isDisposed).toBe(false);
    expect(r.isDisposed).toBe(false);
    kept.dispose();
    r.dispose();
    expect(memory('cpu')).toEqual(before);
  });

  it('tidy frees on throw and rejects async functions', () => {
    const before = memory('cpu');
    expect(() =>
      tidy(() => {
        tensor([1, 2, 3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(memory('cpu')).toEqual(before);
    expect(() => tidy(async () => 1)).toThrow(/tidy: fn must be synchronous/);
  });

  it('startScope/endScope for async code', async () => {
    const before = memory('cpu');
    startScope();
    const a = tensor([1, 2]);
    await a.data();
    const b = exp(a);
    endScope(b);
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(false);
    b.dispose();
    expect(memory('cpu')).toEqual(before);
    expect(() => endScope()).toThrow(/no scope is open/);
  });
});

describe('seeded random', () => {
  it('is reproducible by seed and by manualSeed', () => {
    expect(Array.from(randomNormal([5], { seed: 3 }).dataSync())).toEqual(
      Array.from(randomNormal([5], { seed: 3 }).dataSync()),
    );
    manualSeed(11);
    const a = randomUniform([4]).dataSync();
    manualSeed(11);
    expect(Array.from(randomUniform([4]).dataSync())).toEqual(Array.from(a));
    const g = new Generator(1);
    const first = g.uniform();
    g.seed(1);
    expect(g.uniform()).toBe(first);
  });

  it('has the right moments and bounds', () => {
    const n = 20000;
    const u = Array.from(randomUniform([n], { seed: 1, low: -2, high: 4 }).dataSync());
    const mu = u.reduce((s, v) => s + v, 0) / n;
    expect(mu).toBeGreaterThan(0.95);
    expect(mu).toBeLessThan(1.05);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(4);
    const z = Array.from(randomNormal([n], { seed: 2, mean: 1, std: 3 }).dataSync());
    const zm = z.reduce((s, v) => s + v, 0) / n;
    const zv = z.reduce((s, v) => s + (v - zm) ** 2, 0) / n;
    expect(Math.abs(zm - 1)).toBeLessThan(0.06);
    expect(Math.abs(Math.sqrt(zv) - 3)).toBeLessThan(0.06);
    const t = Array.from(truncatedNormal([n], { seed: 3, std: 0.02 }).dataSync());
    expect(Math.max(...t.map(Math.abs))).toBeLessThanOrEqual(0.04);
    // A normal truncated at +-2 std has std 0.8796 of the untruncated one.
    const ts = Math.sqrt(t.reduce((s, v) => s + v * v, 0) / n);
    expect(Math.abs(ts / 0.02 - 0.8796)).toBeLessThan(0.02);
    const p = Array.from(randomPermutation(50, { seed: 4 }).dataSync());
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
