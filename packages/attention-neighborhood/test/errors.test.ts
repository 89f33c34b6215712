import { randomNormal, zeros } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  haloAttention,
  NeighborhoodAttention2D,
  type NeighborhoodAttentionOptions,
  na1d,
  na2d,
  neighborhoodAttention,
} from '../src/index.js';

const cpu = { backend: 'cpu' };
const t = (shape: number[], dtype: 'float32' | 'float64' | 'int32' = 'float32') =>
  dtype === 'int32' ? zeros(shape, { ...cpu, dtype }) : randomNormal(shape, { ...cpu, dtype, seed: 1 });

describe('argument checks (NATTEN rules, clear messages)', () => {
  const q1 = t([1, 8, 2, 4]);
  const k1 = t([1, 8, 2, 4]);
  const v1 = t([1, 8, 2, 4]);
  const call = (o: Partial<NeighborhoodAttentionOptions>) => () => na1d(q1, k1, v1, { kernelSize: 3, ...o });

  it.each([
    [{ kernelSize: 1 }, /na1d: kernelSize must be at least 2, got 1/],
    [{ kernelSize: 9 }, /na1d: kernelSize \* dilation must be at most the token axis size 8, got 9 \* 1 = 9/],
    [
      { kernelSize: 3, dilation: 3 },
      /na1d: kernelSize \* dilation must be at most the token axis size 8, got 3 \* 3 = 9/,
    ],
    [{ dilation: 0 }, /na1d: dilation must be at least 1, got 0/],
    [{ stride: 4 }, /na1d: stride must be between 1 and kernelSize = 3, got 4/],
    [{ stride: 0 }, /na1d: stride must be between 1 and kernelSize = 3, got 0/],
    [{ kernelSize: 2.5 }, /na1d: kernelSize must be an integer, got 2.5/],
    [{ kernelSize: [3, 3] }, /na1d: kernelSize must be an integer, got \[3,3\]/],
    [{ isCausal: [true, false] }, /na1d: isCausal must be a boolean, got \[true,false\]/],
    [{ scale: Number.NaN }, /na1d: scale must be a finite number, got NaN/],
    [{ kernel: 'flash' as 'fused' }, /na1d: kernel must be 'fused' or 'unfused', got "flash"/],
    [{ returnLse: 1 as unknown as boolean }, /na1d: returnLse must be a boolean, got 1/],
  ])('%j', (o, msg) => {
    expect(call(o)).toThrow(msg);
  });

  it('rejects a relative bias with causal masking, or of the wrong shape', () => {
    expect(call({ isCausal: true, rpb: t([2, 5]) })).toThrow(/na1d: rpb must be absent when isCausal is set/);
    expect(call({ rpb: t([2, 4]) })).toThrow(
      /na1d: rpb must be \[heads, 2k - 1 per axis\] = \[2, 5\], got \[2, 4\]/,
    );
    expect(call({ rpb: t([2, 5], 'float64') })).toThrow(/na1d: rpb must be float32 like q, got float64/);
  });

  it('rejects additional keys without values, or of the wrong shape', () => {
    expect(call({ additionalKeys: t([1, 3, 2, 4]) })).toThrow(
      /na1d: additionalValues must be given together with the other/,
    );
    expect(call({ additionalKeys: t([1, 3, 1, 4]), additionalValues: t([1, 3, 1, 4]) })).toThrow(
      /na1d: additionalKeys must be \[batch, numExtra, kvHeads, headDim\] = \[1, numExtra >= 1, 2, 4\], got \[1, 3, 1, 4\]/,
    );
    expect(call({ additionalKeys: t([1, 3, 2, 4]), additionalValues: t([1, 2, 2, 4]) })).toThrow(
      /na1d: additionalValues must be \[1, 3, 2, 4\], got \[1, 2, 2, 4\]/,
    );
  });

  it('rejects mismatched shapes and dtypes', () => {
    const o = { kernelSize: 3 };
    expect(() => na2d(q1, k1, v1, o)).toThrow(
      /na2d: q must be a 5-d tensor \[batch, x, y, heads, headDim\], got \[1, 8, 2, 4\]/,
    );
    expect(() => na1d(q1, t([1, 7, 2, 4]), v1, o)).toThrow(
      /na1d: k must be of shape \[1, 8, kvHeads, headDim\] like q/,
    );
    expect(() => na1d(t([1, 8, 3, 4]), k1, v1, o)).toThrow(
      /na1d: k must be a number of heads dividing q's 3, got 2 heads/,
    );
    expect(() => na1d(q1, t([1, 8, 2, 5]), v1, o)).toThrow(/na1d: k must be headDim 4 like q/);
    expect(() => na1d(q1, k1, t([1, 8, 1, 4]), o)).toThrow(
      /na1d: v must be of shape \[1, 8, 2, valueDim\] like k/,
    );
    expect(() => na1d(t([1, 8, 2, 4], 'int32'), k1, v1, o)).toThrow(
      /na1d: q must be a float32 or float64 tensor, got int32/,
    );
    expect(() => na1d(q1, t([1, 8, 2, 4], 'float64'), v1, o)).toThrow(
      /na1d: k must be float32 like q, got float64/,
    );
    expect(() => neighborhoodAttention(t([1, 2, 4]), k1, v1, o)).toThrow(
      /neighborhoodAttention: q must be a 4-d tensor/,
    );
    expect(() => na1d(q1, k1, v1, null as unknown as NeighborhoodAttentionOptions)).toThrow(
      /na1d: opts must be an options object with kernelSize/,
    );
    const gone = t([1, 8, 2, 4]);
    gone.dispose();
    expect(() => na1d(gone, k1, v1, o)).toThrow(/na1d: q must be a live tensor/);
  });

  it('checks per axis in 2-D, naming the axis', () => {
    const q = t([1, 6, 4, 1, 2]);
    expect(() => na2d(q, q, q, { kernelSize: [3, 5] })).toThrow(
      /na2d: kernelSize\[1\] \* dilation\[1\] must be at most the token axis size 4, got 5 \* 1 = 5/,
    );
    expect(() => na2d(q, q, q, { kernelSize: 3, stride: [1, 4] })).toThrow(
      /na2d: stride\[1\] must be between 1 and/,
    );
  });

  it('HaloNet: block size must divide every axis, halo must be >= 0', () => {
    const q = t([1, 6, 6, 1, 2]);
    expect(() => haloAttention(q, q, q, { blockSize: 4, haloSize: 1 })).toThrow(
      /haloAttention: blockSize\[0\] must be a positive divisor of the token axis size 6, got 4/,
    );
    expect(() => haloAttention(q, q, q, { blockSize: 3, haloSize: -1 })).toThrow(
      /haloAttention: haloSize\[0\] must be at least 0, got -1/,
    );
    expect(() => haloAttention(q, t([1, 6, 6, 1, 3]), q, { blockSize: 3, haloSize: 1 })).toThrow(
      /haloAttention: k must be headDim 2 like q/,
    );
  });

  it('modules: dim divisible by heads, no bias with causal, input shape', () => {
    expect(() => new NeighborhoodAttention2D(10, 3, { kernelSize: 3 })).toThrow(
      /NeighborhoodAttention2D: dim must be a positive multiple of numHeads = 3, got 10/,
    );
    expect(
      () => new NeighborhoodAttention2D(8, 2, { kernelSize: 3, isCausal: true, relPosBias: true }),
    ).toThrow(/NeighborhoodAttention2D: relPosBias must be false when isCausal is set/);
    const layer = new NeighborhoodAttention2D(8, 2, { kernelSize: 3, backend: 'cpu' });
    expect(() => layer.forward(t([1, 5, 5, 6]))).toThrow(
      /NeighborhoodAttention2D: x must be a 4-d tensor \[batch, ...tokens, 8\], got \[1, 5, 5, 6\]/,
    );
    layer.dispose();
  });
});
