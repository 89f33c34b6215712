import { Generator, noGrad } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { sampleTasks, toTokens } from '../src/data.js';
import { IclAttention } from '../src/model.js';
import type { HeadWeights } from '../src/patterns.js';

/** The model written out head by head and token by token, as the paper's formula reads. */
function referenceForward(heads: HeadWeights[], z: number[][][], zq: number[][]): number[] {
  const D = zq[0].length;
  const rowTimes = (row: number[], m: number[][]) =>
    m[0].map((_, j) => row.reduce((s, v, i) => s + v * m[i][j], 0));
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  return zq.map((query, b) =>
    heads.reduce((total, h) => {
      const q = rowTimes(query, h.q);
      const logits = z[b].map((tok) => dot(q, rowTimes(tok, h.k)) / Math.sqrt(D));
      const top = Math.max(...logits);
      const w = logits.map((s) => Math.exp(s - top));
      const norm = w.reduce((s, v) => s + v, 0);
      // concat of head outputs, then the output map: head h's value vector times its slice of W_O.
      const headOut = z[b].reduce((acc, tok, l) => acc + (w[l] / norm) * dot(rowTimes(tok, h.v), h.o), 0);
      return total + headOut;
    }, 0),
  );
}

describe('IclAttention', () => {
  it('computes the per-head softmax attention of the paper', () => {
    const cfg = { d: 3, L: 7, noiseVar: 0.1 };
    const model = new IclAttention({ d: cfg.d, heads: 3, generator: new Generator(4) });
    const { z, zq, yq } = toTokens(sampleTasks(cfg, 5, new Generator(9)));
    const got = noGrad(() => model.forward(z, zq));
    expect(got.shape).toEqual([5]);
    const want = referenceForward(
      model.headWeights(),
      z.toArray() as number[][][],
      zq.toArray() as number[][],
    );
    const values = Array.from(got.dataSync());
    for (let b = 0; b < 5; b++) expect(values[b]).toBeCloseTo(want[b], 5);
    for (const t of [got, z, zq, yq]) t.dispose();
    model.dispose();
  });

  it('initialises like nn.Linear: U(±1/√fan_in), from the generator', () => {
    const a = new IclAttention({ d: 5, heads: 2, generator: new Generator(1) });
    const b = new IclAttention({ d: 5, heads: 2, generator: new Generator(1) });
    expect(a.parameters().map((p) => p.shape)).toEqual([
      [2, 6, 6],
      [2, 6, 6],
      [2, 6, 6],
      [2, 6, 1],
    ]);
    expect(Array.from(a.wq.dataSync())).toEqual(Array.from(b.wq.dataSync()));
    const maxAbs = (t: { dataSync(): ArrayLike<number> }) => Math.max(...Array.from(t.dataSync(), Math.abs));
    expect(maxAbs(a.wk)).toBeLessThanOrEqual(1 / Math.sqrt(6));
    expect(maxAbs(a.wk)).toBeGreaterThan(0.8 / Math.sqrt(6));
    expect(maxAbs(a.wo)).toBeLessThanOrEqual(1 / Math.sqrt(12));
    a.dispose();
    b.dispose();
  });
});
