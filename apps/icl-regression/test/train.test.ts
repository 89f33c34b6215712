import { Generator, memory } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { PAPER_TASK, sampleTasks } from '../src/data.js';
import { evaluate, train } from '../src/train.js';

function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

describe('training', () => {
  it('lowers the in-context loss within a few hundred steps and frees every temporary', () => {
    const test = sampleTasks(PAPER_TASK, 2000, new Generator(77));
    const before = memory('cpu');
    const seen: number[] = [];
    const result = train({
      task: PAPER_TASK,
      heads: 2,
      steps: 300,
      batch: 64,
      lr: 0.01,
      seed: 1,
      checkpoints: 3,
      test,
      onStep: (step, _loss, lr) => {
        seen.push(step);
        expect(lr).toBeGreaterThanOrEqual(0);
        expect(lr).toBeLessThanOrEqual(0.01);
      },
    });
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(result.curve.map((c) => c.step)).toEqual([100, 200, 300]);
    // An untrained model predicts ≈ 0, so its loss is about E[y_q²] = 1.1; 300 steps of 64 tasks get
    // well below that (the full run goes on to ≈ 0.24).
    const first = meanOf(result.losses.subarray(0, 30));
    const last = meanOf(result.losses.subarray(270));
    expect(first).toBeGreaterThan(0.8);
    expect(last).toBeLessThan(0.7 * first);
    const final = evaluate(result.model, test);
    expect(final).toBeCloseTo(result.curve[2].testLoss, 6);
    expect(final).toBeLessThan(0.6);
    result.model.dispose();
    expect(memory('cpu')).toEqual(before);
  });
});
