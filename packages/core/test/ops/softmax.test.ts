import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logSoftmax, randomNormal, scalar, softmax, tensor } from '../../src/index.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  readFlat,
  readItem,
} from '../../src/testing/index.js';
import { alongAxis, randomShape, runsFor } from '../helpers.js';

/** softmax of one row from its definition. */
const rowSoftmax = (xs: number[]) => {
  const e = xs.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe.each(backendsUnderTest())('softmax on %s', (backend) => {
  const inf = Number.POSITIVE_INFINITY;

  it('normalises the last axis by default, or the one given', async () => {
    const rows = [
      [1, 2, 3],
      [0, -1, 0.5],
    ];
    const x = tensor(rows, { backend });
    await assertClose(softmax(x), rows.map(rowSoftmax));
    const cols = [
      [1, 0],
      [2, -1],
      [3, 0.5],
    ];
    const byCol = cols.map(rowSoftmax);
    await assertClose(
      softmax(x, 0),
      [0, 1].map((i) => [0, 1, 2].map((j) => byCol[j][i])),
    );
    await assertClose(softmax(tensor([[[1, 2]], [[3, 3]]], { backend }), 1), [1, 1, 1, 1]);
    expect(await readItem(softmax(scalar(3, { backend })))).toBe(1);
  });

  it('is stable for large values and handles -Infinity', async () => {
    await assertClose(softmax(tensor([1000, 1001], { backend })), rowSoftmax([0, 1]));
    await assertClose(softmax(tensor([-inf, 0, -inf], { backend })), [0, 1, 0]);
    // A row of -Infinity has no defined distribution: NaN, as PyTorch.
    expect((await readFlat(softmax(tensor([-inf, -inf], { backend })))).every(Number.isNaN)).toBe(true);
  });

  it('logSoftmax is x - logsumexp(x), exact for very negative entries', async () => {
    const xs = [1, 2, 3, -2];
    const lse = Math.log(xs.reduce((a, v) => a + Math.exp(v), 0));
    await assertClose(
      logSoftmax(tensor(xs, { backend })),
      xs.map((v) => v - lse),
    );
    await assertClose(logSoftmax(tensor([0, -1000], { backend })), [0, -1000]);
    await assertClose(logSoftmax(tensor([-inf, 0], { backend })), [-inf, 0]);
    await assertClose(logSoftmax(tensor([[1], [2]], { backend }), 0), [
      [-Math.log(1 + Math.E)],
      [1 - Math.log(1 + Math.E)],
    ]);
  });

  it('gradients', async () => {
    const x = randomNormal([2, 3, 2], { seed: 3, backend });
    await checkGradients((t) => softmax(t), [x]);
    await checkGradients((t) => softmax(t, 1), [x]);
    await checkGradients((t) => logSoftmax(t, 0), [x]);
    await checkGradients((t) => logSoftmax(t, -2), [x]);
  });

  it('property: softmax and logSoftmax along an axis of random shapes match their definitions', async () => {
    await fc.assert(
      fc.asyncProperty(randomShape(), fc.nat(), fc.nat(), async (shape, a, seed) => {
        const axis = a % shape.length;
        const x = randomNormal(shape, { seed, backend, std: 3 });
        const v = await x.data();
        await assertClose(softmax(x, axis), alongAxis(v, shape, axis, rowSoftmax));
        await assertClose(
          logSoftmax(x, axis),
          alongAxis(v, shape, axis, (lane) => rowSoftmax(lane).map(Math.log)),
        );
      }),
      { numRuns: runsFor(backend, 40, 6) },
    );
  });

  it('rejects bad arguments', async () => {
    expect(() => softmax(tensor([1, 2], { dtype: 'int32', backend }))).toThrow(
      /softmax: x must be a float32 or float64 tensor, got int32/,
    );
    expect(() => logSoftmax(tensor([1, 2], { backend }), 1)).toThrow(
      /logSoftmax: axis must be an integer in \[-1, 0\], got 1/,
    );
    expect(() => softmax(scalar(1, { backend }), 2)).toThrow(/softmax: axis must be/);
  });
});
