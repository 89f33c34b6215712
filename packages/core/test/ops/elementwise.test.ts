import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  cast,
  ceil,
  clamp,
  cos,
  div,
  elu,
  eq,
  erf,
  exp,
  expm1,
  floor,
  ge,
  gelu,
  gt,
  le,
  leakyRelu,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  randomNormal,
  randomUniform,
  reciprocal,
  relu,
  round,
  rsqrt,
  sigmoid,
  sign,
  silu,
  sin,
  softplus,
  sqrt,
  square,
  sub,
  type Tensor,
  tanh,
  tensor,
  where,
} from '../../src/index.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  expectValues,
  readFlat,
} from '../../src/testing/index.js';
import { cpuUnderTest } from '../helpers.js';

// Independent scalar formulas (not the kernels' code) for the value checks.
const erfRef = (x: number) => {
  // Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; a high-order Simpson integral of 2/sqrt(pi) e^{-t^2} is exact enough.
  const n = 2000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
};

const unaryCases: [string, (x: Tensor) => Tensor, (v: number) => number, [number, number]][] = [
  ['neg', neg, (v) => -v, [-3, 3]],
  ['abs', abs, (v) => (v < 0 ? -v : v), [-3, 3]],
  ['exp', exp, (v) => Math.E ** v, [-3, 3]],
  ['log', log, (v) => Math.log(v), [0.1, 4]],
  ['log1p', log1p, (v) => Math.log(1 + v), [-0.5, 3]],
  ['expm1', expm1, (v) => Math.E ** v - 1, [-2, 2]],
  ['sqrt', sqrt, (v) => v ** 0.5, [0.1, 4]],
  ['rsqrt', rsqrt, (v) => v ** -0.5, [0.1, 4]],
  ['square', square, (v) => v * v, [-3, 3]],
  ['reciprocal', reciprocal, (v) => 1 / v, [0.2, 3]],
  ['sin', sin, Math.sin, [-3, 3]],
  ['cos', cos, Math.cos, [-3, 3]],
  ['tanh', tanh, (v) => (Math.E ** (2 * v) - 1) / (Math.E ** (2 * v) + 1), [-3, 3]],
  ['sigmoid', sigmoid, (v) => 1 / (1 + Math.E ** -v), [-5, 5]],
  ['erf', erf, erfRef, [-3.5, 3.5]],
  ['relu', relu, (v) => (v > 0 ? v : 0), [-3, 3]],
  ['silu', silu, (v) => v / (1 + Math.E ** -v), [-5, 5]],
  ['gelu', (x) => gelu(x), (v) => 0.5 * v * (1 + erfRef(v / Math.SQRT2)), [-4, 4]],
  [
    'gelu-tanh',
    (x) => gelu(x, { approximate: 'tanh' }),
    (v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3))),
    [-4, 4],
  ],
  ['elu', (x) => elu(x, 0.7), (v) => (v > 0 ? v : 0.7 * (Math.E ** v - 1)), [-3, 3]],
  ['leakyRelu', (x) => leakyRelu(x, 0.2), (v) => (v > 0 ? v : 0.2 * v), [-3, 3]],
  ['softplus', (x) => softplus(x, { beta: 2 }), (v) => Math.log(1 + Math.E ** (2 * v)) / 2, [-3, 3]],
  ['clamp', (x) => clamp(x, -1, 0.5), (v) => (v < -1 ? -1 : v > 0.5 ? 0.5 : v), [-3, 3]],
];

describe.each(backendsUnderTest())('elementwise on %s', (backend) => {
  const rand = (shape: number[], lo: number, hi: number, seed: number) =>
    randomUniform(shape, { low: lo, high: hi, seed, backend });

  it.each(unaryCases)('%s matches its formula', async (_name, f, ref, [lo, hi]) => {
    const x = rand([3, 7], lo, hi, 11);
    const expected = Array.from(await x.data(), ref);
    await assertClose(f(x), expected);
  });

  it.each(
    unaryCases.filter(
      ([n]) => n !== 'clamp' && n !== 'relu' && n !== 'abs' && n !== 'leakyRelu' && n !== 'elu',
    ),
  )('%s gradient matches finite differences', async (_name, f, _ref, [lo, hi]) => {
    await checkGradients(f, [rand([2, 3], lo, hi, 5)]);
  });

  it('kinked functions have gradients away from the kink', async () => {
    const x = tensor(
      [
        [-1.5, -0.3, 0.4],
        [0.8, 1.2, -2.2],
      ],
      { backend },
    );
    for (const f of [
      relu,
      abs,
      (t: Tensor) => leakyRelu(t, 0.1),
      (t: Tensor) => elu(t, 0.5),
      (t: Tensor) => clamp(t, -1, 1),
    ]) {
      await checkGradients(f, [x]);
    }
  });

  it('relu, clamp and abs pass PyTorch gradients at the kinks', async () => {
    const x = tensor([0, -1, 1], { backend }).setRequiresGrad();
    relu(x).sum().backward();
    expect(await readFlat(x.grad!)).toEqual([0, 0, 1]);
    x.grad = null;
    clamp(x, -1, 1).sum().backward();
    expect(await readFlat(x.grad!)).toEqual([1, 1, 1]);
    x.grad = null;
    abs(x).sum().backward();
    expect(await readFlat(x.grad!)).toEqual([0, -1, 1]);
  });

  it('rounding ops', async () => {
    const x = tensor([-1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.2], { backend });
    expect(await readFlat(round(x))).toEqual([-2, -0, 0, 2, 2, 3, -2]);
    expect(await readFlat(floor(x))).toEqual([-2, -1, 0, 1, 2, 2, -3]);
    expect(await readFlat(ceil(x))).toEqual([-1, -0, 1, 2, 3, 3, -2]);
    expect(await readFlat(sign(x))).toEqual([-1, -1, 1, 1, 1, 1, -1]);
  });

  it('binary arithmetic broadcasts', async () => {
    const a = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { backend },
    );
    const b = tensor([[10], [20]], { backend });
    await expectValues(add(a, b), [
      [11, 12, 13],
      [24, 25, 26],
    ]);
    await expectValues(sub(a, b), [
      [-9, -8, -7],
      [-16, -15, -14],
    ]);
    await expectValues(mul(a, 2), [
      [2, 4, 6],
      [8, 10, 12],
    ]);
    await expectValues(div(a, b), [
      [0.1, 0.2, 0.3].map((v) => Math.fround(v)),
      [0.2, 0.25, 0.3].map((v) => Math.fround(v)),
    ]);
    await expectValues(pow(a, 2), [
      [1, 4, 9],
      [16, 25, 36],
    ]);
    await expectValues(maximum(a, 3.5), [
      [3.5, 3.5, 3.5],
      [4, 5, 6],
    ]);
    await expectValues(minimum(a, tensor([2, 9, 1], { backend })), [
      [1, 2, 1],
      [2, 5, 1],
    ]);
  });

  it('binary gradients with broadcasting', async () => {
    const a = rand([2, 3], 0.5, 2, 1);
    const b = rand([3], 0.5, 2, 2);
    const c = rand([2, 1], 0.5, 2, 3);
    for (const f of [add, sub, mul, div, pow, maximum, minimum]) {
      await checkGradients(f, [a, b]);
      await checkGradients(f, [c, b]);
    }
  });

  it('dtype promotion follows PyTorch', async () => {
    const i = tensor([1, 2, 3], { dtype: 'int32', backend });
    const f = tensor([0.5, 0.5, 0.5], { backend });
    expect(add(i, i).dtype).toBe('int32');
    expect(add(i, f).dtype).toBe('float32');
    expect(add(i, 1.5).dtype).toBe('float32');
    expect(add(i, 2).dtype).toBe('int32');
    expect(div(i, 2).dtype).toBe('float32');
    expect(await readFlat(div(i, 2))).toEqual([0.5, 1, 1.5]);
    expect(exp(i).dtype).toBe('float32');
    expect(relu(i).dtype).toBe('int32');
  });

  it('comparisons and logic give bool', async () => {
    const a = tensor([1, 2, 3], { backend });
    const b = tensor([3, 2, 1], { backend });
    expect(await readFlat(eq(a, b))).toEqual([0, 1, 0]);
    expect(await readFlat(ne(a, b))).toEqual([1, 0, 1]);
    expect(await readFlat(lt(a, b))).toEqual([1, 0, 0]);
    expect(await readFlat(le(a, b))).toEqual([1, 1, 0]);
    expect(await readFlat(gt(a, b))).toEqual([0, 0, 1]);
    expect(ge(a, b).dtype).toBe('bool');
    const p = tensor([true, true, false, false], { backend });
    const q = tensor([true, false, true, false], { backend });
    expect(await readFlat(logicalAnd(p, q))).toEqual([1, 0, 0, 0]);
    expect(await readFlat(logicalOr(p, q))).toEqual([1, 1, 1, 0]);
    expect(await readFlat(logicalXor(p, q))).toEqual([0, 1, 1, 0]);
    expect(await readFlat(logicalNot(p))).toEqual([0, 0, 1, 1]);
  });

  it('where picks and routes gradients', async () => {
    const c = tensor([[true, false, true]], { backend });
    const a = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { backend },
    );
    await expectValues(where(c, a, -1), [
      [1, -1, 3],
      [4, -1, 6],
    ]);
    const b = rand([2, 1], -1, 1, 9);
    await checkGradients((cond, x, y) => where(cond, x, y), [c, rand([2, 3], -1, 1, 8), b]);
    expect(() => where(a, a, a)).toThrow(/where: cond must be a bool tensor, got float32/);
  });

  it('cast converts like PyTorch', async () => {
    const x = tensor([-1.7, -0.2, 0, 2.9], { backend });
    expect(await readFlat(cast(x, 'int32'))).toEqual([-1, 0, 0, 2]);
    expect(await readFlat(cast(x, 'bool'))).toEqual([1, 1, 0, 1]);
    expect(cast(tensor([1, 2], { dtype: 'int32', backend }), 'float32').requiresGrad).toBe(false);
  });

  it('rejects shapes that do not broadcast', async () => {
    expect(() => add(tensor([1, 2, 3], { backend }), tensor([1, 2], { backend }))).toThrow(
      /add: shapes must be broadcastable, got \[3\] and \[2\]/,
    );
    expect(() => gelu(tensor([1], { backend }), { approximate: 'fast' as 'tanh' })).toThrow(
      /gelu: approximate/,
    );
    expect(() => clamp(tensor([1], { backend }), 2, 1)).toThrow(/clamp: min must be <= max/);
  });

  it('NaN propagates through maximum and minimum', async () => {
    const a = tensor([Number.NaN, 1], { backend });
    expect(Number.isNaN((await maximum(a, 0).data())[0])).toBe(true);
    expect(Number.isNaN((await minimum(a, 0).data())[0])).toBe(true);
  });

  it('handles large random tensors with general broadcasting', async () => {
    const a = randomNormal([4, 1, 5], { seed: 3, backend });
    const b = randomNormal([3, 1], { seed: 4, backend });
    const ad = await a.data();
    const bd = await b.data();
    const expected: number[] = [];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 5; k++) expected.push(ad[i * 5 + k] * bd[j]);
    await assertClose(mul(a, b), expected);
  });
});

describe.runIf(cpuUnderTest)('elementwise with float64 (CPU only)', () => {
  it('float64 wins dtype promotion', () => {
    const f = tensor([0.5, 0.5, 0.5], { backend: 'cpu' });
    expect(add(f, cast(f, 'float64')).dtype).toBe('float64');
  });

  it('the gradient of a cast comes back in the input dtype', async () => {
    const w = tensor([-1.7, -0.2, 0, 2.9], { backend: 'cpu' }).setRequiresGrad();
    cast(w, 'float64').sum().backward();
    expect(w.grad!.dtype).toBe('float32');
    expect(await readFlat(w.grad!)).toEqual([1, 1, 1, 1]);
  });
});
