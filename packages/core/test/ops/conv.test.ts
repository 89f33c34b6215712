import { describe, expect, it } from 'vitest';
import {
  contiguous,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  memory,
  slice,
  sum,
  tensor,
  tidy,
  transpose,
} from '../../src/index.js';
import {
  type Conv2dAttrs,
  conv2dInputGradOp,
  conv2dOp,
  conv2dWeightGradOp,
} from '../../src/ops/conv/conv.js';
import { runOp1 } from '../../src/ops/op.js';
import { assertClose, backendsUnderTest, checkGradients } from '../../src/testing/index.js';

/** Deterministic values in [-1, 1) (a small LCG, so the tests need no tensor op to make inputs). */
function values(n: number, seed: number): number[] {
  let s = seed * 7919 + 17;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Ref {
  stride: number[];
  before: number[];
  after: number[];
  dilation: number[];
  groups: number;
}

/**
 * Direct convolution by definition: builds the zero-padded input explicitly, then sums each output's window
 * (7 nested loops). Independent of the kernel, which skips padding taps and accumulates products by tap.
 */
function refConv2d(
  x: number[],
  [n, c, h, w]: number[],
  wt: number[],
  [o, cg, kh, kw]: number[],
  bias: number[] | null,
  r: Ref,
): { y: number[]; shape: number[] } {
  const hp = h + r.before[0] + r.after[0];
  const wp = w + r.before[1] + r.after[1];
  const padded = new Array<number>(n * c * hp * wp).fill(0);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          padded[((b * c + ch) * hp + i + r.before[0]) * wp + j + r.before[1]] =
            x[((b * c + ch) * h + i) * w + j];
  const oh = Math.floor((hp - r.dilation[0] * (kh - 1) - 1) / r.stride[0]) + 1;
  const ow = Math.floor((wp - r.dilation[1] * (kw - 1) - 1) / r.stride[1]) + 1;
  const og = o / r.groups;
  const y: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = bias ? bias[oc] : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const ch = Math.floor(oc / og) * cg + ci;
                const pi = i * r.stride[0] + a * r.dilation[0];
                const pj = j * r.stride[1] + e * r.dilation[1];
                s += padded[((b * c + ch) * hp + pi) * wp + pj] * wt[((oc * cg + ci) * kh + a) * kw + e];
              }
          y.push(s);
        }
  return { y, shape: [n, o, oh, ow] };
}

/** Transposed convolution by its scatter definition, then cropping `padding` off both ends. */
function refConvTranspose2d(
  x: number[],
  [n, cin, h, w]: number[],
  wt: number[],
  [, cog, kh, kw]: number[],
  r: { stride: number[]; padding: number[]; outPad: number[]; dilation: number[]; groups: number },
): { y: number[]; shape: number[] } {
  const cout = cog * r.groups;
  const cgIn = cin / r.groups;
  const fh = (h - 1) * r.stride[0] + r.dilation[0] * (kh - 1) + 1 + r.outPad[0];
  const fw = (w - 1) * r.stride[1] + r.dilation[1] * (kw - 1) + 1 + r.outPad[1];
  const full = new Array<number>(n * cout * fh * fw).fill(0);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < cin; ci++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let co = 0; co < cog; co++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const oc = Math.floor(ci / cgIn) * cog + co;
                const fi = i * r.stride[0] + a * r.dilation[0];
                const fj = j * r.stride[1] + e * r.dilation[1];
                full[((b * cout + oc) * fh + fi) * fw + fj] +=
                  x[((b * cin + ci) * h + i) * w + j] * wt[((ci * cog + co) * kh + a) * kw + e];
              }
  const oh = fh - 2 * r.padding[0];
  const ow = fw - 2 * r.padding[1];
  const y: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < cout; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          y.push(full[((b * cout + oc) * fh + i + r.padding[0]) * fw + j + r.padding[1]]);
  return { y, shape: [n, cout, oh, ow] };
}

describe.each(backendsUnderTest())('conv on %s', (backend) => {
  const make = (shape: number[], seed: number) => {
    const v = values(prod(shape), seed);
    return { v, t: tensor(v, { shape, backend }) };
  };

  it('conv2d matches a hand-worked example', async () => {
    // x = 1..9 in a 3x3 image; w = [[1, 0], [0, -1]] gives x[i][j] - x[i+1][j+1] = -4 everywhere.
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], { shape: [1, 1, 3, 3], backend });
    const w = tensor([1, 0, 0, -1], { shape: [1, 1, 2, 2], backend });
    const b = tensor([0.5], { backend });
    await assertClose(conv2d(x, w, b), [-3.5, -3.5, -3.5, -3.5]);
    // Padding 1, stride 2: windows start at rows/cols -1 and 1. (0,0): 0 - x[0][0] = -1; (0,1): 0 - x[0][2] = -3;
    // (1,0): 0 - x[2][0] = -7; (1,1): x[1][1] - x[2][2] = -4.
    const y = conv2d(x, w, null, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    await assertClose(y, [-1, -3, -7, -4]);
  });

  it.each([
    [
      'plain',
      [1, 2, 5, 4],
      [3, 2, 3, 2],
      { stride: [1, 1], before: [0, 0], after: [0, 0], dilation: [1, 1], groups: 1 },
    ],
    [
      'stride, dilation, padding',
      [2, 2, 6, 7],
      [3, 2, 3, 2],
      { stride: [2, 1], before: [1, 2], after: [1, 2], dilation: [2, 1], groups: 1 },
    ],
    [
      'groups 2',
      [1, 4, 5, 4],
      [6, 2, 3, 2],
      { stride: [2, 2], before: [1, 1], after: [1, 1], dilation: [1, 2], groups: 2 },
    ],
    [
      'depthwise',
      [2, 3, 4, 5],
      [3, 1, 3, 3],
      { stride: [1, 1], before: [1, 1], after: [1, 1], dilation: [1, 1], groups: 3 },
    ],
  ] as const)('conv2d matches the direct formula: %s', async (_n, xs, ws, r) => {
    const x = make([...xs], 1);
    const w = make([...ws], 2);
    const b = make([ws[0]], 3);
    const ref = refConv2d(x.v, [...xs], w.v, [...ws], b.v, {
      stride: [...r.stride],
      before: [...r.before],
      after: [...r.after],
      dilation: [...r.dilation],
      groups: r.groups,
    });
    const y = conv2d(x.t, w.t, b.t, {
      stride: [...r.stride],
      padding: [...r.before],
      dilation: [...r.dilation],
      groups: r.groups,
    });
    expect(y.shape).toEqual(ref.shape);
    await assertClose(y, ref.y);
  });

  it("conv2d padding 'same' pads an even kernel one more at the end, like torch", async () => {
    const x = make([1, 2, 5, 6], 4);
    const w = make([2, 2, 2, 4], 5);
    // Dilation 2 on the width: total padding 2 * 3 = 6, 3 before and 3 after; height: total 1, 0 before, 1 after.
    const ref = refConv2d(x.v, [1, 2, 5, 6], w.v, [2, 2, 2, 4], null, {
      stride: [1, 1],
      before: [0, 3],
      after: [1, 3],
      dilation: [1, 2],
      groups: 1,
    });
    const y = conv2d(x.t, w.t, null, { padding: 'same', dilation: [1, 2] });
    expect(y.shape).toEqual([1, 2, 5, 6]);
    await assertClose(y, ref.y);
    expect(conv2d(x.t, w.t, null, { padding: 'valid' }).shape).toEqual([1, 2, 4, 3]);
  });

  it('conv2d accepts an unbatched input, conv1d matches the 2-d formula on a height-1 image', async () => {
    const x = make([2, 4, 5], 6);
    const w = make([3, 2, 2, 2], 7);
    const ref = refConv2d(x.v, [1, 2, 4, 5], w.v, [3, 2, 2, 2], null, {
      stride: [1, 1],
      before: [0, 0],
      after: [0, 0],
      dilation: [1, 1],
      groups: 1,
    });
    const y = conv2d(x.t, w.t);
    expect(y.shape).toEqual([3, 3, 4]);
    await assertClose(y, ref.y);

    const x1 = make([2, 4, 9], 8);
    const w1 = make([6, 2, 3], 9);
    const b1 = make([6], 10);
    const r1 = refConv2d(x1.v, [2, 4, 1, 9], w1.v, [6, 2, 1, 3], b1.v, {
      stride: [1, 2],
      before: [0, 2],
      after: [0, 2],
      dilation: [1, 2],
      groups: 2,
    });
    const y1 = conv1d(x1.t, w1.t, b1.t, { stride: 2, padding: 2, dilation: 2, groups: 2 });
    expect(y1.shape).toEqual([2, 6, 5]);
    await assertClose(y1, r1.y);
    // Unbatched conv1d, and a non-contiguous (transposed) input, give the same values.
    const o1 = { stride: 2, padding: 2, dilation: 2, groups: 2 };
    await assertClose(conv1d(slice(x1.t, [0]), w1.t, b1.t, o1), r1.y.slice(0, 30));
    const strided = transpose(contiguous(transpose(x1.t, 1, 2)), 1, 2);
    expect(strided.isContiguous).toBe(false);
    await assertClose(conv1d(strided, w1.t, b1.t, o1), r1.y);
    // conv1d with [0, 1, 0] copies the input.
    const id = conv1d(tensor([[[3, -1, 4, 1]]], { backend }), tensor([[[0, 1, 0]]], { backend }), null, {
      padding: 'same',
    });
    await assertClose(id, [3, -1, 4, 1]);
  });

  it('convTranspose matches a hand-worked example and the scatter definition', async () => {
    // Each input spreads a copy of the kernel, 2 apart: [1, 1, 1] + 2 * [0, 0, 1, 1, 1].
    const y = convTranspose1d(tensor([[[1, 2]]], { backend }), tensor([[[1, 1, 1]]], { backend }), null, {
      stride: 2,
    });
    await assertClose(y, [1, 1, 3, 2, 2]);

    const cases = [
      {
        xs: [1, 2, 3, 4],
        ws: [2, 3, 3, 2],
        stride: [2, 3],
        padding: [1, 0],
        outPad: [1, 2],
        dilation: [1, 1],
        groups: 1,
      },
      {
        xs: [2, 4, 3, 2],
        ws: [4, 1, 2, 3],
        stride: [1, 2],
        padding: [0, 1],
        outPad: [0, 1],
        dilation: [2, 1],
        groups: 2,
      },
    ];
    for (const c of cases) {
      const x = make(c.xs, 11);
      const w = make(c.ws, 12);
      const b = make([c.ws[1] * c.groups], 13);
      const ref = refConvTranspose2d(x.v, c.xs, w.v, c.ws, c);
      const got = convTranspose2d(x.t, w.t, b.t, {
        stride: c.stride,
        padding: c.padding,
        outputPadding: c.outPad,
        dilation: c.dilation,
        groups: c.groups,
      });
      expect(got.shape).toEqual(ref.shape);
      const plane = ref.shape[2] * ref.shape[3];
      await assertClose(
        got,
        ref.y.map((v, i) => v + b.v[Math.floor(i / plane) % ref.shape[1]]),
      );
    }
  });

  it('gradients match finite differences', async () => {
    const x = make([1, 2, 5, 4], 21).t;
    const w = make([3, 2, 3, 2], 22).t;
    const b = make([3], 23).t;
    await checkGradients(
      (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1, dilation: [2, 1] }),
      [x, w, b],
    );
    const x2 = make([1, 4, 4, 3], 24).t;
    const w2 = make([2, 2, 2, 2], 25).t;
    await checkGradients((x, w) => conv2d(x, w, null, { groups: 2, padding: 'same' }), [x2, w2]);
    await checkGradients(
      (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1 }),
      [make([2, 2, 5], 26).t, make([3, 2, 2], 27).t, b],
    );
    const xt = make([1, 2, 3, 2], 28).t;
    const wt = make([2, 2, 2, 3], 29).t;
    await checkGradients(
      (x, w, b) =>
        convTranspose2d(x, w, b, { stride: [2, 1], padding: [0, 1], outputPadding: [1, 0], groups: 2 }),
      [xt, wt, make([4], 30).t],
    );
    await checkGradients(
      (x, w) => convTranspose1d(x, w, null, { stride: 2, dilation: 2, outputPadding: 1 }),
      [make([1, 2, 3], 31).t, make([2, 1, 2], 32).t],
    );
  });

  it('the gradient ops have their own vjps (each linear in each input)', async () => {
    const a: Conv2dAttrs = {
      stride: [2, 1],
      padding: [1, 0],
      dilation: [1, 2],
      groups: 2,
      xShape: [1, 4, 4, 5],
      wShape: [2, 2, 2, 2],
      yShape: [1, 2, 3, 3],
    };
    const x = make(a.xShape, 41).t;
    const w = make(a.wShape, 42).t;
    const dy = make(a.yShape, 43).t;
    await checkGradients((dy, w) => runOp1(conv2dInputGradOp, [dy, w], a), [dy, w]);
    await checkGradients((x, dy) => runOp1(conv2dWeightGradOp, [x, dy], a), [x, dy]);
    await checkGradients((x, w) => runOp1(conv2dOp, [x, w], a), [x, w]);
  });

  it('frees what it creates', async () => {
    const x = make([1, 2, 4, 4], 51).t.setRequiresGrad();
    const w = make([2, 2, 3, 3], 52).t.setRequiresGrad();
    const b = make([2], 53).t.setRequiresGrad();
    const before = memory(backend);
    tidy(() => {
      sum(conv2d(x, w, b, { padding: 1 })).backward();
      sum(conv1d(x.reshape([1, 2, 16]), w.reshape([2, 2, 9]), b)).backward();
      sum(convTranspose2d(x, w, b, { stride: 2 })).backward();
    });
    for (const t of [x.grad, w.grad, b.grad]) t?.dispose();
    x.grad = null;
    w.grad = null;
    b.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('rejects bad arguments with clear errors', async () => {
    const x = make([1, 4, 5, 5], 61).t;
    const w = make([2, 2, 3, 3], 62).t;
    expect(() => conv2d(x, w)).toThrow(
      /conv2d: weight must be of shape \[O, 4, \.\.\.\] for 4 input channels and groups 1, got \[2, 2, 3, 3\]/,
    );
    expect(() => conv2d(x, w, null, { groups: 3 })).toThrow(
      /conv2d: groups must be a divisor of the input channels \(4\), got 3/,
    );
    expect(() => conv2d(x, make([3, 2, 3, 3], 63).t, null, { groups: 2 })).toThrow(
      /conv2d: groups must be a divisor of the output channels \(3\), got 2/,
    );
    expect(() => conv2d(x, make([2, 4, 7, 3], 64).t)).toThrow(
      /conv2d: x must be at least the dilated kernel size 7 along spatial axis 0 once padded, got 5/,
    );
    expect(() => conv2d(x, make([2, 4, 3, 3], 64).t, null, { dilation: 3 })).toThrow(/dilated kernel size 7/);
    expect(() => conv2d(x, w, null, { groups: 2, stride: 0 })).toThrow(
      /conv2d: stride must be a positive integer or a list of 2, got 0/,
    );
    expect(() => conv2d(x, w, null, { groups: 2, padding: [1, 1, 1] })).toThrow(
      /conv2d: padding must be a non-negative integer or a list of 2/,
    );
    expect(() => conv2d(x, w, null, { groups: 2, padding: 'full' as 'same' })).toThrow(
      /conv2d: padding must be 'same', 'valid', a non-negative integer or a list, got "full"/,
    );
    expect(() => conv2d(x, w, null, { groups: 2, padding: 'same', stride: 2 })).toThrow(
      /conv2d: stride must be 1 when padding is 'same'/,
    );
    expect(() => conv2d(x, w, make([3], 65).t, { groups: 2 })).toThrow(
      /conv2d: bias must be of shape \[2\], got \[3\]/,
    );
    expect(() => conv2d(make([4, 5], 66).t, w)).toThrow(
      /conv2d: x must be of shape \[N, C, H, W\] or \[C, H, W\], got \[4, 5\]/,
    );
    expect(() => conv2d(x, make([2, 4, 3], 67).t)).toThrow(/conv2d: weight must be of rank 4/);
    expect(() => conv2d(x, tensor([1], { dtype: 'float64', backend: 'cpu' }))).toThrow(
      /conv2d: weight must be of x's dtype \(float32\), got float64/,
    );
    expect(() => conv2d(tensor([[[[1]]]], { dtype: 'int32', backend }), w)).toThrow(
      /conv2d: x must be a float32 or float64 tensor, got int32/,
    );
    expect(() => conv1d(make([1, 2, 3], 68).t, make([1, 2, 5], 69).t)).toThrow(
      /conv1d: x must be at least the dilated kernel size 5/,
    );
    expect(() => convTranspose2d(x, make([3, 2, 3, 3], 70).t)).toThrow(
      /convTranspose2d: weight must be of shape \[4, C_out \/ groups, \.\.\.\] for 4 input channels, got \[3, 2, 3, 3\]/,
    );
    expect(() => convTranspose2d(x, make([4, 2, 3, 3], 71).t, null, { stride: 2, outputPadding: 2 })).toThrow(
      /convTranspose2d: outputPadding must be smaller than stride or dilation \(2, 1\) on spatial axis 0, got 2/,
    );
    expect(() => convTranspose2d(x, make([4, 2, 1, 1], 72).t, null, { padding: 3 })).toThrow(
      /convTranspose2d: x must be large enough for a positive output size/,
    );
  });
});
