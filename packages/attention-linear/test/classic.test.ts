import { concat, narrow, ones, relu, type Tensor } from '@attnkit/core';
import { gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { linearAttentionRef, type RefInputs } from '../src/entries/references.js';
import {
  HebbianMemory,
  hebbianCapacity,
  hebbianCapacityAt,
  LinearAttentionLayer,
  lightningAttentionBlockwise,
  linearAttention,
} from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

function refInputs(q: Tensor, k: Tensor, v: Tensor): RefInputs {
  const n = q.shape.slice(1, -2).reduce((a, b) => a * b, 1);
  return {
    q: q.dataSync(),
    k: k.dataSync(),
    v: v.dataSync(),
    batch: q.shape[0],
    n,
    heads: q.shape[q.rank - 2],
    dk: q.shape[q.rank - 1],
    dv: v.shape[v.rank - 1],
  };
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('classic linear attention', () => {
  it.each([
    [[11], false],
    [[11], true],
    [[3, 4], false],
    [[3, 4], true],
  ] as const)('tokens %j causal=%s == masked quadratic form / row sums', (tokens, causal) => {
    const q = rand([2, ...tokens, 2, 3], 1);
    const k = rand([2, ...tokens, 2, 3], 2);
    const v = rand([2, ...tokens, 2, 4], 3);
    const got = linearAttention(q, k, v, { causal });
    expect(got.shape).toEqual([2, ...tokens, 2, 4]);
    const n = tokens.reduce((a, b) => a * b, 1);
    expectClose(got.dataSync(), linearAttentionRef(refInputs(q, k, v), all(n), causal), F64);
  });

  it('causal form == blockwise scan with carried (S, z) state on [v | 1] (n not a multiple of the block)', () => {
    const [B, n, H] = [1, 13, 2];
    const q = rand([B, n, H, 3], 4);
    const k = rand([B, n, H, 3], 5);
    const v = rand([B, n, H, 2], 6);
    const phi = (t: Tensor) => relu(t);
    const one = ones([B, n, H, 1], { dtype: 'float64', backend: 'cpu' });
    const o = lightningAttentionBlockwise(phi(q), phi(k), concat([v, one], 3), {
      decay: [0, 0],
      blockSize: 5,
    });
    const want = narrow(o, 3, 0, 2).div(narrow(o, 3, 2, 1).add(1e-6));
    expectClose(
      linearAttention(q, k, v, { causal: true, featureMap: 'relu' }).dataSync(),
      want.contiguous().dataSync(),
      F64,
    );
  });

  it('feature maps: identity, relu and a user function', () => {
    const q = rand([1, 5, 1, 2], 7);
    const k = rand([1, 5, 1, 2], 8);
    const v = rand([1, 5, 1, 2], 9);
    // identity == relu on positive inputs.
    const kp = k.mul(0.1).add(1);
    expectClose(
      linearAttention(kp, kp, v, { featureMap: 'identity' }).dataSync(),
      linearAttention(kp, kp, v, { featureMap: 'relu' }).dataSync(),
      F64,
    );
    // A user map phi = 1 (dk = 2 channels): every dot is 2, so each query gets the mean of the values.
    const mean = linearAttention(q, k, v, { featureMap: (t) => t.mul(0).add(1) }).dataSync();
    const vd = v.dataSync();
    for (let i = 0; i < 5; i++) {
      for (let e = 0; e < 2; e++) {
        const m = (vd[e] + vd[2 + e] + vd[4 + e] + vd[6 + e] + vd[8 + e]) / 5;
        expect(mean[i * 2 + e]).toBeCloseTo(m * (10 / (10 + 1e-6)), 12);
      }
    }
    expect(() => linearAttention(q, k, v, { featureMap: 'softmax' as never })).toThrow(
      /linearAttention: featureMap must be 'elu\+1', 'relu', 'identity' or a function, got softmax/,
    );
  });

  it('gradcheck (causal and not)', () => {
    const q = rand([1, 4, 1, 2], 10);
    const k = rand([1, 4, 1, 2], 11);
    const v = rand([1, 4, 1, 3], 12);
    gradcheck((a, b, c) => linearAttention(a, b, c, { causal: true }), [q, k, v]);
    gradcheck((a, b, c) => linearAttention(a, b, c), [q, k, v]);
  });

  it('rejects bad input', () => {
    const q = rand([1, 4, 2, 3], 1);
    expect(() => linearAttention(q, rand([1, 5, 2, 3], 2), q, { causal: true })).toThrow(
      /linearAttention: k must be the shape of q/,
    );
    expect(() => linearAttention(q, rand([1, 5, 2, 3], 2), q)).toThrow(
      /linearAttention: v must be \[1, 5, 2, valueDim\]/,
    );
    expect(() => linearAttention(q, q, q, { eps: -1 })).toThrow(/eps must be a finite number >= 0, got -1/);
    expect(() => linearAttention(rand([4, 2, 3], 3), q, q)).toThrow(
      /q must be a tensor \[batch, \.\.\.tokens/,
    );
  });
});

describe('LinearAttentionLayer (fast-transformers AttentionLayer)', () => {
  it('has fast-transformers parameter names; self- and cross-attention; causal == projected linearAttention', () => {
    const layer = new LinearAttentionLayer(8, 2, { dModelKeys: 6, dtype: 'float64', backend: 'cpu' });
    expect([...layer.stateDict().keys()]).toEqual(
      ['query', 'key', 'value', 'out'].flatMap((p) => [`${p}_projection.weight`, `${p}_projection.bias`]),
    );
    expect(layer.forward(rand([2, 5, 8], 1), rand([2, 7, 6], 2), rand([2, 7, 6], 3)).shape).toEqual([
      2, 5, 8,
    ]);
    const causal = new LinearAttentionLayer(8, 2, { causal: true, dtype: 'float64', backend: 'cpu' });
    const x = rand([1, 6, 8], 4);
    const proj = (m: { forward(t: Tensor): Tensor }) => m.forward(x).reshape([1, 6, 2, 4]);
    const o = linearAttention(
      proj(causal.query_projection),
      proj(causal.key_projection),
      proj(causal.value_projection),
      {
        causal: true,
      },
    );
    expectClose(
      causal.forward(x).dataSync(),
      causal.out_projection.forward(o.reshape([1, 6, 8])).dataSync(),
      F64,
    );
    expect(() => causal.forward(x, rand([1, 5, 8], 5))).toThrow(
      /LinearAttentionLayer: keys must be 6 tokens like queries/,
    );
  });

  it('cross-attention (non-causal) == explicit weights over a different key count', () => {
    const q = rand([1, 3, 1, 2], 6);
    const k = rand([1, 5, 1, 2], 7);
    const v = rand([1, 5, 1, 3], 8);
    const got = linearAttention(q, k, v).dataSync();
    const phi = (t: number) => (t > 0 ? t + 1 : Math.exp(t));
    const Q = q.dataSync();
    const K = k.dataSync();
    const V = v.dataSync();
    for (let i = 0; i < 3; i++) {
      let den = 0;
      const num = [0, 0, 0];
      for (let j = 0; j < 5; j++) {
        const w = phi(Q[i * 2]) * phi(K[j * 2]) + phi(Q[i * 2 + 1]) * phi(K[j * 2 + 1]);
        den += w;
        for (let e = 0; e < 3; e++) num[e] += w * V[j * 3 + e];
      }
      for (let e = 0; e < 3; e++) expect(got[i * 3 + e]).toBeCloseTo(num[e] / (den + 1e-6), 12);
    }
  });
});

describe('Hebbian memory (Pavlovian reading of linear attention)', () => {
  it('reading the memory of all (k, v) pairs is the numerator of non-causal identity-map linear attention', () => {
    const k = rand([6, 3], 1);
    const v = rand([6, 4], 2);
    const q = rand([2, 3], 3);
    const mem = new HebbianMemory(3, 4, { dtype: 'float64', backend: 'cpu' });
    mem.write(narrow(k, 0, 0, 4), narrow(v, 0, 0, 4));
    mem.write(narrow(k, 0, 4, 2), narrow(v, 0, 4, 2));
    const read = mem.read(q).dataSync();
    const K = k.dataSync();
    const V = v.dataSync();
    const Q = q.dataSync();
    for (let i = 0; i < 2; i++) {
      for (let e = 0; e < 4; e++) {
        let want = 0;
        for (let j = 0; j < 6; j++) {
          let dot = 0;
          for (let c = 0; c < 3; c++) dot += Q[i * 3 + c] * K[j * 3 + c];
          want += dot * V[j * 4 + e];
        }
        expect(read[i * 4 + e]).toBeCloseTo(want, 12);
      }
    }
    expect(() => mem.write(k, narrow(v, 0, 0, 5))).toThrow(
      /HebbianMemory.write: values must be 6 rows like keys/,
    );
    mem.dispose();
  });

  it('capacity: retrieval falls monotonically with N / d_k, curves collapse across d_k, and follow the theory', () => {
    const loads = [0.25, 0.5, 1, 2];
    const curves = [16, 32].map((dk) =>
      hebbianCapacity({ keyDim: dk, counts: loads.map((l) => l * dk), trials: 6, seed: dk }),
    );
    for (const curve of curves) {
      for (let i = 1; i < curve.length; i++) {
        expect(curve[i].meanCosine).toBeLessThan(curve[i - 1].meanCosine);
        expect(curve[i].maxCrosstalk).toBeGreaterThan(curve[i - 1].maxCrosstalk);
      }
      for (const p of curve) expect(Math.abs(p.meanCosine - p.theory)).toBeLessThan(0.06);
    }
    // Same load, different d_k: same quality (the curve is a function of N / d_k).
    for (let i = 0; i < loads.length; i++) {
      expect(Math.abs(curves[0][i].meanCosine - curves[1][i].meanCosine)).toBeLessThan(0.06);
    }
  });

  it('capacity at a fixed fidelity grows linearly with d_k (near the theory 1 + d_k (1/f^2 - 1))', () => {
    const at = (keyDim: number) => hebbianCapacityAt({ keyDim, fidelity: 0.8, trials: 8 });
    const [c16, c32] = [at(16), at(32)];
    const theory = (dk: number) => 1 + dk * (1 / 0.64 - 1);
    expect(c32 / c16).toBeGreaterThan(1.6);
    expect(c32 / c16).toBeLessThan(2.5);
    expect(Math.abs(c32 - theory(32)) / theory(32)).toBeLessThan(0.3);
    expect(hebbianCapacityAt({ keyDim: 8, fidelity: 0.99, keys: 'orthonormal' })).toBe(8);
    expect(() => hebbianCapacityAt({ keyDim: 8, fidelity: 1 })).toThrow(
      /fidelity must be a number in \(0, 1\), got 1/,
    );
  });

  it('orthonormal keys recall exactly up to N = d_k; positive (elu+1) keys interfere far more', () => {
    const ortho = hebbianCapacity({ keyDim: 8, counts: [4, 8], keys: 'orthonormal', trials: 2 });
    for (const p of ortho) {
      expect(p.meanCosine).toBeCloseTo(1, 12);
      expect(p.recall).toBe(1);
    }
    const [g] = hebbianCapacity({ keyDim: 32, counts: [16], trials: 3 });
    const [pos] = hebbianCapacity({ keyDim: 32, counts: [16], keys: 'elu+1', trials: 3 });
    expect(pos.meanCosine).toBeLessThan(g.meanCosine - 0.2);
    expect(() => hebbianCapacity({ keyDim: 4, counts: [5], keys: 'orthonormal' })).toThrow(
      /counts\[0\] must be at most keyDim = 4 orthonormal keys, got 5/,
    );
  });
});
