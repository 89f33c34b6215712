import { describe, expect, it } from 'vitest';
import {
  CosineAnnealingLR,
  cosineSchedule,
  LambdaLR,
  LinearLR,
  SequentialLR,
  SGD,
  StepLR,
  tensor,
  WarmupCosineLR,
} from '../../src/index.js';

const sgd = (lr: number, lr2?: number) => {
  const a = tensor([1]).setRequiresGrad();
  const b = tensor([1]).setRequiresGrad();
  return lr2 === undefined
    ? new SGD([a], { lr })
    : new SGD([{ params: [a] }, { params: [b], lr: lr2 }], { lr });
};

/** The first group's rate at steps 0..n-1. */
function trace(s: { step(): void; getLr(): number[] }, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(s.getLr()[0]);
    s.step();
  }
  return out;
}

const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));

describe('schedules', () => {
  it('CosineAnnealingLR follows the closed form, including past tMax', () => {
    const opt = sgd(1);
    const s = new CosineAnnealingLR(opt, { tMax: 4 });
    const h = (1 + Math.SQRT1_2) / 2;
    close(trace(s, 7), [1, h, 0.5, 1 - h, 0, 1 - h, 0.5]);
    expect(opt.paramGroups[0].lr).toBeCloseTo(h, 12); // step 7
  });

  it('CosineAnnealingLR with etaMin scales each group from its own base rate', () => {
    const opt = sgd(0.1, 0.2);
    const s = new CosineAnnealingLR(opt, { tMax: 10, etaMin: 0.01 });
    for (let i = 0; i < 3; i++) s.step();
    const f = (1 + Math.cos((Math.PI * 3) / 10)) / 2;
    close(s.getLr(), [0.01 + 0.09 * f, 0.01 + 0.19 * f]);
    expect(s.baseLrs).toEqual([0.1, 0.2]);
  });

  it('LinearLR ramps then holds', () => {
    const s = new LinearLR(sgd(0.1), { startFactor: 0.25, totalIters: 4 });
    close(trace(s, 6), [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1]);
  });

  it('StepLR and LambdaLR', () => {
    close(trace(new StepLR(sgd(1), { stepSize: 2, gamma: 0.5 }), 5), [1, 1, 0.5, 0.5, 0.25]);
    close(trace(new LambdaLR(sgd(2), (t) => 1 / (t + 1)), 3), [2, 1, 2 / 3]);
  });

  it('SequentialLR: warm-up then cosine, each from its own step 0', () => {
    const opt = sgd(1);
    const warm = new LinearLR(opt, { startFactor: 0.5, totalIters: 2 });
    const cos = new CosineAnnealingLR(opt, { tMax: 2 });
    const s = new SequentialLR(opt, [warm, cos], [2]);
    close(trace(s, 6), [0.5, 0.75, 1, 0.5, 0, 0.5]);
    expect(() => new SequentialLR(opt, [warm, cos], [])).toThrow(
      /SequentialLR: milestones must be 1 milestones/,
    );
    expect(() => new SequentialLR(opt, [warm, new LinearLR(sgd(1))], [2])).toThrow(
      /schedulers\[1\] must be built on the same optimizer/,
    );
  });

  it('cosineSchedule: warm-up, cosine, floor', () => {
    const o = { totalSteps: 10, warmupSteps: 2, minLr: 0.1 };
    close(
      [0, 1, 2, 6, 10, 12].map((t) => cosineSchedule(t, o)),
      [0, 0.5, 1, 0.55, 0.1, 0.1],
    );
    expect(cosineSchedule(4, { totalSteps: 8, baseLr: 3e-4 })).toBeCloseTo(1.5e-4, 15);
    expect(() => cosineSchedule(0, { totalSteps: 4, warmupSteps: 5 })).toThrow(
      /cosineSchedule: warmupSteps must be <= totalSteps \(4\), got 5/,
    );
  });

  it('WarmupCosineLR matches cosineSchedule per group', () => {
    const opt = sgd(0.5, 1);
    const s = new WarmupCosineLR(opt, {
      totalSteps: 6,
      warmupSteps: 2,
      etaMin: 0.05,
      warmupStartFactor: 0.1,
    });
    for (let t = 0; t < 8; t++) {
      const want = [0.5, 1].map((b) =>
        cosineSchedule(t, { totalSteps: 6, warmupSteps: 2, baseLr: b, minLr: 0.05, warmupStartLr: 0.1 * b }),
      );
      close(s.getLr(), want);
      s.step();
    }
  });

  it('state dict resumes the schedule', () => {
    const a = new CosineAnnealingLR(sgd(1), { tMax: 5 });
    for (let i = 0; i < 3; i++) a.step();
    const b = new CosineAnnealingLR(sgd(1), { tMax: 5 });
    b.loadStateDict(a.stateDict());
    expect(b.getLr()).toEqual(a.getLr());
    expect(() => new CosineAnnealingLR(sgd(1), { tMax: 0 })).toThrow(
      /CosineAnnealingLR: tMax must be an integer >= 1, got 0/,
    );
    expect(() => new LinearLR(sgd(1), { startFactor: 0 })).toThrow(
      /LinearLR: startFactor must be a number in \(0, 1\]/,
    );
  });
});
