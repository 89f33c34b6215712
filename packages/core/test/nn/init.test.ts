import { describe, expect, it } from 'vitest';
import { Conv2d, Generator, init, Linear, manualSeed, type Tensor, tensor, zeros } from '../../src/index.js';

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  let s = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const x of v) {
    s += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length), min, max };
}

/** Checks U(-b, b): every value inside, the extremes near ±b, std b/√3 within 3%. */
function expectUniform(t: Tensor, b: number): void {
  const s = stats(t);
  expect(s.min).toBeGreaterThanOrEqual(-b);
  expect(s.max).toBeLessThanOrEqual(b);
  expect(s.max).toBeGreaterThan(0.99 * b);
  expect(s.min).toBeLessThan(-0.99 * b);
  expect(Math.abs(s.std / (b / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
  expect(Math.abs(s.mean)).toBeLessThan(0.02 * b);
}

describe('init', () => {
  it('fans follow the [out, in, ...kernel] layout', () => {
    expect(init.calculateFanInAndFanOut([5, 3])).toEqual([3, 5]);
    expect(init.calculateFanInAndFanOut(zeros([8, 4, 3, 2]))).toEqual([24, 48]);
    expect(() => init.calculateFanInAndFanOut([4])).toThrow(
      /calculateFanInAndFanOut: tensor must be at least 2-D \(a weight\), got \[4\]/,
    );
  });

  it('gains are PyTorch’s', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('swish' as 'relu')).toThrow(/calculateGain: nonlinearity must be one of/);
  });

  it('kaimingUniform_ with a = √5 is U(±1/√fanIn) (the Linear and Conv default)', () => {
    manualSeed(3);
    const w = zeros([128, 400]);
    expect(init.kaimingUniform_(w, { a: Math.sqrt(5) })).toBe(w);
    expectUniform(w, 1 / 20);
  });

  it('kaimingNormal_ (relu, fan_out) and xavier', () => {
    manualSeed(4);
    const w = zeros([200, 50, 3, 3]);
    init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    const s = stats(w);
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(200 * 9)) - 1)).toBeLessThan(0.02);
    const x = zeros([300, 100]);
    init.xavierUniform_(x, { gain: 2 });
    expectUniform(x, 2 * Math.sqrt(6 / 400));
    init.xavierNormal_(x);
    expect(Math.abs(stats(x).std / Math.sqrt(2 / 400) - 1)).toBeLessThan(0.03);
    expect(() => init.kaimingUniform_(x, { mode: 'fan' as 'fan_in' })).toThrow(
      /kaimingUniform_: mode must be 'fan_in' or 'fan_out'/,
    );
  });

  it('uniform_, normal_, truncNormal_, constant_', () => {
    manualSeed(5);
    const t = zeros([200, 200]);
    init.uniform_(t, -3, 1);
    const u = stats(t);
    expect(u.min).toBeGreaterThanOrEqual(-3);
    expect(u.max).toBeLessThanOrEqual(1);
    expect(u.mean).toBeCloseTo(-1, 1);
    init.normal_(t, 2, 0.5);
    const n = stats(t);
    expect(n.mean).toBeCloseTo(2, 2);
    expect(n.std).toBeCloseTo(0.5, 2);
    // Bounds are absolute, at ±2 by default: the standard normal cut at ±2σ has std 0.8796.
    init.truncNormal_(t);
    const tn = stats(t);
    expect(tn.min).toBeGreaterThanOrEqual(-2);
    expect(tn.max).toBeLessThanOrEqual(2);
    expect(tn.std).toBeCloseTo(0.8796, 2);
    // timm's trunc_normal_(w, std=.02): the ±2 bounds are 100σ away, so nothing is cut.
    init.truncNormal_(t, { std: 0.02 });
    expect(stats(t).std).toBeCloseTo(0.02, 3);
    init.truncNormal_(t, { mean: 1, std: 1, a: 0.5, b: 1.5 });
    expect(stats(t).min).toBeGreaterThanOrEqual(0.5);
    init.constant_(t, 0.25);
    expect(stats(t)).toEqual({ mean: 0.25, std: 0, min: 0.25, max: 0.25 });
    expect(
      init
        .zeros_(t)
        .dataSync()
        .every((v) => v === 0),
    ).toBe(true);
    expect(
      init
        .ones_(t)
        .dataSync()
        .every((v) => v === 1),
    ).toBe(true);
    expect(() => init.uniform_(t, 1, 0)).toThrow(/uniform_: high must be >= low \(1\), got 0/);
    expect(() => init.truncNormal_(t, { a: 1, b: 1 })).toThrow(/truncNormal_: b must be > a \(1\), got 1/);
  });

  it('works in place on a parameter without recording gradients', () => {
    const p = zeros([3, 4], { dtype: 'float64' }).setRequiresGrad();
    init.normal_(p);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    expect(p.dtype).toBe('float64');
    expect(() => init.normal_(zeros([2], { dtype: 'int32' }))).toThrow(
      /normal_: tensor must be a floating-point tensor, got int32/,
    );
  });

  it('is reproducible from a seed or a generator', () => {
    const a = init.uniform_(zeros([5]), 0, 1, { generator: new Generator(9) });
    const b = init.uniform_(zeros([5]), 0, 1, { generator: new Generator(9) });
    expect(a.toArray()).toEqual(b.toArray());
    manualSeed(11);
    const l1 = new Linear(3, 3);
    manualSeed(11);
    const l2 = new Linear(3, 3);
    expect(l1.weight.toArray()).toEqual(l2.weight.toArray());
    expect(l1.bias!.toArray()).toEqual(l2.bias!.toArray());
  });

  it('Linear and Conv2d default to U(±1/√fanIn) for weight and bias', () => {
    manualSeed(6);
    const lin = new Linear(64, 256);
    expectUniform(lin.weight, 1 / 8);
    const b = stats(lin.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-1 / 8);
    expect(b.max).toBeLessThanOrEqual(1 / 8);
    expect(b.max - b.min).toBeGreaterThan(0.2);
    // fanIn = in / groups · kH · kW = 32 / 2 · 3 · 3 = 144
    const conv = new Conv2d(32, 64, 3, { groups: 2 });
    expectUniform(conv.weight, 1 / 12);
    expect(stats(conv.bias!).max).toBeLessThanOrEqual(1 / 12);
    lin.dispose();
    conv.dispose();
  });

  it('rejects non-tensors', () => {
    expect(() => init.zeros_(tensor([1]).toArray() as unknown as Tensor)).toThrow(
      /constant_: tensor must be a Tensor/,
    );
  });
});
