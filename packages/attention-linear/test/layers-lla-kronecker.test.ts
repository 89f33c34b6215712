import { reshape, sin, sum, tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  KroneckerAttentionLayer,
  kroneckerAttention,
  LocalLinearAttention,
  llaAttention,
} from '../src/index.js';
import { expectClose, rand } from './helpers.js';

const TOL = { atol: 1e-10, rtol: 1e-9 };

describe('LocalLinearAttention layer', () => {
  it('has q_proj/k_proj/v_proj/o_proj without bias and equals the functional form per head', () => {
    const layer = new LocalLinearAttention(8, 2, {
      dtype: 'float64',
      backend: 'cpu',
      attention: { lambda: 3 },
    });
    expect([...layer.stateDict().keys()].sort()).toEqual(
      ['k_proj.weight', 'o_proj.weight', 'q_proj.weight', 'v_proj.weight'].sort(),
    );
    const x = rand([2, 7, 8], 1);
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 7, 8]);
    const heads = (l: typeof layer.q_proj) => reshape(l.forward(x), [2, 7, 2, 4]);
    const o = llaAttention(heads(layer.q_proj), heads(layer.k_proj), heads(layer.v_proj), { lambda: 3 });
    expectClose(y.dataSync(), layer.o_proj.forward(reshape(o, [2, 7, 8])).dataSync(), TOL);
  });

  it('is causal by default: earlier outputs ignore later tokens', () => {
    const layer = new LocalLinearAttention(4, 1, { dtype: 'float64', backend: 'cpu' });
    const x = rand([1, 6, 4], 2);
    const changed = x.clone();
    const data = changed.dataSync() as Float64Array;
    for (let i = 4 * 4; i < 24; i++) data[i] += 1; // tokens 4 and 5
    const a = layer.forward(x).dataSync();
    const b = layer.forward(tensor(data, { shape: [1, 6, 4], dtype: 'float64', backend: 'cpu' })).dataSync();
    expectClose(a.slice(0, 16), b.slice(0, 16), TOL);
    expect(Math.abs(a[20] - b[20])).toBeGreaterThan(1e-6);
  });

  it('rejects a width the heads do not divide, and a wrong input', () => {
    expect(() => new LocalLinearAttention(6, 4)).toThrow(
      /LocalLinearAttention: numHeads must be a divisor of dim 6, got 4/,
    );
    expect(() => new LocalLinearAttention(4, 1, { backend: 'cpu' }).forward(rand([1, 3, 5], 1))).toThrow(
      /LocalLinearAttention: x must be \[batch, n, 4\], got \[1,3,5\]/,
    );
  });
});

describe('KroneckerAttentionLayer', () => {
  it('has two key and two value projections and equals the functional form with scale 1/headDim', () => {
    const layer = new KroneckerAttentionLayer(6, 2, { dtype: 'float64', backend: 'cpu' });
    const names = [...layer.stateDict().keys()].filter((k) => k.endsWith('.weight')).sort();
    expect(names).toEqual([
      'k1_proj.weight',
      'k2_proj.weight',
      'o_proj.weight',
      'q_proj.weight',
      'v1_proj.weight',
      'v2_proj.weight',
    ]);
    const x = rand([1, 5, 6], 3);
    const heads = (l: typeof layer.q_proj) => reshape(l.forward(x), [1, 5, 2, 3]);
    const o = kroneckerAttention(
      heads(layer.q_proj),
      heads(layer.k1_proj),
      heads(layer.k2_proj),
      heads(layer.v1_proj),
      heads(layer.v2_proj),
      { scale: 1 / 3 },
    );
    expectClose(layer.forward(x).dataSync(), layer.o_proj.forward(reshape(o, [1, 5, 6])).dataSync(), TOL);
  });

  it('passes gradients to every projection', () => {
    const layer = new KroneckerAttentionLayer(4, 1, { dtype: 'float64', backend: 'cpu' });
    layer.setRequiresGrad(true);
    // sin makes the loss depend on every output value unevenly (a plain sum can cancel some gradients).
    sum(sin(layer.forward(rand([1, 4, 4], 4)))).backward();
    for (const [name, p] of layer.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(Math.max(...[...p.grad!.dataSync()].map(Math.abs)), name).toBeGreaterThan(0);
    }
  });
});
