import { matmul, randomNormal, sum, type Tensor, tensor, transpose } from '@attnkit/core';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { NeighborhoodAttention1D, NeighborhoodAttention2D, NeighborhoodAttention3D } from '../src/index.js';
import { denseReference } from './reference.js';

/** The layer computed by hand: qkv projection split [.., 3, heads, headDim], the dense NA oracle, projection. */
function byHand(layer: NeighborhoodAttention2D, x: Tensor): Float64Array {
  const [B, H, W, C] = x.shape;
  const heads = layer.numHeads;
  const hd = C / heads;
  const qkv = matmul(x, transpose(layer.qkv.weight)).add(layer.qkv.bias!).dataSync();
  const part = (i: number) => {
    const out = new Float32Array(B * H * W * C);
    for (let t = 0; t < B * H * W; t++)
      for (let c = 0; c < C; c++) out[t * C + c] = qkv[t * 3 * C + i * C + c];
    return tensor(out, { shape: [B, H, W, heads, hd], backend: 'cpu' });
  };
  const win = {
    kernelSize: layer.kernelSize,
    dilation: layer.dilation,
    stride: layer.stride,
    causal: layer.isCausal,
  };
  const attn = denseReference(part(0), part(1), part(2), win, { rpb: layer.rpb ?? undefined });
  const a = tensor(Float32Array.from(attn.out), { shape: [B, H, W, C], backend: 'cpu' });
  return Float64Array.from(matmul(a, transpose(layer.proj.weight)).add(layer.proj.bias!).dataSync());
}

describe('NeighborhoodAttention modules', () => {
  it("has NATTEN's parameter names and shapes", () => {
    const layer = new NeighborhoodAttention2D(8, 2, { kernelSize: [3, 5], relPosBias: true, backend: 'cpu' });
    const shapes = Object.fromEntries(layer.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes).toEqual({
      'qkv.weight': [24, 8],
      'qkv.bias': [24],
      rpb: [2, 5, 9],
      'proj.weight': [8, 8],
      'proj.bias': [8],
    });
    layer.dispose();
  });

  it('computes projection, neighborhood attention with the bias, and projection back', () => {
    const layer = new NeighborhoodAttention2D(8, 2, {
      kernelSize: 3,
      dilation: [1, 2],
      relPosBias: true,
      backend: 'cpu',
    });
    const x = randomNormal([2, 5, 6, 8], { seed: 3, backend: 'cpu' });
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 5, 6, 8]);
    expect(compareArrays(Float64Array.from(y.dataSync()), byHand(layer, x), toleranceFor('cpu')).bad).toBe(0);
    layer.dispose();
  });

  it('pads inputs smaller than the window and crops back, as NATTEN does', () => {
    const layer = new NeighborhoodAttention2D(4, 1, { kernelSize: 5, backend: 'cpu' });
    const x = randomNormal([1, 3, 6, 4], { seed: 4, backend: 'cpu' });
    const y = layer.forward(x);
    expect(y.shape).toEqual([1, 3, 6, 4]);
    // The zero rows appended below take part as keys: the result differs from a window clipped to 3 rows.
    const padded = tensor(
      Float32Array.from({ length: 5 * 6 * 4 }, (_, i) => (i < 3 * 6 * 4 ? x.dataSync()[i] : 0)),
      { shape: [1, 5, 6, 4], backend: 'cpu' },
    );
    const full = layer
      .forward(padded)
      .dataSync()
      .slice(0, 3 * 6 * 4);
    expect(
      compareArrays(Float64Array.from(y.dataSync()), Float64Array.from(full), toleranceFor('cpu')).bad,
    ).toBe(0);
    layer.dispose();
  });

  it('loads a state dict with NATTEN names (strict) and trains: gradients reach qkv, rpb and proj', () => {
    const a = new NeighborhoodAttention1D(4, 2, { kernelSize: 3, relPosBias: true, backend: 'cpu' });
    const b = new NeighborhoodAttention1D(4, 2, { kernelSize: 3, relPosBias: true, backend: 'cpu' });
    b.loadStateDict(a.stateDict());
    const x = randomNormal([1, 7, 4], { seed: 5, backend: 'cpu' });
    expect([...b.forward(x).dataSync()]).toEqual([...a.forward(x).dataSync()]);
    sum(b.forward(x).mul(b.forward(x))).backward();
    for (const [name, p] of b.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(Math.max(...[...p.grad!.dataSync()].map(Math.abs)), name).toBeGreaterThan(0);
    }
    a.dispose();
    b.dispose();
  });

  it('3-D causal layer runs on [batch, depth, height, width, dim]', () => {
    const layer = new NeighborhoodAttention3D(4, 2, {
      kernelSize: 2,
      isCausal: [true, false, false],
      backend: 'cpu',
    });
    expect(layer.forward(randomNormal([1, 3, 3, 3, 4], { seed: 6, backend: 'cpu' })).shape).toEqual([
      1, 3, 3, 3, 4,
    ]);
    expect(layer.toString()).toMatch(/is_causal=\(True, False, False\)/);
    layer.dispose();
  });
});
