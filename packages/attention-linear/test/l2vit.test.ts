import { tensor } from '@attnkit/core';
import { gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { enhancedLinearRef } from '../src/entries/references.js';
import { CPE, enhancedLinearAttention, L2ViTLinearAttention, LCM, LGABlock } from '../src/index.js';
import { expectClose, F64, rand } from './helpers.js';

const refOf = (q: ReturnType<typeof rand>, k: ReturnType<typeof rand>, v: ReturnType<typeof rand>) => ({
  q: q.dataSync(),
  k: k.dataSync(),
  v: v.dataSync(),
  batch: q.shape[0],
  n: q.shape[1],
  heads: q.shape[2],
  dk: q.shape[3],
  dv: v.shape[3],
});

describe("L2ViT's enhanced linear attention", () => {
  it('kv-first == qk-first with the same clamp, both when the clamp is active and when it is not', () => {
    for (const scale of [1, 30]) {
      const q = rand([1, 10, 2, 4], 1, { scale });
      const k = rand([1, 10, 2, 4], 2, { scale });
      const v = rand([1, 10, 2, 3], 3);
      expectClose(
        enhancedLinearAttention(q, k, v).dataSync(),
        enhancedLinearRef(
          refOf(q, k, v),
          Array.from({ length: 10 }, (_, i) => i),
        ),
        F64,
      );
    }
  });

  it('gradients: through the clamp (denominator < 100, no gradient to it) and past it; temperature tensor', () => {
    const small = [rand([1, 4, 1, 2], 4), rand([1, 4, 1, 2], 5), rand([1, 4, 1, 2], 6)];
    gradcheck((a, b, c) => enhancedLinearAttention(a, b, c), small);
    const big = [
      rand([1, 4, 1, 2], 7, { scale: 20 }),
      rand([1, 4, 1, 2], 8, { scale: 20 }),
      rand([1, 4, 1, 2], 9),
    ];
    const t = tensor([0.3], { dtype: 'float64', backend: 'cpu' });
    gradcheck(
      (a, b, c, tt) => enhancedLinearAttention(a, b, c, { temperature: tt, denomMin: 1 }),
      [...big, t],
    );
  });

  it('layer and LCM: parameter names as the released code, shapes, and errors', () => {
    const attn = new L2ViTLinearAttention(8, 2, { qkvBias: true, dtype: 'float64', backend: 'cpu' });
    expect([...attn.stateDict().keys()]).toEqual([
      'temperature',
      'qkv.weight',
      'qkv.bias',
      'proj.weight',
      'proj.bias',
    ]);
    expect(attn.temperature.shape).toEqual([2, 1, 1]);
    expect(attn.forward(rand([2, 6, 8], 10)).shape).toEqual([2, 6, 8]);
    const lcm = new LCM(4, { dtype: 'float64', backend: 'cpu' });
    expect([...lcm.stateDict().keys()]).toEqual([
      'conv1.weight',
      'conv1.bias',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
      'conv2.weight',
      'conv2.bias',
    ]);
    expect(lcm.conv1.weight.shape).toEqual([4, 1, 7, 7]);
    expect(lcm.forward(rand([2, 15, 4], 11), [3, 5]).shape).toEqual([2, 15, 4]);
    expect(() => lcm.forward(rand([2, 15, 4], 11), [4, 4])).toThrow(
      /LCM: x must be a tensor \[batch, 16, channels\]/,
    );
    expect(() =>
      enhancedLinearAttention(rand([1, 2, 2, 2], 1), rand([1, 2, 2, 2], 1), rand([1, 2, 2, 2], 1), {
        temperature: tensor([1, 2, 3]),
      }),
    ).toThrow(/enhancedLinearAttention: temperature must be a number or a tensor \[2\], got \[3\]/);
  });
});

describe('LGABlock', () => {
  it('has the L2ViT names, keeps the shape, and CPE adds a depthwise conv', () => {
    const block = new LGABlock(8, 2, { dtype: 'float64', backend: 'cpu' });
    const keys = [...block.stateDict().keys()];
    for (const k of [
      'cpe.0.proj.weight',
      'norm1.weight',
      'attn.temperature',
      'attn.qkv.bias',
      'norm2.bias',
      'mlp.fc1.weight',
      'norm3.weight',
      'local_mp.conv1.weight',
      'local_mp.bn.running_var',
    ]) {
      expect(keys).toContain(k);
    }
    block.eval();
    expect(block.forward(rand([2, 12, 8], 12), [3, 4]).shape).toEqual([2, 12, 8]);
    const cpe = new CPE(2, 3, { dtype: 'float64', backend: 'cpu' });
    cpe.proj.weight.assign(
      tensor(new Float64Array(18), { shape: [2, 1, 3, 3], dtype: 'float64', backend: 'cpu' }),
    );
    cpe.proj.bias!.assign(tensor([1, 2], { dtype: 'float64', backend: 'cpu' }));
    const x = rand([1, 4, 2], 13);
    const X = x.dataSync();
    expectClose(
      cpe.forward(x, [2, 2]).dataSync(),
      X.map((v, i) => v + (i % 2) + 1),
      F64,
    );
  });
});
