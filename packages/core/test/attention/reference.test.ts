import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  randomQkv,
  slice,
  softmaxAttentionReference,
  softmaxAttentionWeights,
  tensor,
} from '../../src/index.js';

const one = { batch: 1, tokens: [2], heads: 1, headDim: 1 };
const f64 = (values: number[]) => tensor(values, { shape: [1, 2, 1, 1], dtype: 'float64', backend: 'cpu' });

// Hand-computable case (headDim 1, so the default scale is 1): query 0 has logits [0, ln 3] -> weights
// [1/4, 3/4]; query 1 has logits [0, 0] -> weights [1/2, 1/2]. Values [4, 8].
const hand: AttentionInputs = { q: f64([1, 0]), k: f64([0, Math.log(3)]), v: f64([4, 8]) };

describe('softmaxAttentionReference', () => {
  it('matches hand-computed softmax attention', () => {
    const r = softmaxAttentionReference(hand, one);
    expect(r.rows).toEqual([0, 1]);
    expect(r.shape).toEqual([1, 2, 1, 1]);
    expect(r.values[0]).toBeCloseTo(0.25 * 4 + 0.75 * 8, 12);
    expect(r.values[1]).toBeCloseTo(6, 12);
    expect([...softmaxAttentionReference(hand, one, { rows: [1] }).values]).toEqual([r.values[1]]);
    const w = softmaxAttentionWeights(hand, one, { query: 0 });
    expect(w[0]).toBeCloseTo(0.25, 12);
    expect(w[1]).toBeCloseTo(0.75, 12);
  });

  it('applies key masks, biases and the scale', () => {
    const firstOnly = () => Uint8Array.from([1, 0]);
    expect(softmaxAttentionReference(hand, one, { keyMask: firstOnly }).values[0]).toBe(4);
    // A bias of ln 3 on key 0 turns query 1's weights into [3/4, 1/4].
    const bias = (_b: number, _h: number, _q: number, key: number) => (key === 0 ? Math.log(3) : 0);
    expect(softmaxAttentionReference(hand, one, { rows: [1], bias }).values[0]).toBeCloseTo(5, 12);
    // Scale 0 makes every weight equal: the output is the mean of the values.
    expect(softmaxAttentionReference(hand, one, { rows: [0], scale: 0 }).values[0]).toBe(6);
    const none = () => new Uint8Array(2);
    expect([...softmaxAttentionReference(hand, one, { keyMask: none }).values]).toEqual([0, 0]);
    expect([...softmaxAttentionWeights(hand, one, { query: 0, keyMask: none })]).toEqual([0, 0]);
  });

  it('computes each (batch, head) from its own slice of the inputs', () => {
    const shape = { batch: 2, tokens: [2, 3], heads: 3, headDim: 4 };
    const x = randomQkv(shape, { backend: 'cpu', seed: 11 });
    const full = softmaxAttentionReference(x, shape, { rows: [5, 2] });
    const single = { ...shape, batch: 1, heads: 1 };
    for (let b = 0; b < 2; b++) {
      for (let h = 0; h < 3; h++) {
        const pick = (t: typeof x.q) => slice(t, [[b, b + 1], null, null, [h, h + 1]]).contiguous();
        const part = softmaxAttentionReference({ q: pick(x.q), k: pick(x.k), v: pick(x.v) }, single, {
          rows: [5, 2],
        });
        for (let r = 0; r < 2; r++) {
          const at = ((b * 2 + r) * 3 + h) * 4;
          expect([...full.values.subarray(at, at + 4)]).toEqual([...part.values.subarray(r * 4, r * 4 + 4)]);
        }
      }
    }
  });

  it('rejects inputs of the wrong shape and rows out of range', () => {
    expect(() => softmaxAttentionReference(hand, { ...one, heads: 2 })).toThrow(
      /softmaxAttentionReference: q must be \[1, 2, 2, 1\], got \[1, 2, 1, 1\]/,
    );
    expect(() => softmaxAttentionReference(hand, one, { rows: [2] })).toThrow(
      /softmaxAttentionReference: rows\[0\] must be a token index in \[0, 2\), got 2/,
    );
    expect(() => softmaxAttentionWeights(hand, one, { query: 0, head: 1 })).toThrow(
      /softmaxAttentionWeights: head must be an integer in \[0, 1\), got 1/,
    );
  });
});
