import { describe, expect, it } from 'vitest';
import {
  Conv2d,
  Dropout,
  dropout,
  Embedding,
  Flatten,
  GELU,
  Generator,
  Identity,
  LayerNorm,
  Linear,
  Mlp,
  type Module,
  ModuleDict,
  ModuleList,
  manualSeed,
  memory,
  noGrad,
  ReLU,
  randomNormal,
  Sequential,
  Sigmoid,
  SiLU,
  sum,
  Tanh,
  type Tensor,
  tensor,
  tidy,
} from '../../src/index.js';
import { gradcheck } from '../../src/testing/index.js';

const shapes = (m: { stateDict(): Map<string, Tensor> }) =>
  Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));

const flat = (t: Tensor) => Array.from(t.dataSync());

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, digits = 5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], digits);
}

describe('Linear', () => {
  it('has torch names and shapes', () => {
    expect(shapes(new Linear(3, 5))).toEqual({ weight: [5, 3], bias: [5] });
    expect(shapes(new Linear(3, 5, { bias: false }))).toEqual({ weight: [5, 3] });
  });

  it('computes x Wᵀ + b over the last axis', () => {
    const lin = new Linear(2, 3);
    lin.loadStateDict({
      weight: tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      bias: tensor([0.5, -1, 2]),
    });
    const x = tensor([[[1, -1]], [[2, 0.5]]]); // [2, 1, 2]
    // rows: [1-2+.5, 3-4-1, 5-6+2] = [-0.5, -2, 1]; [2+1+.5, 6+2-1, 10+3+2] = [3.5, 7, 15]
    expect(lin.forward(x).toArray()).toEqual([[[-0.5, -2, 1]], [[3.5, 7, 15]]]);
    expect(() => lin.forward(tensor([[1, 2, 3]]))).toThrow(
      /Linear: x must be of shape \[\.\.\., 2\], got \[1, 3\]/,
    );
    expect(() => new Linear(0, 2)).toThrow(/Linear: inFeatures must be a positive integer, got 0/);
  });

  it('is differentiable in input and parameters', () => {
    const lin = new Linear(3, 2, { dtype: 'float64' });
    const x = randomNormal([2, 3], { seed: 1, dtype: 'float64' });
    gradcheck((xi) => lin.forward(xi), [x]);
    const { weight, bias } = lin;
    const y = tidy(() => sum(lin.forward(x)));
    y.backward();
    // d/dW Σ (x Wᵀ + b) = column sums of x for each output row; d/db = N.
    const colSums = [0, 1, 2].map((j) =>
      flat(x)
        .filter((_, i) => i % 3 === j)
        .reduce((a, v) => a + v, 0),
    );
    expectClose(flat(weight.grad!), [...colSums, ...colSums], 12);
    expect(flat(bias!.grad!)).toEqual([2, 2]);
  });
});

/** Direct cross-correlation on flat NCHW arrays (zero padding), for checking Conv2d. */
function convRef(
  x: ArrayLike<number>,
  [n, c, h, w]: number[],
  k: ArrayLike<number>,
  [o, cg, kh, kw]: number[],
  bias: ArrayLike<number> | null,
  { stride = 1, pad = 0, dil = 1, groups = 1 },
): { out: number[]; shape: number[] } {
  const oh = Math.floor((h + 2 * pad - dil * (kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - dil * (kw - 1) - 1) / stride) + 1;
  const out: number[] = [];
  const opg = o / groups;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = bias ? bias[oc] : 0;
          const g = Math.floor(oc / opg);
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let d = 0; d < kw; d++) {
                const r = i * stride - pad + a * dil;
                const q = j * stride - pad + d * dil;
                if (r < 0 || r >= h || q < 0 || q >= w) continue;
                const cin = g * cg + ci;
                s += x[((b * c + cin) * h + r) * w + q] * k[((oc * cg + ci) * kh + a) * kw + d];
              }
          out.push(s);
        }
  void c;
  return { out, shape: [n, o, oh, ow] };
}

describe('Conv2d', () => {
  it('has torch names and shapes', () => {
    expect(shapes(new Conv2d(4, 6, 3, { groups: 2 }))).toEqual({ weight: [6, 2, 3, 3], bias: [6] });
    expect(shapes(new Conv2d(3, 8, [1, 5], { bias: false }))).toEqual({ weight: [8, 3, 1, 5] });
  });

  it.each([
    { stride: 1, pad: 0, dil: 1, groups: 1 },
    { stride: 2, pad: 1, dil: 1, groups: 2 },
    { stride: 1, pad: 2, dil: 2, groups: 1 },
  ])('matches a direct convolution (%o)', (o) => {
    const conv = new Conv2d(4, 6, 3, {
      stride: o.stride,
      padding: o.pad,
      dilation: o.dil,
      groups: o.groups,
      dtype: 'float64',
    });
    const x = randomNormal([2, 4, 5, 6], { seed: 2, dtype: 'float64' });
    const y = conv.forward(x);
    const ref = convRef(
      x.dataSync(),
      [2, 4, 5, 6],
      conv.weight.dataSync(),
      [...conv.weight.shape],
      conv.bias!.dataSync(),
      o,
    );
    expect([...y.shape]).toEqual(ref.shape);
    expectClose(y.dataSync(), ref.out, 10);
  });

  it("supports padding 'same', unbatched input, and checks channels", () => {
    const conv = new Conv2d(2, 3, [3, 2], { padding: 'same' });
    expect(conv.forward(randomNormal([2, 5, 4], { seed: 3 })).shape).toEqual([3, 5, 4]);
    expect(() => conv.forward(randomNormal([1, 3, 5, 5]))).toThrow(
      /Conv2d: x must be of shape \[N, 2, H, W\] or \[2, H, W\], got \[1, 3, 5, 5\]/,
    );
    expect(() => new Conv2d(4, 6, 3, { groups: 3 })).toThrow(
      /Conv2d: groups must be a divisor of inChannels \(4\), got 3/,
    );
    expect(() => new Conv2d(2, 2, 3, { padding: 'same', stride: 2 })).toThrow(
      /Conv2d: stride must be 1 when padding is 'same'/,
    );
    expect(conv.toString()).toBe('Conv2d(2, 3, kernel_size=(3, 2), stride=(1, 1), padding=same)');
  });

  it('is differentiable in its input', () => {
    const conv = new Conv2d(2, 2, 2, { stride: 1, padding: 1, dtype: 'float64' });
    gradcheck((x) => conv.forward(x), [randomNormal([1, 2, 3, 3], { seed: 4, dtype: 'float64' })]);
  });
});

describe('Embedding', () => {
  it('looks up rows for indices of any shape', () => {
    const emb = new Embedding(4, 2);
    expect(shapes(emb)).toEqual({ weight: [4, 2] });
    emb.loadStateDict({
      weight: tensor([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ]),
    });
    const idx = tensor(
      [
        [3, 0],
        [1, 1],
      ],
      { dtype: 'int32' },
    );
    expect(emb.forward(idx).toArray()).toEqual([
      [
        [6, 7],
        [0, 1],
      ],
      [
        [2, 3],
        [2, 3],
      ],
    ]);
    expect(() => emb.forward(tensor([1.0]))).toThrow(
      /Embedding: indices must be an int32 tensor, got float32/,
    );
    expect(() => emb.forward(tensor([4], { dtype: 'int32' }))).toThrow(/indexSelect/);
  });

  it('initialises N(0, 1)', () => {
    manualSeed(7);
    const v = flat(new Embedding(500, 100).weight);
    const m = v.reduce((a, x) => a + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length);
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(sd).toBeCloseTo(1, 1);
  });

  it('zeroes the padding row and gives it no gradient, as torch', () => {
    const emb = new Embedding(3, 2, { paddingIdx: -2 });
    expect(emb.paddingIdx).toBe(1);
    expect(emb.weight.toArray()).toContainEqual([0, 0]);
    expect((emb.weight.toArray() as number[][])[1]).toEqual([0, 0]);
    // A loaded non-zero padding row is still returned (torch only freezes it).
    emb.loadStateDict({
      weight: tensor([
        [1, 1],
        [5, 5],
        [2, 2],
      ]),
    });
    const idx = tensor([1, 0, 1, 2], { dtype: 'int32' });
    const out = emb.forward(idx);
    expect(out.toArray()).toEqual([
      [5, 5],
      [1, 1],
      [5, 5],
      [2, 2],
    ]);
    tidy(() => sum(emb.forward(idx)).backward());
    expect(emb.weight.grad!.toArray()).toEqual([
      [1, 1],
      [0, 0],
      [1, 1],
    ]);
    expect(() => new Embedding(3, 2, { paddingIdx: 3 })).toThrow(
      /Embedding: paddingIdx must be an integer in \[-3, 2\], got 3/,
    );
  });
});

describe('Dropout', () => {
  it('is the identity in eval mode and for p = 0', () => {
    const x = tensor([1, 2, 3]);
    const d = new Dropout(0.5).eval();
    expect(d.forward(x)).toBe(x);
    expect(dropout(x, 0)).toBe(x);
    expect(dropout(x, 0.9, { training: false })).toBe(x);
  });

  it('zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
    const x = tensor(new Float32Array(10000).fill(2));
    const d = new Dropout(0.3, { generator: new Generator(1) });
    const y = flat(d.forward(x));
    const zeros = y.filter((v) => v === 0).length;
    expect(Math.abs(zeros / 10000 - 0.3)).toBeLessThan(0.02);
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 2 / 0.7) < 1e-6)).toBe(true);
    // Same generator seed, same mask.
    const again = flat(new Dropout(0.3, { generator: new Generator(1) }).forward(x));
    expect(again).toEqual(y);
    expect(flat(dropout(x, 1)).every((v) => v === 0)).toBe(true);
    expect(() => new Dropout(1.5)).toThrow(/Dropout: p must be a number in \[0, 1\], got 1.5/);
  });

  it('passes gradients through the kept elements only', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], { dtype: 'float64' }).setRequiresGrad();
    const y = tidy(() => dropout(x, 0.5, { generator: new Generator(3) }));
    const mask = flat(y).map((v) => (v === 0 ? 0 : 2));
    tidy(() => sum(y).backward());
    expect(flat(x.grad!)).toEqual(mask);
  });
});

describe('activations', () => {
  const x = tensor([-1, 0, 1, 2], { dtype: 'float64' });
  const v = [-1, 0, 1, 2];
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  it.each([
    ['ReLU', new ReLU(), v.map((t) => Math.max(t, 0))],
    ['SiLU', new SiLU(), v.map((t) => t * sig(t))],
    ['Sigmoid', new Sigmoid(), v.map(sig)],
    ['Tanh', new Tanh(), v.map(Math.tanh)],
    // Φ(1) = 0.8413447460685429 (exact GELU(1)); tanh form from its formula.
    ['GELU', new GELU(), [-1 * (1 - 0.8413447460685429), 0, 0.8413447460685429, 2 * 0.9772498680518208]],
    [
      'GELU tanh',
      new GELU({ approximate: 'tanh' }),
      v.map((t) => 0.5 * t * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (t + 0.044715 * t ** 3)))),
    ],
  ] as const)('%s', (_, m, want) => {
    expectClose(m.forward(x).dataSync(), want, 12);
  });

  it('Identity, Flatten and GELU options', () => {
    expect(new Identity().forward(x)).toBe(x);
    const t = randomNormal([2, 3, 4, 5]);
    expect(new Flatten().forward(t).shape).toEqual([2, 60]);
    expect(new Flatten({ startDim: 0, endDim: 1 }).forward(t).shape).toEqual([6, 4, 5]);
    expect(() => new GELU({ approximate: 'fast' as 'tanh' })).toThrow(
      /GELU: approximate must be 'none' or 'tanh', got "fast"/,
    );
    expect(new GELU().toString()).toBe("GELU(approximate='none')");
  });
});

describe('containers', () => {
  it('Sequential chains forwards and names children 0, 1, ...', () => {
    const a = new Linear(3, 4);
    const seq = new Sequential(a, new ReLU(), new Linear(4, 2));
    expect([...seq.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(seq.length).toBe(3);
    expect(seq.at(0)).toBe(a);
    expect(seq.at(-1)).toBe(seq.at(2));
    expect([...seq].length).toBe(3);
    const x = randomNormal([5, 3], { seed: 5 });
    const want = tidy(() => (seq.at(2) as Linear).forward(new ReLU().forward(a.forward(x))));
    expect(tidy(() => seq.forward(x)).toArray()).toEqual(want.toArray());
    const swap = new Identity();
    seq.registerModule('1', swap); // surgery through the base class is seen by the container
    expect(seq.at(1)).toBe(swap);
    seq.append(new Identity());
    expect(seq.namedChildren().map(([n]) => n)).toEqual(['0', '1', '2', '3']);
    expect(() => seq.at(4)).toThrow(/Sequential.at: index must be an integer in \[-4, 3\], got 4/);
  });

  it('ModuleList and ModuleDict register children', () => {
    const list = new ModuleList<Module>([new Linear(2, 2), new Linear(2, 2)]).append(new LayerNorm(2));
    expect([...list.stateDict().keys()]).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '2.weight',
      '2.bias',
    ]);
    expect(() => list.forward()).toThrow(/ModuleList.forward: call must be a loop over the list's modules/);
    const dict = new ModuleDict({ cls: new Linear(2, 3), reg: new Linear(2, 1, { bias: false }) });
    expect([...dict.stateDict().keys()]).toEqual(['cls.weight', 'cls.bias', 'reg.weight']);
    expect(dict.keys()).toEqual(['cls', 'reg']);
    expect(dict.get('reg')).toBe(dict.getSubmodule('reg'));
    const replacement = new Linear(2, 5);
    dict.set('cls', replacement);
    expect(dict.keys()).toEqual(['cls', 'reg']);
    expect(dict.getSubmodule('cls')).toBe(replacement);
  });
});

describe('Mlp', () => {
  it("has timm's state-dict names", () => {
    expect(shapes(new Mlp(4, { hiddenFeatures: 16 }))).toEqual({
      'fc1.weight': [16, 4],
      'fc1.bias': [16],
      'fc2.weight': [4, 16],
      'fc2.bias': [4],
    });
    const normed = new Mlp(4, {
      hiddenFeatures: 8,
      outFeatures: 2,
      normLayer: (d, f) => new LayerNorm(d, f),
      bias: [true, false],
    });
    expect(shapes(normed)).toEqual({
      'fc1.weight': [8, 4],
      'fc1.bias': [8],
      'norm.weight': [8],
      'norm.bias': [8],
      'fc2.weight': [2, 8],
    });
    expect(new Mlp(4, { useConv: true, hiddenFeatures: 6 }).fc1.weight.shape).toEqual([6, 4, 1, 1]);
    expect(normed.namedChildren().map(([n]) => n)).toEqual(['fc1', 'act', 'drop1', 'norm', 'fc2', 'drop2']);
  });

  it('computes fc2(act(fc1(x))) and frees its intermediates', () => {
    const mlp = new Mlp(3, {
      hiddenFeatures: 5,
      actLayer: () => new ReLU(),
      drop: 0.5,
      dtype: 'float64',
    }).eval();
    const x = randomNormal([2, 4, 3], { seed: 6, dtype: 'float64' });
    const want = tidy(() => mlp.fc2.forward(new ReLU().forward(mlp.fc1.forward(x))));
    const before = memory('cpu');
    const y = mlp.forward(x);
    expect(y.toArray()).toEqual(want.toArray());
    y.dispose(); // and with it the graph it saved for backward
    expect(memory('cpu')).toEqual(before);
    const z = noGrad(() => mlp.forward(x));
    expect(memory('cpu').tensors).toBe(before.tensors + 1);
    z.dispose();
    gradcheck((xi) => mlp.forward(xi), [randomNormal([2, 3], { seed: 7, dtype: 'float64' })]);
  });

  it('with 1x1 convolutions equals the Linear version per pixel', () => {
    const lin = new Mlp(3, { hiddenFeatures: 4, dtype: 'float64' });
    const conv = new Mlp(3, { hiddenFeatures: 4, useConv: true, dtype: 'float64' });
    const sd = new Map(
      [...lin.stateDict()].map(([k, t]) => [k, k.endsWith('weight') ? t.reshape([...t.shape, 1, 1]) : t]),
    );
    conv.loadStateDict(sd);
    const x = randomNormal([1, 3, 2, 2], { seed: 8, dtype: 'float64' });
    const y = conv.forward(x); // [1, 3, 2, 2]
    const perPixel = lin.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]);
    expectClose(y.dataSync(), perPixel.dataSync(), 12);
  });
});
