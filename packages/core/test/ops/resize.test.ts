import { describe, expect, it } from 'vitest';
import {
  arange,
  interpolate,
  memory,
  randomNormal,
  reshape,
  resizeBilinear,
  sum,
  tensor,
  tidy,
} from '../../src/index.js';
import { runOp1 } from '../../src/ops/op.js';
import {
  type ResizeBilinearAttrs,
  type ResizeNearestAttrs,
  resizeBilinearGradOp,
  resizeNearestGradOp,
} from '../../src/ops/resize/resize.js';
import { assertClose, backendsUnderTest, checkGradients } from '../../src/testing/index.js';

describe.each(backendsUnderTest())('resize on %s', (backend) => {
  /** The row vector 0, 1, ..., n - 1 as a [1, 1, 1, n] image: bilinear resampling of it reads off source positions. */
  const ramp = (n: number) => reshape(arange(0, n, 1, { dtype: 'float32', backend }), [1, 1, 1, n]);
  const img = (v: number[][]) => tensor([[v]], { backend });

  it('bilinear matches hand-worked examples', async () => {
    const x = img([
      [0, 1],
      [2, 3],
    ]);
    // alignCorners: source step (2 - 1) / (3 - 1) = 1/2, so the middle row/column averages its neighbours.
    await assertClose(interpolate(x, { size: 3, mode: 'bilinear', alignCorners: true }), [
      [0, 0.5, 1],
      [1, 1.5, 2],
      [2, 2.5, 3],
    ]);
    // Half-pixel centres: positions max((o + 0.5) / 2 - 0.5, 0) = 0, 0.25, 0.75, 1.25 (clamped to the edge pixel).
    await assertClose(resizeBilinear(x, [4, 4]), [
      [0, 0.25, 0.75, 1],
      [0.5, 0.75, 1.25, 1.5],
      [1.5, 1.75, 2.25, 2.5],
      [2, 2.25, 2.75, 3],
    ]);
    // Downsampling 4 -> 2 averages the middle pairs: positions 0.5 and 2.5.
    await assertClose(interpolate(ramp(4), { size: [1, 2], mode: 'bilinear' }), [0.5, 2.5]);
  });

  it('bilinear uses 1 / scaleFactor for the step, as torch, unless recomputeScaleFactor', async () => {
    // A ramp reads off its source positions: clamp(ratio * (o + 0.5) - 0.5, 0, in - 1).
    const pos = (ratio: number, out: number, last: number) =>
      Array.from({ length: out }, (_, o) => Math.min(Math.max(ratio * (o + 0.5) - 0.5, 0), last));
    // 5 * 1.5 = 7.5 -> 7 outputs; the step stays 1 / 1.5, not 5 / 7. Height 1 * 1.5 -> 1 is copied.
    const y = interpolate(ramp(5), { scaleFactor: 1.5, mode: 'bilinear' });
    expect(y.shape).toEqual([1, 1, 1, 7]);
    await assertClose(y, pos(1 / 1.5, 7, 4));
    await assertClose(
      interpolate(ramp(5), { scaleFactor: 1.5, mode: 'bilinear', recomputeScaleFactor: true }),
      pos(5 / 7, 7, 4),
    );
    // An axis whose size does not change is copied even though the factor is not 1.
    await assertClose(interpolate(ramp(5), { scaleFactor: [1, 1.1], mode: 'bilinear' }), [0, 1, 2, 3, 4]);
    // With alignCorners the factor does not matter: step (5 - 1) / (7 - 1).
    await assertClose(
      interpolate(ramp(5), { scaleFactor: 1.5, mode: 'bilinear', alignCorners: true }),
      Array.from({ length: 7 }, (_, o) => (o * 4) / 6),
    );
    // Output size 1 with alignCorners reads the first pixel.
    await assertClose(interpolate(ramp(5), { size: [1, 1], mode: 'bilinear', alignCorners: true }), [0]);
  });

  it('nearest follows torch: floor(o * in / out) in float32, o >> 1 when doubling', async () => {
    const x = ramp(3);
    await assertClose(interpolate(x, { size: [1, 5] }), [0, 0, 1, 1, 2]);
    await assertClose(interpolate(ramp(5), { size: [1, 2], mode: 'nearest' }), [0, 2]);
    // 5 * 2.1 -> 10 outputs = 2 * 5: torch shifts (o >> 1) instead of floor(o / 2.1), which would give 0, 0, 0, 1, ...
    await assertClose(interpolate(ramp(5), { scaleFactor: [1, 2.1] }), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    // 4 * 2.6 -> 10 outputs with step 1 / 2.6: floor(o / 2.6).
    await assertClose(interpolate(ramp(4), { scaleFactor: [1, 2.6] }), [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]);
    const y = interpolate(
      img([
        [1, 2],
        [3, 4],
      ]),
      { scaleFactor: 2 },
    );
    await assertClose(y, [
      [1, 1, 2, 2],
      [1, 1, 2, 2],
      [3, 3, 4, 4],
      [3, 3, 4, 4],
    ]);
  });

  it('gradients match finite differences', async () => {
    const x = randomNormal([1, 2, 3, 4], { seed: 1, backend });
    await checkGradients((x) => interpolate(x, { size: [5, 7], mode: 'bilinear' }), [x]);
    await checkGradients((x) => interpolate(x, { size: [2, 3], mode: 'bilinear', alignCorners: true }), [x]);
    await checkGradients((x) => interpolate(x, { scaleFactor: [1.7, 0.6], mode: 'bilinear' }), [x]);
    await checkGradients((x) => resizeBilinear(x, [3, 9], { alignCorners: true }), [x]);
    await checkGradients((x) => interpolate(x, { size: [5, 3] }), [x]);
    const a: ResizeBilinearAttrs = {
      alignCorners: false,
      ratio: [0.6, 4 / 3],
      xShape: [1, 2, 3, 4],
      yShape: [1, 2, 5, 3],
    };
    await checkGradients(
      (g) => runOp1(resizeBilinearGradOp, [g], a),
      [randomNormal(a.yShape, { seed: 2, backend })],
    );
    const b: ResizeNearestAttrs = {
      scale: [Math.fround(0.6), Math.fround(4 / 3)],
      xShape: [1, 2, 3, 4],
      yShape: [1, 2, 5, 3],
    };
    await checkGradients(
      (g) => runOp1(resizeNearestGradOp, [g], b),
      [randomNormal(b.yShape, { seed: 3, backend })],
    );
  });

  it('frees what it creates', async () => {
    const x = randomNormal([1, 2, 3, 3], { seed: 4, backend }).setRequiresGrad();
    const before = memory(backend);
    tidy(() => {
      sum(interpolate(x, { scaleFactor: 2, mode: 'bilinear' })).backward();
      sum(interpolate(x, { size: 5 })).backward();
    });
    x.grad?.dispose();
    x.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('rejects bad arguments with clear errors', async () => {
    const x = ramp(4);
    expect(() => interpolate(reshape(x, [1, 4]), { size: 2 })).toThrow(
      /interpolate: x must be of shape \[N, C, H, W\], got \[1, 4\]/,
    );
    expect(() => interpolate(x, { size: 2, scaleFactor: 2 })).toThrow(
      /interpolate: size\/scaleFactor must be exactly one of them, got both/,
    );
    expect(() => interpolate(x, {})).toThrow(
      /interpolate: size\/scaleFactor must be exactly one of them, got neither/,
    );
    expect(() => interpolate(x, { size: 2, alignCorners: true })).toThrow(
      /interpolate: alignCorners must be unset in 'nearest' mode/,
    );
    expect(() => interpolate(x, { size: 2, mode: 'bicubic' as 'bilinear' })).toThrow(
      /interpolate: mode must be 'nearest' or 'bilinear', got "bicubic"/,
    );
    expect(() => interpolate(x, { size: [2, 0] })).toThrow(
      /interpolate: size must be a positive integer or a list of 2, got \[2,0\]/,
    );
    expect(() => interpolate(x, { size: [1, 2, 3] })).toThrow(
      /interpolate: size must be a positive integer or a list of 2/,
    );
    expect(() => interpolate(x, { scaleFactor: -1 })).toThrow(
      /interpolate: scaleFactor must be a positive number or a list of 2, got -1/,
    );
    expect(() => interpolate(x, { scaleFactor: 0.5 })).toThrow(
      /interpolate: scaleFactor must be large enough for a non-empty output from input \[1, 1, 1, 4\], got 0.5 \(output \[0, 2\]\)/,
    );
    expect(() => interpolate(tensor([[[[1]]]], { dtype: 'int32', backend }), { size: 2 })).toThrow(
      /interpolate: x must be a float32 or float64 tensor, got int32/,
    );
  });
});
