import { fmt, formatMatrix, formatTable } from './format.js';
import { ACTIVE_FRACTION, PATTERN_LIMITS, type PatternSummary } from './patterns.js';
import { type BaselineResult, type Baselines, bestGd } from './predictors.js';

/** The reproduction's target: the model's test loss within 25% of the best tuned one-step GD predictor. */
export const TARGET_RATIO = 1.25;

/** The baselines as a table: name, tuned parameter, test loss. */
export function baselineReport(b: Baselines): string {
  return formatTable(Object.values(b).map((r: BaselineResult) => [r.name, r.param, r.loss.toFixed(4)]));
}

/** The test loss at each checkpoint. */
export function curveReport(curve: { step: number; testLoss: number }[]): string {
  return formatTable([['step', 'test loss'], ...curve.map((c) => [String(c.step), c.testLoss.toFixed(4)])]);
}

/** Loss ratios against the better one-step GD and Bayes ridge, and whether the target is met. */
export function resultReport(modelLoss: number, b: Baselines): { text: string; met: boolean } {
  const gd = bestGd(b);
  const ratio = modelLoss / gd.loss;
  const met = ratio <= TARGET_RATIO;
  const text = formatTable([
    ['ICL test loss of the model', modelLoss.toFixed(4), ''],
    [
      `÷ ${gd.name} (${gd.param}), the better GD`,
      ratio.toFixed(3),
      `target ≤ ${TARGET_RATIO}: ${met ? 'met' : 'NOT met'}`,
    ],
    [`÷ ${b.ridgeBayes.name}`, (modelLoss / b.ridgeBayes.loss).toFixed(3), ''],
  ]);
  return { text, met };
}

function check(value: number, limit: number, judged = true): string {
  return `${value.toFixed(3)} ${judged ? (value < limit ? '✓' : '✗') : '-'}`;
}

/** The learned matrices of every head and the spec's statistics, each marked against its limit. */
export function patternReport(s: PatternSummary): string {
  const lines: string[] = [];
  s.heads.forEach((h, i) => {
    const note = h.active ? '' : ` (inactive: |μ| < ${ACTIVE_FRACTION}·max |μ|, not judged)`;
    lines.push(`  head ${i}: ω = ${fmt(h.omega)}, μ = OV[d] = ${fmt(h.mu)}${note}`);
    lines.push('    W_QK = W_Q·W_Kᵀ (rows: query coordinate x₁..x_d, y; columns: key coordinate)');
    lines.push(formatMatrix(h.qk, 3, '      '));
    lines.push('    OV = W_V·W_O, as a row (coordinates x₁..x_d, y)');
    lines.push(formatMatrix([h.ov], 3, '      '));
  });
  const L = PATTERN_LIMITS;
  const row = (name: string, limit: number, pick: (h: PatternSummary['heads'][number]) => number) => [
    name,
    ...s.heads.map((h) => check(pick(h), limit, h.active)),
    `< ${limit}`,
  ];
  lines.push('');
  lines.push(
    formatTable([
      ['statistic', ...s.heads.map((_, i) => `head ${i}`), 'limit'],
      row('off-diagonal / diagonal of W_QK[:d,:d]', L.offDiagRatio, (h) => h.offDiagRatio),
      row('diagonal CV of W_QK[:d,:d]', L.diagCv, (h) => h.diagCv),
      row('max |W_QK[i<d, d]| / |diagonal|', L.lastColRatio, (h) => h.lastColRatio),
      row('max |OV[i<d]| / |OV[d]|', L.ovLeakRatio, (h) => h.ovLeakRatio),
    ]),
  );
  lines.push(
    formatTable([
      [
        'zero-sum: |Σ_h OV_h[d]| / max_h |OV_h[d]|',
        check(s.zeroSumRatio, L.zeroSumRatio),
        `< ${L.zeroSumRatio}`,
      ],
      ['active heads with μ > 0 / μ < 0', `${s.positive} / ${s.negative}`, ''],
      ['Σ_h ω_h·μ_h / √(d+1) (first-order GD step)', s.smallOmegaEta.toFixed(3), ''],
    ]),
  );
  return lines.join('\n');
}

/** Whether every active head and the zero-sum statistic are within the spec's limits. */
export function patternsHold(s: PatternSummary): boolean {
  const L = PATTERN_LIMITS;
  return (
    s.zeroSumRatio < L.zeroSumRatio &&
    s.heads.every(
      (h) =>
        !h.active ||
        (h.offDiagRatio < L.offDiagRatio &&
          h.diagCv < L.diagCv &&
          h.lastColRatio < L.lastColRatio &&
          h.ovLeakRatio < L.ovLeakRatio),
    )
  );
}
