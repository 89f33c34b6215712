import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  distillationLoss,
  klDiv,
  l1Loss,
  logSoftmax,
  memory,
  mseLoss,
  randomNormal,
  randomUniform,
  smoothL1Loss,
  softmax,
  type Tensor,
  tensor,
  valueAndGrad,
} from '../../src/index.js';
import { gradcheck } from '../../src/testing/index.js';

const f64 = { dtype: 'float64' as const };
const int = (v: number[], shape?: number[]) => tensor(v, { dtype: 'int32', shape });

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, digits = 10): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], digits);
}

/** log softmax of each row of a [N, C] array. */
function logSoftmaxRows(rows: number[][]): number[][] {
  return rows.map((r) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return r.map((v) => v - lse);
  });
}

/**
 * torch's documented cross-entropy on [N, C] rows: l_n = -Σ_c w_c q_nc log p_nc with q the (smoothed) one-hot
 * target; 'mean' divides by Σ_n w_{y_n} over the positions not ignored.
 */
function ceReference(
  rows: number[][],
  target: number[],
  { weight, ignoreIndex = -100, eps = 0 }: { weight?: number[]; ignoreIndex?: number; eps?: number },
): { none: number[]; sum: number; mean: number } {
  const c = rows[0].length;
  const w = weight ?? rows[0].map(() => 1);
  const lp = logSoftmaxRows(rows);
  let denom = 0;
  const none = target.map((t, n) => {
    if (t === ignoreIndex) return 0;
    denom += w[t];
    let l = 0;
    for (let k = 0; k < c; k++) l -= w[k] * ((k === t ? 1 - eps : 0) + eps / c) * lp[n][k];
    return l;
  });
  const sum = none.reduce((a, v) => a + v, 0);
  return { none, sum, mean: sum / denom };
}

const rowsOf = (t: Tensor) => t.toArray() as number[][];

describe('crossEntropy', () => {
  it('hand values', () => {
    expect(crossEntropy(tensor([[0, 0]]), int([0])).item()).toBeCloseTo(Math.LN2, 6);
    // log(e + e² + e³) - 3
    expect(crossEntropy(tensor([[1, 2, 3]], f64), int([2])).item()).toBeCloseTo(0.4076059644443804, 14);
    // Unbatched: a [C] row and a 0-d target.
    expect(crossEntropy(tensor([1, 2, 3], f64), int([2], []), { reduction: 'none' }).shape).toEqual([]);
  });

  const logits = randomNormal([5, 4], { seed: 1, ...f64 });
  const all = [3, 0, 2, 1, 3];
  const someIgnored = [3, 0, -100, 1, 3];
  const weight = [0.5, 2, 1, 3];

  it.each([
    { name: 'plain', target: all, opts: {} },
    { name: 'class weights', target: all, opts: { weight } },
    { name: 'ignored positions', target: someIgnored, opts: {} },
    { name: 'label smoothing', target: all, opts: { eps: 0.2 } },
    { name: 'weights + smoothing + ignore', target: someIgnored, opts: { weight, eps: 0.1 } },
  ])('matches torch’s formula: $name', ({ target, opts }) => {
    const ref = ceReference(rowsOf(logits), target, opts);
    const o = { weight: opts.weight ? tensor(opts.weight, f64) : undefined, labelSmoothing: opts.eps ?? 0 };
    const ti = int(target);
    expectClose(crossEntropy(logits, ti, { ...o, reduction: 'none' }).dataSync(), ref.none);
    expect(crossEntropy(logits, ti, { ...o, reduction: 'sum' }).item()).toBeCloseTo(ref.sum, 10);
    expect(crossEntropy(logits, ti, o).item()).toBeCloseTo(ref.mean, 10);
    gradcheck((x) => crossEntropy(x, ti, o), [logits]);
  });

  it('weighted mean divides by the total weight of the targets (not N)', () => {
    // Two samples with equal logits: per-sample loss ln 2 each, weights 1 and 3.
    const x = tensor(
      [
        [0, 0],
        [0, 0],
      ],
      f64,
    );
    const l = crossEntropy(x, int([0, 1]), { weight: tensor([1, 3], f64) });
    expect(l.item()).toBeCloseTo((1 * Math.LN2 + 3 * Math.LN2) / 4, 14);
    // Everything ignored: 0 / 0, as torch.
    expect(Number.isNaN(crossEntropy(x, int([-100, -100])).item())).toBe(true);
  });

  it('spatial logits [N, C, d1, d2] with a custom ignore index', () => {
    const x = randomNormal([2, 3, 2, 2], { seed: 2, ...f64 });
    const t = int([0, 2, 1, 7, 2, 2, 0, 1], [2, 2, 2]);
    // The same as moving classes last and flattening positions.
    const rows = rowsOf(x.permute([0, 2, 3, 1]).reshape([8, 3]));
    const ref = ceReference(rows, Array.from(t.dataSync()), { ignoreIndex: 7, eps: 0.3 });
    const none = crossEntropy(x, t, { ignoreIndex: 7, labelSmoothing: 0.3, reduction: 'none' });
    expect(none.shape).toEqual([2, 2, 2]);
    expectClose(none.dataSync(), ref.none);
    expect(crossEntropy(x, t, { ignoreIndex: 7, labelSmoothing: 0.3 }).item()).toBeCloseTo(ref.mean, 10);
    gradcheck((xi) => crossEntropy(xi, t, { ignoreIndex: 7, labelSmoothing: 0.3 }), [x]);
  });

  it('class probabilities: mean over positions, weights not in the normaliser', () => {
    const x = randomNormal([3, 4], { seed: 3, ...f64 });
    const p = softmax(randomNormal([3, 4], { seed: 4, ...f64 }), 1);
    const w = [1, 2, 0.5, 1];
    const eps = 0.1;
    const lp = logSoftmaxRows(rowsOf(x));
    const q = rowsOf(p).map((r) => r.map((v) => v * (1 - eps) + eps / 4));
    const per = lp.map((r, n) => -r.reduce((a, v, k) => a + w[k] * q[n][k] * v, 0));
    const wt = tensor(w, f64);
    expectClose(crossEntropy(x, p, { weight: wt, labelSmoothing: eps, reduction: 'none' }).dataSync(), per);
    expect(crossEntropy(x, p, { weight: wt, labelSmoothing: eps }).item()).toBeCloseTo(
      per.reduce((a, v) => a + v) / 3,
      12,
    );
    gradcheck((xi, pi) => crossEntropy(xi, pi, { weight: wt, labelSmoothing: eps }), [x, p]);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = tensor([[1, 2, 3]]);
    expect(() => crossEntropy(x, int([3]))).toThrow(
      /crossEntropy: target must be class indices in \[0, 3\) or ignoreIndex \(-100\), got 3 at flat index 0/,
    );
    expect(() => crossEntropy(x, int([0, 1]))).toThrow(
      /crossEntropy: target must be class indices of shape \[1\], got \[2\]/,
    );
    expect(() => crossEntropy(x, tensor([0.5, 0.5]))).toThrow(
      /crossEntropy: target \(class probabilities\) must be the shape of logits, \[1, 3\], got \[2\]/,
    );
    expect(() => crossEntropy(x, int([0]), { weight: tensor([1, 2]) })).toThrow(
      /crossEntropy: weight must be of shape \[3\], got \[2\]/,
    );
    expect(() => crossEntropy(x, int([0]), { labelSmoothing: 1.5 })).toThrow(
      /labelSmoothing must be a number in \[0, 1\]/,
    );
    expect(() => crossEntropy(x, int([0]), { reduction: 'avg' as 'mean' })).toThrow(
      /reduction must be 'mean', 'sum', 'none', got "avg"/,
    );
    expect(() => crossEntropy(int([1, 2], [1, 2]), int([0]))).toThrow(
      /crossEntropy: logits must be a float32 or float64 tensor, got int32/,
    );
    expect(() => crossEntropy(x, tensor([[0.2, 0.3, 0.5]]), { ignoreIndex: 0 })).toThrow(
      /ignoreIndex must be negative with class-probability targets/,
    );
  });

  it('frees its temporaries', () => {
    const x = randomNormal([4, 3]);
    const t = int([0, 1, 2, -100]);
    const w = tensor([1, 2, 3]);
    crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }).dispose();
    const before = memory('cpu');
    crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }).dispose();
    expect(memory('cpu')).toEqual(before);
  });
});

describe('regression losses', () => {
  const p = tensor([1, -2, 0.5, 3], f64);
  const t = tensor([0, 0, 1, 3.5], f64);
  const d = [1, -2, -0.5, -0.5];

  it('mse, l1 and smooth L1 values', () => {
    expect(mseLoss(p, t).item()).toBeCloseTo((1 + 4 + 0.25 + 0.25) / 4, 14);
    expect(mseLoss(p, t, { reduction: 'sum' }).item()).toBeCloseTo(5.5, 14);
    expect(l1Loss(p, t).item()).toBeCloseTo(4 / 4, 14);
    expectClose(l1Loss(p, t, { reduction: 'none' }).dataSync(), d.map(Math.abs));
    // beta 1: 0.5·d² inside, |d| - 0.5 outside.
    expectClose(smoothL1Loss(p, t, { reduction: 'none' }).dataSync(), [0.5, 1.5, 0.125, 0.125]);
    expectClose(
      smoothL1Loss(p, t, { beta: 4, reduction: 'none' }).dataSync(),
      d.map((v) => (0.5 * v * v) / 4),
    );
    expect(smoothL1Loss(p, t, { beta: 0 }).item()).toBeCloseTo(1, 14);
  });

  it('gradients and shape checks', () => {
    gradcheck((a, b) => mseLoss(a, b), [p, t]);
    gradcheck((a) => smoothL1Loss(a, t, { beta: 0.7 }), [p]);
    gradcheck((a) => l1Loss(a, t, { reduction: 'sum' }), [p]);
    expect(() => mseLoss(tensor([[1], [2]]), tensor([1, 2]))).toThrow(
      /mseLoss: target must be the shape of pred, \[2, 1\], got \[2\]/,
    );
  });
});

describe('binaryCrossEntropyWithLogits', () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const x = [-3, -0.5, 0, 0.7, 25];
  const y = [0, 1, 0.5, 1, 0];
  const pw = [2, 2, 2, 2, 2];

  it('matches -[p·y·log σ(x) + (1 - y)·log(1 - σ(x))], stably', () => {
    const want = x.map((v, i) => -(pw[i] * y[i] * Math.log(sig(v)) + (1 - y[i]) * Math.log(1 - sig(v))));
    // σ(25) rounds to 1 in float64, so its reference is computed stably: log(1 - σ(x)) = -x - log(1 + e^-x).
    want[4] = 25 + Math.log1p(Math.exp(-25));
    const got = binaryCrossEntropyWithLogits(tensor(x, f64), tensor(y, f64), {
      posWeight: tensor(pw, f64),
      reduction: 'none',
    });
    expectClose(got.dataSync(), want, 9);
    const w = tensor([1, 0, 2, 1, 1], f64);
    const plain = x.map((v, i) => -(y[i] * Math.log(sig(v)) + (1 - y[i]) * Math.log(1 - sig(v))));
    plain[4] = 25 + Math.log1p(Math.exp(-25));
    const wv = [1, 0, 2, 1, 1];
    expect(binaryCrossEntropyWithLogits(tensor(x, f64), tensor(y, f64), { weight: w }).item()).toBeCloseTo(
      plain.reduce((a, v, i) => a + v * wv[i], 0) / 5,
      9,
    );
  });

  it('has the right gradient, also at x = 0', () => {
    gradcheck(
      (a, b) => binaryCrossEntropyWithLogits(a, b, { posWeight: tensor([1.5, 1.5, 1.5, 1.5, 1.5], f64) }),
      [tensor([-3, -0.5, 0, 0.7, 2], f64), tensor(y, f64)],
    );
  });
});

describe('klDiv and distillation', () => {
  const logq = logSoftmax(randomNormal([3, 5], { seed: 5, ...f64 }), 1);
  const pRaw = randomUniform([3, 5], { seed: 6, ...f64 }).toArray() as number[][];
  pRaw[1][2] = 0; // a zero-probability class contributes 0, not NaN
  const pRows = pRaw.map((r) => r.map((v) => v / r.reduce((a, b) => a + b)));
  const p = tensor(pRows, f64);
  const point = pRows.map((r, n) =>
    r.map((v, k) => (v === 0 ? 0 : v * (Math.log(v) - (logq.toArray() as number[][])[n][k]))),
  );
  const total = point.flat().reduce((a, v) => a + v, 0);

  it('pointwise t·(log t - input) and its reductions', () => {
    expectClose(klDiv(logq, p, { reduction: 'none' }).dataSync(), point.flat());
    expect(klDiv(logq, p, { reduction: 'batchmean' }).item()).toBeCloseTo(total / 3, 12);
    expect(klDiv(logq, p).item()).toBeCloseTo(total / 15, 12);
    expect(klDiv(logq, p, { reduction: 'sum' }).item()).toBeCloseTo(total, 12);
    const logp = tensor(
      pRows.map((r) => r.map((v) => (v === 0 ? -1e300 : Math.log(v)))),
      f64,
    );
    expect(klDiv(logq, logp, { logTarget: true, reduction: 'sum' }).item()).toBeCloseTo(total, 12);
  });

  it('gradients are right, and finite where the target is 0', () => {
    gradcheck((a) => klDiv(a, p, { reduction: 'batchmean' }), [logq]);
    const positive = softmax(randomNormal([3, 5], { seed: 9, ...f64 }), 1);
    gradcheck((a, b) => klDiv(a, b, { reduction: 'batchmean' }), [logq, positive]);
    // t·log t has no derivative at t = 0 (PyTorch gives NaN there); this gives the finite -input/N.
    const { grads } = valueAndGrad((b) => klDiv(logq, b, { reduction: 'batchmean' }))(p);
    const g = grads[0].toArray() as number[][];
    expect(g[1][2]).toBeCloseTo(-(logq.toArray() as number[][])[1][2] / 3, 12);
    expect(() => klDiv(logq, p, { reduction: 'avg' as 'sum' })).toThrow(
      /klDiv: reduction must be 'mean', 'batchmean', 'sum', 'none'/,
    );
  });

  it('distillationLoss = T²·KL(softmax(t/T) ‖ softmax(s/T)) per sample', () => {
    const s = randomNormal([4, 3], { seed: 7, ...f64 });
    const t = randomNormal([4, 3], { seed: 8, ...f64 });
    const T = 2.5;
    const ls = logSoftmaxRows(rowsOf(s).map((r) => r.map((v) => v / T)));
    const lt = logSoftmaxRows(rowsOf(t).map((r) => r.map((v) => v / T)));
    let kl = 0;
    lt.forEach((r, n) =>
      r.forEach((v, k) => {
        kl += Math.exp(v) * (v - ls[n][k]);
      }),
    );
    expect(distillationLoss(s, t, { temperature: T }).item()).toBeCloseTo((T * T * kl) / 4, 12);
    expect(distillationLoss(s, s).item()).toBeCloseTo(0, 14);
    gradcheck((a) => distillationLoss(a, t, { temperature: T }), [s]);
    // Class axis last for [B, L, V] logits.
    const s3 = s.reshape([2, 2, 3]);
    const t3 = t.reshape([2, 2, 3]);
    expect(distillationLoss(s3, t3, { temperature: T, axis: -1, reduction: 'sum' }).item()).toBeCloseTo(
      T * T * kl,
      12,
    );
    expect(() => distillationLoss(s, t, { temperature: 0 })).toThrow(
      /distillationLoss: temperature must be a finite positive number, got 0/,
    );
  });
});
