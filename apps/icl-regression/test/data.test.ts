import { Generator } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { PAPER_TASK, sampleTasks, toTokens } from '../src/data.js';

function meanVar(xs: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - mean) ** 2;
  return { mean, variance: v / xs.length };
}

describe('sampleTasks', () => {
  const cfg = PAPER_TASK;
  const B = 3000;
  const batch = sampleTasks(cfg, B, new Generator(7));

  it('has the documented sizes and is reproducible from the seed', () => {
    expect(batch.x.length).toBe(B * cfg.L * cfg.d);
    expect(batch.y.length).toBe(B * cfg.L);
    expect(batch.xq.length).toBe(B * cfg.d);
    expect(batch.yq.length).toBe(B);
    expect(batch.beta.length).toBe(B * cfg.d);
    // Tasks are drawn one after another, so a smaller batch from the same seed is a prefix.
    const again = sampleTasks(cfg, 5, new Generator(7));
    expect(again.x).toEqual(batch.x.subarray(0, again.x.length));
    expect(again.yq).toEqual(batch.yq.subarray(0, 5));
    expect(sampleTasks(cfg, 5, new Generator(8)).x[0]).not.toBe(batch.x[0]);
  });

  it('draws x ~ N(0, I), β ~ N(0, I/d) and labels with noise variance σ²', () => {
    // 600k x-coordinates: the standard error of the mean is ~0.0013 and of the variance ~0.002.
    const x = meanVar(batch.x);
    expect(Math.abs(x.mean)).toBeLessThan(0.01);
    expect(x.variance).toBeCloseTo(1, 1);
    const beta = meanVar(batch.beta);
    expect(Math.abs(beta.mean)).toBeLessThan(0.02);
    expect(Math.abs(beta.variance - 1 / cfg.d) / (1 / cfg.d)).toBeLessThan(0.05);
    // The residual y − βᵀx isolates the noise, in the context and at the query.
    const residual = (xs: Float64Array, ys: Float64Array, perTask: number) =>
      Array.from(ys, (y, t) => {
        const b = Math.floor(t / perTask);
        let dot = 0;
        for (let i = 0; i < cfg.d; i++) dot += xs[t * cfg.d + i] * batch.beta[b * cfg.d + i];
        return y - dot;
      });
    const noise = meanVar(residual(batch.x, batch.y, cfg.L));
    expect(Math.abs(noise.mean)).toBeLessThan(0.005);
    expect(Math.abs(noise.variance - cfg.noiseVar) / cfg.noiseVar).toBeLessThan(0.03);
    const queryNoise = meanVar(residual(batch.xq, batch.yq, 1));
    expect(Math.abs(queryNoise.variance - cfg.noiseVar) / cfg.noiseVar).toBeLessThan(0.1);
    // E[y²] = E|β|² + σ² = 1.1 whatever d is.
    expect(meanVar(batch.y).variance).toBeCloseTo(1 + cfg.noiseVar, 1);
  });

  it('packs tokens as z = [x; y] and z_q = [x_q; 0]', () => {
    const small = sampleTasks({ d: 2, L: 3, noiseVar: 0.1 }, 2, new Generator(1));
    const { z, zq, yq } = toTokens(small);
    expect(z.shape).toEqual([2, 3, 3]);
    expect(zq.shape).toEqual([2, 3]);
    const zs = z.toArray() as number[][][];
    const qs = zq.toArray() as number[][];
    for (let b = 0; b < 2; b++) {
      for (let l = 0; l < 3; l++) {
        const t = b * 3 + l;
        expect(zs[b][l][0]).toBeCloseTo(small.x[t * 2], 6);
        expect(zs[b][l][1]).toBeCloseTo(small.x[t * 2 + 1], 6);
        expect(zs[b][l][2]).toBeCloseTo(small.y[t], 6);
      }
      expect(qs[b][0]).toBeCloseTo(small.xq[b * 2], 6);
      expect(qs[b][2]).toBe(0);
    }
    expect(yq.toArray()).toEqual(Array.from(Float32Array.from(small.yq)));
    for (const t of [z, zq, yq]) t.dispose();
  });
});
