import { einsum, indexSelect, narrow, sum, tensor } from '@attnkit/core';
import { gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  InLineAttention,
  InLineBlock,
  inlineAttention,
  inlineLocalTerm,
  inlineWeights,
} from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

describe('InLine attention', () => {
  it('the kv-first code form == explicit weights times V, and every row of weights sums to 1', () => {
    const q = rand([2, 9, 2, 4], 1);
    const k = rand([2, 9, 2, 4], 2);
    const v = rand([2, 9, 2, 3], 3);
    const w = inlineWeights(q, k);
    expect(w.shape).toEqual([2, 2, 9, 9]);
    expectClose(sum(w, { axis: 3 }).dataSync(), new Float64Array(2 * 2 * 9).fill(1), F64);
    expectClose(inlineAttention(q, k, v).dataSync(), einsum('bhij,bjhe->bihe', w, v).dataSync(), F64);
    // Some weights are negative: InLine is not a convex combination.
    expect(Array.from(w.dataSync()).some((x) => x < 0)).toBe(true);
  });

  it('injectivity: normalised linear attention gives q and 2q the same weights, InLine does not', () => {
    const q = rand([1, 6, 1, 4], 4);
    const k = rand([1, 6, 1, 4], 5);
    // Normalised linear attention with ReLU (positively homogeneous): w_ij = phi(q_i).phi(k_j) / sum_j.
    const lin = (x: typeof q) => {
      const relu = x.dataSync().map((t) => Math.max(t, 0));
      const rk = k.dataSync().map((t) => Math.max(t, 0));
      const out = new Float64Array(36);
      for (let i = 0; i < 6; i++) {
        let total = 0;
        for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let c = 0; c < 4; c++) s += relu[i * 4 + c] * rk[j * 4 + c];
          out[i * 6 + j] = s;
          total += s;
        }
        for (let j = 0; j < 6; j++) out[i * 6 + j] /= total;
      }
      return out;
    };
    expectClose(lin(q.mul(2)), lin(q), F64);
    const a = inlineWeights(q, k).dataSync();
    const b = inlineWeights(q.mul(2), k).dataSync();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('permuting keys and values together leaves the global term unchanged', () => {
    const q = rand([1, 7, 2, 3], 6);
    const k = rand([1, 7, 2, 3], 7);
    const v = rand([1, 7, 2, 3], 8);
    const perm = tensor([3, 6, 0, 2, 5, 1, 4], { dtype: 'int32', backend: 'cpu' });
    const out = inlineAttention(q, indexSelect(k, 1, perm), indexSelect(v, 1, perm));
    expectClose(out.dataSync(), inlineAttention(q, k, v).dataSync(), F64);
  });

  it('local term == a per-sample, per-channel 3x3 convolution with zero padding', () => {
    const v = rand([2, 3, 4, 2], 9);
    const kern = rand([2, 2, 3, 3], 10);
    const got = inlineLocalTerm(v, kern).dataSync();
    const V = v.dataSync();
    const K = kern.dataSync();
    for (let b = 0; b < 2; b++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 4; x++) {
          for (let c = 0; c < 2; c++) {
            let want = 0;
            for (let dy = -1; dy <= 1; dy++) {
              for (let dx = -1; dx <= 1; dx++) {
                const yy = y + dy;
                const xx = x + dx;
                if (yy < 0 || yy >= 3 || xx < 0 || xx >= 4) continue;
                want += K[((b * 2 + c) * 3 + dy + 1) * 3 + dx + 1] * V[((b * 3 + yy) * 4 + xx) * 2 + c];
              }
            }
            expect(got[((b * 3 + y) * 4 + x) * 2 + c]).toBeCloseTo(want, 12);
          }
        }
      }
    }
  });

  it('gradcheck of the global term', () => {
    gradcheck(
      (a, b, c) => inlineAttention(a, b, c),
      [rand([1, 4, 1, 2], 11), rand([1, 4, 1, 2], 12), rand([1, 4, 1, 2], 13)],
    );
  });
});

describe('InLineAttention layer', () => {
  it('has the released parameter names and shapes; class tokens skip the local term', () => {
    const layer = new InLineAttention(8, 2, {
      clsTokens: 1,
      qkvBias: true,
      dtype: 'float64',
      backend: 'cpu',
    });
    const shapes = Object.fromEntries([...layer.stateDict()].map(([n, t]) => [n, t.shape]));
    expect(shapes).toEqual({
      'qkv.weight': [24, 8],
      'qkv.bias': [24],
      'proj.weight': [8, 8],
      'proj.bias': [8],
      'residual.0.weight': [8, 4, 1],
      'residual.0.bias': [8],
      'residual.2.weight': [72, 4, 1],
      'residual.2.bias': [72],
    });
    const x = rand([2, 1 + 12, 8], 14);
    const y = layer.forward(x, [3, 4]);
    expect(y.shape).toEqual([2, 13, 8]);
    // The class token gets the global term only: a copy whose kernel predictor outputs 0 (no local term) gives
    // the same class-token output.
    const plain = new InLineAttention(8, 2, {
      clsTokens: 1,
      qkvBias: true,
      dtype: 'float64',
      backend: 'cpu',
    });
    plain.loadStateDict(layer.stateDict());
    (plain.residual.children()[2] as unknown as { weight: typeof x }).weight.assign(
      tensor(new Float64Array(72 * 4), { shape: [72, 4, 1], dtype: 'float64', backend: 'cpu' }),
    );
    (plain.residual.children()[2] as unknown as { bias: typeof x }).bias.assign(
      tensor(new Float64Array(72), { shape: [72], dtype: 'float64', backend: 'cpu' }),
    );
    const y0 = plain.forward(x, [3, 4]);
    expectClose(narrow(y0, 1, 0, 1).contiguous().dataSync(), narrow(y, 1, 0, 1).contiguous().dataSync(), F64);
    expect(() => layer.forward(x, [3, 3])).toThrow(
      /InLineAttention: grid must be H \* W = 12 image tokens, got \[3, 3\]/,
    );
  });
});

describe('InLineBlock', () => {
  it('has InLine-DeiT names and keeps the shape', () => {
    const block = new InLineBlock(8, 2, { dtype: 'float64', backend: 'cpu' });
    const keys = [...block.stateDict().keys()];
    expect(keys.filter((k) => !k.startsWith('attn.'))).toEqual([
      'norm1.weight',
      'norm1.bias',
      'norm2.weight',
      'norm2.bias',
      'mlp.fc1.weight',
      'mlp.fc1.bias',
      'mlp.fc2.weight',
      'mlp.fc2.bias',
    ]);
    expect(keys).toContain('attn.qkv.bias');
    expect(block.forward(rand([1, 1 + 9, 8], 20)).shape).toEqual([1, 10, 8]);
  });
});
