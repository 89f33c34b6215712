import { flip, type Tensor, tensor } from '@attnkit/core';
import { backendsUnderTest, gradcheck, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { decayCausal, decayCausalBackward, decayCausalQuadratic } from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

const DECAYS = [
  [0, 0],
  [0.5, 2 ** -8],
  [3, 0],
];

describe('linear.decayCausal on the CPU', () => {
  it.each([1, 7, 33])('recurrent kernel == quadratic form (n=%i, decays incl. 0)', (n) => {
    const [B, H, dk, dv] = [2, 2, 3, 5];
    const q = rand([B, n, H, dk], 1);
    const k = rand([B, n, H, dk], 2);
    const v = rand([B, n, H, dv], 3);
    const shape = { batch: B, n, heads: H, dk, dv };
    for (const decay of DECAYS) {
      const got = decayCausal(q, k, v, { decay }).dataSync();
      expectClose(got, decayCausalQuadratic(q.dataSync(), k.dataSync(), v.dataSync(), shape, decay), F64);
    }
  });

  it('backward == three forward calls (dq causal; dk, dv anti-causal by flipping time)', () => {
    const [B, n, H, dk, dv] = [1, 9, 2, 3, 4];
    const decay = [0.3, 0];
    const q = rand([B, n, H, dk], 4);
    const k = rand([B, n, H, dk], 5);
    const v = rand([B, n, H, dv], 6);
    const g = rand([B, n, H, dv], 7);
    const [dq, dk_, dv_] = decayCausalBackward(q, k, v, g, { decay });
    const f = (x: Tensor) => flip(x, 1);
    expectClose(dq.dataSync(), decayCausal(g, v, k, { decay }).dataSync(), F64);
    expectClose(dk_.dataSync(), f(decayCausal(f(v), f(g), f(q), { decay })).dataSync(), F64);
    expectClose(dv_.dataSync(), f(decayCausal(f(k), f(q), f(g), { decay })).dataSync(), F64);
  });

  it('gradcheck in q, k and v (decay 0 and > 0, Dk != Dv)', () => {
    const q = rand([1, 5, 2, 2], 8);
    const k = rand([1, 5, 2, 2], 9);
    const v = rand([1, 5, 2, 3], 10);
    gradcheck((a, b, c) => decayCausal(a, b, c, { decay: [0, 0.7] }), [q, k, v]);
  });

  it('float32 input gives a float32 output within the CPU tolerance of the float64 form', () => {
    const q = rand([1, 6, 1, 2], 11, { dtype: 'float32' });
    const k = rand([1, 6, 1, 2], 12, { dtype: 'float32' });
    const v = rand([1, 6, 1, 2], 13, { dtype: 'float32' });
    const o = decayCausal(q, k, v, { decay: [0.1] });
    expect(o.dtype).toBe('float32');
    const shape = { batch: 1, n: 6, heads: 1, dk: 2, dv: 2 };
    const want = decayCausalQuadratic(q.dataSync(), k.dataSync(), v.dataSync(), shape, [0.1]);
    expectClose(o.dataSync(), want, toleranceFor('cpu'));
  });

  it('rejects bad input naming the op, argument, expected and received', () => {
    const q = rand([1, 4, 2, 3], 1);
    const v = rand([1, 4, 2, 5], 2);
    expect(() => decayCausal(q, q, v, { decay: [0] })).toThrow(
      /linear\.decayCausal: decay must be an array of 2 decay rates \(one per head\), got 1 values/,
    );
    expect(() => decayCausal(q, q, v, { decay: [0, -1] })).toThrow(
      /decay\[1\] must be a finite number >= 0, got -1/,
    );
    expect(() => decayCausal(q, rand([1, 4, 2, 2], 3), v)).toThrow(/k must be the shape of q/);
    expect(() => decayCausal(q, q, rand([1, 3, 2, 5], 4))).toThrow(/v must be \[1, 4, 2, valueDim >= 1\]/);
    expect(() => decayCausal(rand([4, 2, 3], 5), q, v)).toThrow(
      /q must be a tensor \[batch, tokens, heads, dim\]/,
    );
    expect(() => decayCausal(q, q, tensor([1], { dtype: 'int32' }))).toThrow(
      /v must be a float32 or float64 tensor/,
    );
    expect(() => decayCausalBackward(q, q, v, rand([1, 4, 2, 4], 6))).toThrow(
      /linear\.decayCausalBackward: dO must be the shape of v/,
    );
  });
});

describe.each(backendsUnderTest())('linear.decayCausal on %s', (backend) => {
  it('matches the quadratic form for a ragged length and Dk != Dv', async () => {
    const [B, n, H, dk, dv] = [1, 19, 2, 3, 5];
    const decay = [0, 0.4];
    const opts = { backend, dtype: 'float32' as const };
    const q = rand([B, n, H, dk], 21, opts);
    const k = rand([B, n, H, dk], 22, opts);
    const v = rand([B, n, H, dv], 23, opts);
    const got = await decayCausal(q, k, v, { decay }).data();
    const shape = { batch: B, n, heads: H, dk, dv };
    const want = decayCausalQuadratic(await q.data(), await k.data(), await v.data(), shape, decay);
    expectClose(got, want, toleranceFor(backend));
  });
});
