import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  arange,
  avgPool1d,
  avgPool2d,
  maxPool1d,
  maxPool2d,
  maxPool2dWithIndices,
  memory,
  randomNormal,
  reshape,
  sum,
  tensor,
  tidy,
  valueAndGrad,
} from '../../src/index.js';
import { runOp1 } from '../../src/ops/op.js';
import {
  type AvgPool2dAttrs,
  adaptiveAvgPool2dGradOp,
  avgPool2dGradOp,
  maxPool2dGatherOp,
  maxPool2dGradOp,
} from '../../src/ops/pool/pool.js';
import { assertClose, backendsUnderTest, checkGradients, readFlat } from '../../src/testing/index.js';

/**
 * Max pooling by definition on an explicitly -inf-padded copy of each plane (independent of the kernel,
 * which skips out-of-range taps): `[N, C, H, W]` flat values in, flat values out.
 */
function refMaxPool2d(
  x: ArrayLike<number>,
  [n, c, h, w]: number[],
  k: number[],
  s: number[],
  p: number[],
  d: number[],
): { y: number[]; shape: number[] } {
  const hp = h + 2 * p[0];
  const wp = w + 2 * p[1];
  const oh = Math.floor((hp - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((wp - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
  const y: number[] = [];
  for (let b = 0; b < n * c; b++) {
    const padded = new Array<number>(hp * wp).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) padded[(i + p[0]) * wp + j + p[1]] = x[b * h * w + i * w + j];
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let m = Number.NEGATIVE_INFINITY;
        for (let a = 0; a < k[0]; a++)
          for (let e = 0; e < k[1]; e++)
            m = Math.max(m, padded[(i * s[0] + a * d[0]) * wp + j * s[1] + e * d[1]]);
        y.push(m);
      }
  }
  return { y, shape: [n, c, oh, ow] };
}

describe.each(backendsUnderTest())('pooling on %s', (backend) => {
  const grid = (n: number, shape: number[]) =>
    reshape(arange(1, n + 1, 1, { dtype: 'float32', backend }), shape);
  const t = (v: number[], shape: number[]) => tensor(v, { shape, backend });

  it('avgPool2d matches hand-worked examples', async () => {
    // 1..16 in 4x4, 2x2 windows: (1 + 2 + 5 + 6) / 4 = 3.5, ...
    await assertClose(avgPool2d(grid(16, [1, 1, 4, 4]), { kernelSize: 2 }), [3.5, 5.5, 11.5, 13.5]);
    // 1..9 in 3x3, 3x3 windows at stride 2 with padding 1: sums of the 2x2 corners 12, 16, 24, 28.
    const x = grid(9, [1, 1, 3, 3]);
    await assertClose(avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), [
      12 / 9,
      16 / 9,
      24 / 9,
      28 / 9,
    ]);
    await assertClose(
      avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }),
      [3, 4, 6, 7],
    );
    await assertClose(
      avgPool2d(grid(16, [1, 4, 4]), { kernelSize: 2, divisorOverride: 1 }),
      [14, 22, 46, 54],
    );
    await assertClose(
      avgPool2d(grid(12, [1, 1, 3, 4]), { kernelSize: [1, 2], stride: [2, 2] }),
      [1.5, 3.5, 9.5, 11.5],
    );
  });

  it('avgPool1d ceilMode adds a last window clipped to the padded input, like torch', async () => {
    await assertClose(avgPool1d(grid(5, [1, 1, 5]), { kernelSize: 2, ceilMode: true }), [1.5, 3.5, 5]);
    // 1..6, kernel 3, stride 2, padding 1: windows [-1, 2), [1, 4), [3, 6), and in ceil mode [5, 8) clipped to
    // [5, 7): two positions (one is padding) for countIncludePad, one input element otherwise.
    const x = grid(6, [1, 6]);
    const o = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };
    await assertClose(avgPool1d(x, o), [1, 3, 5, 3]);
    await assertClose(avgPool1d(x, { ...o, countIncludePad: false }), [1.5, 3, 5, 6]);
    expect(avgPool1d(x, { ...o, ceilMode: false }).shape).toEqual([1, 3]);
    // A ceil-mode window that would start in the right padding is dropped: length 5, kernel 2, stride 2,
    // padding 1 rounds up to floor((5 + 2 - 2 + 1) / 2) + 1 = 4 windows, but the 4th starts at 6 - 1 = 5,
    // past the input, so 3 remain.
    expect(avgPool1d(grid(5, [1, 5]), { kernelSize: 2, padding: 1, ceilMode: true }).shape).toEqual([1, 3]);
  });

  it('maxPool matches hand-worked examples and the padded-definition formula', async () => {
    await assertClose(maxPool2d(grid(16, [1, 1, 4, 4]), { kernelSize: 2 }), [6, 8, 14, 16]);
    await assertClose(maxPool2d(grid(9, [1, 3, 3]), { kernelSize: 3, stride: 2, padding: 1 }), [5, 6, 8, 9]);
    // Dilation 2 pairs (0,2), (1,3), (2,4), (3,5).
    await assertClose(
      maxPool1d(t([1, 5, 2, 4, 3, 0], [1, 1, 6]), { kernelSize: 2, stride: 1, dilation: 2 }),
      [2, 5, 3, 4],
    );
    await assertClose(maxPool1d(t([1, 5, 2, 4, 3], [1, 5]), { kernelSize: 2, ceilMode: true }), [5, 4, 3]);
    const r = maxPool2dWithIndices(grid(16, [1, 1, 4, 4]), { kernelSize: 2 });
    expect(r.indices.dtype).toBe('int32');
    expect(await readFlat(r.indices)).toEqual([5, 7, 13, 15]);
    const nan = maxPool1d(t([1, Number.NaN, 2], [1, 3]), { kernelSize: 3 });
    expect(Number.isNaN((await readFlat(nan))[0])).toBe(true);

    const shape = [2, 3, 7, 6];
    const x = randomNormal(shape, { seed: 5, backend });
    const ref = refMaxPool2d(await x.data(), shape, [3, 2], [2, 1], [1, 1], [2, 3]);
    const y = maxPool2d(x, { kernelSize: [3, 2], stride: [2, 1], padding: 1, dilation: [2, 3] });
    expect(y.shape).toEqual(ref.shape);
    await assertClose(y, ref.y);
  });

  it('maxPool sends the gradient to the first maximum of each window', async () => {
    const g = valueAndGrad((x) => sum(maxPool1d(x, { kernelSize: 4 })))(t([1, 3, 3, 2], [1, 1, 4])).grads[0];
    expect(await readFlat(g)).toEqual([0, 1, 0, 0]);
    // Overlapping windows (1, 3) and (3, 2) both pick x[1].
    const g2 = valueAndGrad((x) => sum(maxPool1d(x, { kernelSize: 2, stride: 1 })))(t([1, 3, 2], [1, 3]))
      .grads[0];
    expect(await readFlat(g2)).toEqual([0, 2, 0]);
    const g3 = valueAndGrad((x) => sum(adaptiveMaxPool1d(x, 1)))(t([2, 5, 5, 1], [1, 4])).grads[0];
    expect(await readFlat(g3)).toEqual([0, 1, 0, 0]);
  });

  it('adaptive pools use torch windows floor(i * L / out) .. ceil((i + 1) * L / out)', async () => {
    // 1..5 to 3: windows [0, 2), [1, 4), [3, 5).
    await assertClose(adaptiveAvgPool1d(grid(5, [1, 1, 5]), 3), [1.5, 3, 4.5]);
    await assertClose(adaptiveMaxPool1d(t([4, 1, 3, 5, 2], [1, 5]), 3), [4, 5, 5]);
    await assertClose(adaptiveMaxPool2d(grid(9, [1, 1, 3, 3]), 2), [5, 6, 8, 9]);
    // 1..12 in 3x4 to [1, 2] (global over rows, halves of columns) and [null, 1] (rows kept).
    const x = grid(12, [1, 3, 4]);
    await assertClose(adaptiveAvgPool2d(x, [1, 2]), [
      (1 + 2 + 5 + 6 + 9 + 10) / 6,
      (3 + 4 + 7 + 8 + 11 + 12) / 6,
    ]);
    await assertClose(adaptiveAvgPool2d(x, [null, 1]), [2.5, 6.5, 10.5]);
    expect(adaptiveAvgPool2d(x, [null, 1]).shape).toEqual([1, 3, 1]);
    // Upsampling windows repeat elements: 1..2 to 5 gives windows [0,1), [0,1), [0,2), [1,2), [1,2).
    await assertClose(adaptiveAvgPool1d(grid(2, [1, 2]), 5), [1, 1, 1.5, 2, 2]);
  });

  it('gradients match finite differences', async () => {
    const x = randomNormal([1, 2, 5, 4], { seed: 7, backend });
    await checkGradients(
      (x) => avgPool2d(x, { kernelSize: [3, 2], stride: 2, padding: 1, ceilMode: true }),
      [x],
    );
    await checkGradients(
      (x) =>
        avgPool2d(x, { kernelSize: 3, stride: [2, 1], padding: 1, ceilMode: true, countIncludePad: false }),
      [x],
    );
    await checkGradients((x) => avgPool2d(x, { kernelSize: 2, divisorOverride: 3 }), [x]);
    await checkGradients(
      (x) => maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, dilation: [1, 2], ceilMode: true }),
      [x],
    );
    await checkGradients((x) => adaptiveAvgPool2d(x, [2, 3]), [x]);
    await checkGradients((x) => adaptiveMaxPool2d(x, [3, 3]), [x]);
    const x1 = randomNormal([2, 7], { seed: 8, backend });
    await checkGradients((x) => avgPool1d(x, { kernelSize: 3, stride: 2, padding: 1 }), [x1]);
    await checkGradients((x) => maxPool1d(x, { kernelSize: 2, stride: 2, ceilMode: true }), [x1]);
    await checkGradients((x) => adaptiveAvgPool1d(x, 4), [x1]);
  });

  it('the gradient ops have their own vjps', async () => {
    const a: AvgPool2dAttrs = {
      kernel: [3, 2],
      stride: [2, 2],
      padding: [1, 1],
      countIncludePad: false,
      divisor: 0,
      xShape: [1, 2, 5, 4],
      yShape: [1, 2, 3, 3],
    };
    const g = randomNormal(a.yShape, { seed: 9, backend });
    await checkGradients((g) => runOp1(avgPool2dGradOp, [g], a), [g]);
    const s = { xShape: a.xShape, yShape: a.yShape };
    await checkGradients((g) => runOp1(adaptiveAvgPool2dGradOp, [g], s), [g]);
    const idx = tensor([0, 3, 7, 5, 5, 19, 18, 2, 1, 4, 4, 4, 0, 9, 10, 11, 12, 13], {
      shape: a.yShape,
      dtype: 'int32',
      backend,
    });
    await checkGradients((g, ix) => runOp1(maxPool2dGradOp, [g, ix], s), [g, idx]);
    const x = randomNormal(a.xShape, { seed: 10, backend });
    await checkGradients((x, ix) => runOp1(maxPool2dGatherOp, [x, ix], s), [x, idx]);
  });

  it('frees what it creates', async () => {
    const x = randomNormal([1, 2, 5, 5], { seed: 11, backend }).setRequiresGrad();
    const before = memory(backend);
    tidy(() => {
      sum(maxPool2d(x, { kernelSize: 2 })).backward();
      sum(maxPool2dWithIndices(x, { kernelSize: 3 }).values).backward();
      sum(avgPool1d(reshape(x, [2, 25]), { kernelSize: 2 })).backward();
      sum(adaptiveMaxPool2d(x, 2)).backward();
      sum(adaptiveAvgPool2d(x, 3)).backward();
    });
    x.grad?.dispose();
    x.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('rejects bad arguments with clear errors', async () => {
    const x = grid(16, [1, 1, 4, 4]);
    expect(() => maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(
      /maxPool2d: padding must be at most half the kernel size \(1\) on spatial axis 0, got 2/,
    );
    expect(() => avgPool2d(x, { kernelSize: 0 })).toThrow(
      /avgPool2d: kernelSize must be a positive integer or a list of 2, got 0/,
    );
    expect(() => avgPool2d(x, { kernelSize: [2, 2, 2] })).toThrow(
      /avgPool2d: kernelSize must be a positive integer or a list of 2, got \[2,2,2\]/,
    );
    expect(() => maxPool2d(x, { kernelSize: 2, stride: -1 })).toThrow(
      /maxPool2d: stride must be a positive integer/,
    );
    expect(() => maxPool2d(x, { kernelSize: 5 })).toThrow(
      /maxPool2d: x must be large enough for the window \(kernel \[5, 5\].*got \[1, 1, 4, 4\], giving output size \[0, 0\]/,
    );
    expect(() => maxPool2d(x, { kernelSize: 2, dilation: 4 })).toThrow(
      /maxPool2d: x must be large enough for the window/,
    );
    expect(() => maxPool1d(x, { kernelSize: 2 })).toThrow(
      /maxPool1d: x must be of shape \[N, C, L\] or \[C, L\], got \[1, 1, 4, 4\]/,
    );
    expect(() => maxPool2d(tensor([[[1]]], { dtype: 'int32', backend }), { kernelSize: 1 })).toThrow(
      /maxPool2d: x must be a float32 or float64 tensor, got int32/,
    );
    expect(() => avgPool2d(tensor([], { shape: [1, 0, 2, 2], backend }), { kernelSize: 1 })).toThrow(
      /avgPool2d: x must be non-empty in every axis but the batch/,
    );
    expect(() => avgPool2d(x, { kernelSize: 2, divisorOverride: 0 })).toThrow(
      /avgPool2d: divisorOverride must be a non-zero number, got 0/,
    );
    expect(() => avgPool2d(x, { kernelSize: 2, dilation: 2 } as never)).toThrow(
      /avgPool2d: dilation must be unset/,
    );
    expect(() => adaptiveAvgPool2d(x, [2])).toThrow(
      /adaptiveAvgPool2d: outputSize must be a positive integer or a list of 2 \(null keeps an axis\), got \[2\]/,
    );
    expect(() => adaptiveMaxPool1d(grid(4, [1, 4]), 0)).toThrow(
      /adaptiveMaxPool1d: outputSize must be a positive integer or a list of 1, got 0/,
    );
    // A batch of zero samples is allowed, as in torch.
    expect(maxPool2d(tensor([], { shape: [0, 2, 4, 4], backend }), { kernelSize: 2 }).shape).toEqual([
      0, 2, 2, 2,
    ]);
  });
});
