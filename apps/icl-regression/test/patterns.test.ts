import { describe, expect, it } from 'vitest';
import { type HeadWeights, headPattern, summarize } from '../src/patterns.js';
import { patternReport, patternsHold } from '../src/report.js';

const d = 3;
const D = d + 1;

function zeros(): number[][] {
  return Array.from({ length: D }, () => new Array(D).fill(0));
}

/**
 * The paper's ideal head: W_Q = ω·I on the x-block (zero on the label coordinate), W_K = I, and a value
 * path that reads only the label: W_V maps y to the first value coordinate, which W_O scales by μ.
 */
function idealHead(omega: number, mu: number): HeadWeights {
  const q = zeros();
  const k = zeros();
  const v = zeros();
  for (let i = 0; i < d; i++) q[i][i] = omega;
  for (let i = 0; i < D; i++) k[i][i] = 1;
  v[d][0] = 1;
  const o = new Array(D).fill(0);
  o[0] = mu;
  return { q, k, v, o };
}

describe('pattern statistics', () => {
  it('are zero on the ideal opposite-sign pair', () => {
    const s = summarize([idealHead(0.5, 2), idealHead(-0.5, -2)]);
    for (const h of s.heads) {
      expect(h.offDiagRatio).toBe(0);
      expect(h.diagCv).toBe(0);
      expect(h.lastColRatio).toBe(0);
      expect(h.ovLeakRatio).toBe(0);
      expect(h.qk[d].every((x) => x === 0)).toBe(true);
    }
    expect(s.heads.map((h) => [h.omega, h.mu])).toEqual([
      [0.5, 2],
      [-0.5, -2],
    ]);
    expect(s.heads[0].ov).toEqual([0, 0, 0, 2]);
    expect(s.zeroSumRatio).toBe(0);
    expect([s.positive, s.negative]).toEqual([1, 1]);
    // Both heads add ω·μ = 1 to the step: η ≈ 2/√(d+1) = 1.
    expect(s.smallOmegaEta).toBeCloseTo(2 / Math.sqrt(D), 12);
    expect(patternsHold(s)).toBe(true);
  });

  it('measure each departure from the ideal', () => {
    const h = idealHead(1, 2);
    // Diagonal (1.2, 0.8, 1.0): mean 1, std √(0.08/3).
    h.q[0][0] = 1.2;
    h.q[1][1] = 0.8;
    // One off-diagonal entry of 0.6 among 6: mean |off| = 0.1 against mean |diag| = 1.
    h.q[0][1] = 0.6;
    // The key's label coordinate enters the logit of query coordinate 2 with weight 0.3.
    h.k[d][2] = 0.3;
    // The value path also reads x₁: OV[1] = 0.5·μ.
    h.v[1][0] = 0.5;
    const p = headPattern(h);
    expect(p.omega).toBeCloseTo(1, 12);
    expect(p.diagCv).toBeCloseTo(Math.sqrt(0.08 / 3), 12);
    expect(p.offDiagRatio).toBeCloseTo(0.1, 12);
    expect(p.lastColRatio).toBeCloseTo(0.3, 12);
    expect(p.ovLeakRatio).toBeCloseTo(0.5, 12);
    expect(patternsHold(summarize([h, idealHead(-1, -2)]))).toBe(false);
  });

  it('see heads that do not cancel', () => {
    const s = summarize([idealHead(0.5, 2), idealHead(0.5, 1)]);
    expect(s.zeroSumRatio).toBeCloseTo(1.5, 12);
    expect([s.positive, s.negative]).toEqual([2, 0]);
    expect(patternsHold(s)).toBe(false);
  });

  it('leave out heads whose output weight is negligible, and only those', () => {
    const messy = (mu: number) => {
      const h = idealHead(0.3, mu);
      h.q[0][1] = 0.5;
      h.k[d][0] = 1;
      h.v[0][0] = 2;
      return h;
    };
    // |μ| = 0.1 < 0.1·2: the head adds nothing, its random-looking W_QK is not judged.
    const quiet = summarize([idealHead(0.5, 2), idealHead(-0.5, -2.1), messy(0.1)]);
    expect(quiet.heads.map((h) => h.active)).toEqual([true, true, false]);
    expect(quiet.heads[2].offDiagRatio).toBeGreaterThan(0.1);
    expect([quiet.positive, quiet.negative]).toEqual([1, 1]);
    expect(quiet.zeroSumRatio).toBeCloseTo(0, 12);
    expect(patternsHold(quiet)).toBe(true);
    expect(patternReport(quiet)).toContain('head 2: ω =  0.300, μ = OV[d] =  0.100 (inactive');
    // |μ| = 0.5 ≥ 0.1·2.5: the same head now counts, and fails.
    const loud = summarize([idealHead(0.5, 2), idealHead(-0.5, -2.5), messy(0.5)]);
    expect(loud.heads[2].active).toBe(true);
    expect(patternsHold(loud)).toBe(false);
  });

  it('print every head and mark the limits', () => {
    const text = patternReport(summarize([idealHead(0.5, 2), idealHead(-0.5, -2)]));
    expect(text).toContain('head 1: ω = -0.500, μ = OV[d] = -2.000');
    expect(text).toContain('0.000 ✓');
    expect(text).not.toContain('✗');
  });
});
