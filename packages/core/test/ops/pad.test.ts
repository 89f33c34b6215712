import { describe, expect, it } from 'vitest';
import { memory, pad, randomNormal, sum, tensor, tidy } from '../../src/index.js';
import { runOp1 } from '../../src/ops/op.js';
import { type PadAttrs, padGradOp } from '../../src/ops/pad/pad.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  expectValues,
  readFlat,
} from '../../src/testing/index.js';

describe.each(backendsUnderTest())('pad on %s', (backend) => {
  const t = (v: number[] | number[][] | number[][][]) => tensor(v, { backend });

  it('constant mode pads pairs from the last axis backwards', async () => {
    // [left 1, right 0, top 0, bottom 1] with 9.
    const y = pad(
      t([
        [1, 2],
        [3, 4],
      ]),
      [1, 0, 0, 1],
      { value: 9 },
    );
    expect(y.shape).toEqual([3, 3]);
    await assertClose(y, [
      [9, 1, 2],
      [9, 3, 4],
      [9, 9, 9],
    ]);
    // Only the last axis; default value 0.
    await assertClose(
      pad(
        t([
          [1, 2],
          [3, 4],
        ]),
        [0, 2],
      ),
      [
        [1, 2, 0, 0],
        [3, 4, 0, 0],
      ],
    );
    // Three axes of a rank-3 tensor.
    const z = pad(t([[[5]]]), [1, 0, 0, 1, 1, 0]);
    expect(z.shape).toEqual([2, 2, 2]);
    await assertClose(z, [0, 0, 0, 0, 0, 5, 0, 0]);
  });

  it('negative pads crop', async () => {
    await assertClose(
      pad(
        t([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        [-1, 1],
      ),
      [
        [2, 3, 0],
        [5, 6, 0],
      ],
    );
    await assertClose(
      pad(
        t([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        [0, 0, -1, 0],
      ),
      [[4, 5, 6]],
    );
    expect(pad(t([1, 2, 3]), [-2, -1]).shape).toEqual([0]);
  });

  it('reflect, replicate and circular match hand-worked examples', async () => {
    await assertClose(pad(t([1, 2, 3]), [2, 2], { mode: 'reflect' }), [3, 2, 1, 2, 3, 2, 1]);
    await assertClose(pad(t([1, 2, 3]), [2, 1], { mode: 'replicate' }), [1, 1, 1, 2, 3, 3]);
    await assertClose(pad(t([1, 2, 3]), [2, 3], { mode: 'circular' }), [2, 3, 1, 2, 3, 1, 2, 3]);
    // Cropping one end while reflecting the other (reads x[1..3], then mirrors around x[3]).
    await assertClose(pad(t([1, 2, 3, 4]), [-1, 2], { mode: 'reflect' }), [2, 3, 4, 3, 2]);
    const img = t([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    await assertClose(pad(img, [1, 1, 1, 1], { mode: 'reflect' }), [
      [5, 4, 5, 6, 5],
      [2, 1, 2, 3, 2],
      [5, 4, 5, 6, 5],
      [8, 7, 8, 9, 8],
      [5, 4, 5, 6, 5],
    ]);
    await assertClose(pad(img, [0, 1, 1, 0], { mode: 'replicate' }), [
      [1, 2, 3, 3],
      [1, 2, 3, 3],
      [4, 5, 6, 6],
      [7, 8, 9, 9],
    ]);
    await assertClose(pad(img, [1, 0, 0, 1], { mode: 'circular' }), [
      [3, 1, 2, 3],
      [6, 4, 5, 6],
      [9, 7, 8, 9],
      [3, 1, 2, 3],
    ]);
  });

  it('keeps integer dtypes', async () => {
    const y = pad(tensor([1, 2], { dtype: 'int32', backend }), [1, 1], { value: -3 });
    expect(y.dtype).toBe('int32');
    expect(await readFlat(y)).toEqual([-3, 1, 2, -3]);
  });

  it('gradients match finite differences in every mode', async () => {
    const x = randomNormal([2, 3, 4], { seed: 3, backend });
    await checkGradients((x) => pad(x, [1, 2, -1, 1], { value: 0.5 }), [x]);
    await checkGradients((x) => pad(x, [3, 2, 2, 1], { mode: 'reflect' }), [x]);
    await checkGradients((x) => pad(x, [2, 3, 0, 2, 1, 0], { mode: 'replicate' }), [x]);
    await checkGradients((x) => pad(x, [4, 1, -1, 3], { mode: 'circular' }), [x]);
    // The gradient op's own vjp.
    const a: PadAttrs = {
      before: [0, 2, -1],
      after: [1, 0, 2],
      mode: 'reflect',
      value: 0,
      xShape: [2, 3, 4],
      yShape: [3, 5, 5],
    };
    await checkGradients((g) => runOp1(padGradOp, [g], a), [randomNormal(a.yShape, { seed: 4, backend })]);
  });

  it('frees what it creates', async () => {
    const x = randomNormal([2, 3], { seed: 1, backend }).setRequiresGrad();
    const before = memory(backend);
    tidy(() => sum(pad(x, [1, 1, 1, 0], { mode: 'reflect' })).backward());
    // Rows read: [1, 0, 1]; columns read per row: [1, 0, 1, 2, 1]. Each count is how often an element is read.
    await expectValues(x.grad!, [
      [1, 3, 1],
      [2, 6, 2],
    ]);
    x.grad?.dispose();
    x.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('rejects bad arguments with clear errors', async () => {
    const x = t([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => pad(x, [1])).toThrow(
      /pad: pads must be an even-length list of at most 4 integers \(2 per axis of x \[2, 3\]\), got \[1\]/,
    );
    expect(() => pad(x, [1, 1, 1, 1, 1, 1])).toThrow(
      /pad: pads must be an even-length list of at most 4 integers/,
    );
    expect(() => pad(x, [0.5, 1])).toThrow(/pad: pads must be/);
    expect(() => pad(x, [3, 0], { mode: 'reflect' })).toThrow(
      /pad: pads must be less than the axis size in reflect mode on axis 1 \(size 3\) padded by \(3, 0\), got 3/,
    );
    expect(() => pad(x, [0, 0, 0, 3], { mode: 'circular' })).toThrow(
      /pad: pads must be at most the axis size in circular mode on axis 0 \(size 2\)/,
    );
    expect(() => pad(x, [-2, -2])).toThrow(
      /pad: pads must be crops that fit in the axis on axis 1 \(size 3\) padded by \(-2, -2\), got a negative size -1/,
    );
    expect(() => pad(x, [1, 1], { mode: 'wrap' as 'circular' })).toThrow(
      /pad: mode must be one of constant, reflect, replicate, circular, got "wrap"/,
    );
    expect(() => pad(x, [1, 1], { mode: 'reflect', value: 2 })).toThrow(
      /pad: value must be unset in 'reflect' mode/,
    );
    expect(() => pad(tensor([1], { dtype: 'int32', backend }), [1, 1], { value: 0.5 })).toThrow(
      /pad: value must be an integer for an int32 tensor/,
    );
  });
});
