import { describe, expect, it } from 'vitest';
import type { Baselines } from '../src/predictors.js';
import { baselineReport, resultReport } from '../src/report.js';

const base: Baselines = {
  gd: { name: 'one-step GD', param: 'η = 0.860', loss: 0.25 },
  gdCentred: { name: 'one-step GD, centred (debiased)', param: 'η = 0.880', loss: 0.26 },
  ridgeBayes: { name: 'ridge, Bayes λ = σ²·d', param: 'λ = 0.500', loss: 0.125 },
  ridgeTuned: { name: 'ridge, λ tuned', param: 'λ = 0.464', loss: 0.126 },
};

describe('result report', () => {
  it('divides by the better GD variant and checks the 25% target', () => {
    const ok = resultReport(0.3, base);
    expect(ok.met).toBe(true);
    expect(ok.text).toMatch(/÷ one-step GD \(η = 0.860\), the better GD\s+1.200 {2}target ≤ 1.25: met/);
    expect(ok.text).toContain('÷ ridge, Bayes λ = σ²·d');
    expect(ok.text).toContain('2.400');
    const missed = resultReport(0.32, { ...base, gd: { ...base.gd, loss: 0.27 } });
    // The centred variant (0.26) is now the better one: 0.32 / 0.26 = 1.231, still met; 0.33 / 0.26 is not.
    expect(missed.text).toMatch(/centred \(debiased\) \(η = 0.880\), the better GD\s+1.231/);
    expect(resultReport(0.33, { ...base, gd: { ...base.gd, loss: 0.27 } }).met).toBe(false);
  });

  it('lists every baseline with its parameter', () => {
    const lines = baselineReport(base).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/ridge, Bayes λ = σ²·d\s+λ = 0.500\s+0.1250$/);
  });
});
