import { einsum, mul, narrow, randomNormal, type Tensor, tensor, valueAndGrad } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  alibiSlopes,
  decayCausal,
  decayCausalBackward,
  decayCausalQuadratic,
  lightningAttention,
  lightningAttentionBlockwise,
  TnlAttention,
  tnlLayerSlopes,
} from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

/** The quadratic form with core ops: [(Q K^T) * M] V with M_ts = exp(-s (t - s)) on and below the diagonal. */
function quadraticOps(q: Tensor, k: Tensor, v: Tensor, decay: number[]): Tensor {
  const [, n, H] = q.shape;
  const m = new Float64Array(H * n * n);
  for (let h = 0; h < H; h++)
    for (let t = 0; t < n; t++)
      for (let s = 0; s <= t; s++) m[(h * n + t) * n + s] = Math.exp(-decay[h] * (t - s));
  const mask = tensor(m, { shape: [H, n, n], dtype: 'float64', backend: 'cpu' });
  return einsum('bhts,bshe->bthe', mul(einsum('bthd,bshd->bhts', q, k), mask), v);
}

describe('Lightning Attention-2', () => {
  it('ALiBi slopes: 8 heads 1/2..1/256; 12 heads as the reference code (spec values)', () => {
    expect(alibiSlopes(8)).toEqual([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
    const want12 = [
      0.5,
      0.25,
      0.125,
      0.0625,
      0.03125,
      0.015625,
      0.0078125,
      0.00390625,
      Math.SQRT1_2,
      0.35355,
      0.17678,
      0.08839,
    ];
    alibiSlopes(12).forEach((s, i) => expect(s).toBeCloseTo(want12[i], 5));
    expect(alibiSlopes(1)).toEqual([2 ** -8]);
  });

  it('TNL layer scaling: first layer full slopes (+1e-5), last ~0, one layer as a first', () => {
    expect(tnlLayerSlopes(8, 0, 12)[0]).toBeCloseTo(0.5 * (1 + 1e-5), 12);
    expect(tnlLayerSlopes(8, 11, 12)[0]).toBeCloseTo(0.5 * 1e-5, 12);
    expect(tnlLayerSlopes(2, 0, 1)).toEqual(alibiSlopes(2).map((s) => s * (1 + 1e-5)));
    expect(() => tnlLayerSlopes(2, 3, 3)).toThrow(
      /tnlLayerSlopes: layerIdx must be an integer in \[0, 3\), got 3/,
    );
  });

  it.each([1, 13, 40])(
    'quadratic == recurrent == blockwise (n=%i, block 16, decays 0, 2^-8, 0.5, 3)',
    (n) => {
      const [B, H, dk, dv] = [1, 4, 3, 2];
      const decay = [0, 2 ** -8, 0.5, 3];
      const q = rand([B, n, H, dk], 1);
      const k = rand([B, n, H, dk], 2);
      const v = rand([B, n, H, dv], 3);
      const quad = decayCausalQuadratic(
        q.dataSync(),
        k.dataSync(),
        v.dataSync(),
        { batch: B, n, heads: H, dk, dv },
        decay,
      );
      expectClose(lightningAttention(q, k, v, { decay }).dataSync(), quad, F64);
      expectClose(
        lightningAttentionBlockwise(q, k, v, { decay, blockSize: 16 }).contiguous().dataSync(),
        quad,
        F64,
      );
      expectClose(quadraticOps(q, k, v, decay).dataSync(), quad, F64);
    },
  );

  it('default decays are the ALiBi slopes of the head count, or their TNL per-layer scaling', () => {
    const q = rand([1, 6, 2, 2], 4);
    expectClose(
      lightningAttention(q, q, q).dataSync(),
      decayCausal(q, q, q, { decay: alibiSlopes(2) }).dataSync(),
      F64,
    );
    expectClose(
      lightningAttention(q, q, q, { tnlLayer: { layerIdx: 2, numLayers: 4 } }).dataSync(),
      decayCausal(q, q, q, { decay: tnlLayerSlopes(2, 2, 4) }).dataSync(),
      F64,
    );
  });

  it('backward primitive == autograd of the quadratic form == autograd of the blockwise form', () => {
    const [B, n, H, dk, dv] = [2, 11, 2, 3, 4];
    const decay = [0, 0.6];
    const q = rand([B, n, H, dk], 5);
    const k = rand([B, n, H, dk], 6);
    const v = rand([B, n, H, dv], 7);
    const g = rand([B, n, H, dv], 8);
    const loss = (f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => (a: Tensor, b: Tensor, c: Tensor) =>
      mul(f(a, b, c), g).sum();
    const prim = decayCausalBackward(q, k, v, g, { decay });
    const quad = valueAndGrad(loss((a, b, c) => quadraticOps(a, b, c, decay)))(q, k, v).grads;
    const block = valueAndGrad(
      loss((a, b, c) => lightningAttentionBlockwise(a, b, c, { decay, blockSize: 4 })),
    )(q, k, v).grads;
    for (let i = 0; i < 3; i++) {
      expectClose(prim[i].dataSync(), quad[i].dataSync(), F64);
      expectClose(block[i].dataSync(), quad[i].dataSync(), F64);
    }
  });

  it('errors: one token axis; blockwise decay list', () => {
    const q = rand([1, 2, 3, 2, 4], 1);
    expect(() => lightningAttention(q, q, q)).toThrow(/lightningAttention: q must be one token axis/);
    const p = rand([1, 5, 2, 4], 2);
    expect(() => lightningAttentionBlockwise(p, p, p, { decay: [1] })).toThrow(
      /lightningAttentionBlockwise: decay must be 2 finite rates >= 0, got \[1\]/,
    );
    expect(() => lightningAttentionBlockwise(p, p, p, { blockSize: 0 })).toThrow(
      /blockSize must be an integer >= 1/,
    );
  });
});

describe('TnlAttention layer', () => {
  it('has the reference parameter names, is causal, and composes as the reference module', () => {
    const layer = new TnlAttention(8, 2, { layerIdx: 1, numLayers: 4, dtype: 'float64', backend: 'cpu' });
    expect([...layer.stateDict().keys()].sort()).toEqual(
      [
        'k_proj.weight',
        'norm.bias',
        'norm.weight',
        'o_proj.weight',
        'output_gate.0.weight',
        'output_gate.1.weight',
        'q_proj.weight',
        'v_proj.weight',
      ].sort(),
    );
    expect(layer.decay).toEqual(tnlLayerSlopes(2, 1, 4));
    const x = randomNormal([1, 7, 8], { seed: 3, backend: 'cpu' }).cast('float64');
    const y = layer.forward(x);
    expect(y.shape).toEqual([1, 7, 8]);
    // Changing the last token leaves every earlier output unchanged.
    const data = Float64Array.from(x.dataSync());
    data[6 * 8] += 1;
    const x2 = tensor(data, { shape: [1, 7, 8], dtype: 'float64', backend: 'cpu' });
    const y2 = layer.forward(x2);
    expectClose(narrow(y2, 1, 0, 6).contiguous().dataSync(), narrow(y, 1, 0, 6).contiguous().dataSync(), F64);
    expect(Math.abs(y2.dataSync()[6 * 8] - y.dataSync()[6 * 8])).toBeGreaterThan(0);
  });
});
