import { noGrad } from '../../autograd/mode.js';
import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { shapesEqual, sizeOf } from '../../shape.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add, mul, sub } from '../elementwise/binary.js';
import { rsqrt } from '../elementwise/unary.js';
import { defineOp, runOp1 } from '../op.js';
import { mean, sum, variance } from '../reduce/reduce.js';
import { reshape } from '../views/views.js';

/** Attributes of the `layerNorm` primitive. Inputs: `x`, then `weight` and `bias` when present. */
export interface LayerNormAttrs {
  /** Elements normalised together: the product of `normalizedShape` (the trailing axes of `x`). */
  size: number;
  /** Whether a weight input follows `x`. */
  hasWeight: boolean;
  /** Whether a bias input follows (after the weight, if any). */
  hasBias: boolean;
  /** Added to the variance before the square root. */
  eps: number;
}

/** Attributes of the `rmsNorm` primitive. Inputs: `x`, then `weight` when present. */
export interface RmsNormAttrs {
  /** Elements normalised together: the product of `normalizedShape`. */
  size: number;
  /** Whether a weight input follows `x`. */
  hasWeight: boolean;
  /** Added to the mean square before the square root. */
  eps: number;
}

/** Attributes of the `groupNorm` primitive. Inputs: `x` `[N, C, ...spatial]`, then `weight`, `bias` (`[C]`). */
export interface GroupNormAttrs {
  /** Number of channel groups (divides C). */
  groups: number;
  /** Whether a weight input follows `x`. */
  hasWeight: boolean;
  /** Whether a bias input follows (after the weight, if any). */
  hasBias: boolean;
  /** Added to the variance before the square root. */
  eps: number;
}

/**
 * Gradient of `y = xhat * w` with respect to `x` for rows of `x2` `[rows, size]` normalised over axis 1, given
 * `gy = g * w`: `rstd * (gy - mean(gy) - xhat * mean(gy * xhat))`. `center` false is the RMS variant (no mean
 * subtracted, so no `mean(gy)` term). Returns the gradient and `xhat`.
 */
function normBackward(x2: Tensor, gy: Tensor, eps: number, center: boolean): { dx: Tensor; xhat: Tensor } {
  const keep = { axis: 1, keepDims: true };
  const xc = center ? sub(x2, mean(x2, keep)) : x2;
  const rstd = rsqrt(add(mean(mul(xc, xc), keep), eps));
  const xhat = mul(xc, rstd);
  const proj = mul(xhat, mean(mul(gy, xhat), keep));
  const dx = mul(rstd, center ? sub(sub(gy, mean(gy, keep)), proj) : sub(gy, proj));
  return { dx, xhat };
}

/** The optional inputs of a norm op that are present, in order. */
function optional(...ts: (Tensor | null | undefined)[]): Tensor[] {
  return ts.filter((t): t is Tensor => t != null);
}

/** A parameter's gradient when it is present and needs one (`grad` runs only then). */
function paramGrad(p: Tensor | null, grad: (p: Tensor) => Tensor): Tensor | null {
  return p?.requiresGrad ? grad(p) : null;
}

/** Gradients in input order: `dx`, then one per parameter that is present (null where it needs none). */
function inputGrads(dx: Tensor, present: [boolean, Tensor | null][]): (Tensor | null)[] {
  return [dx, ...present.filter(([has]) => has).map(([, g]) => g)];
}

const layerNormOp = defineOp<LayerNormAttrs>({
  name: 'layerNorm',
  vjp: ([g], [x, ...rest], _y, { size, hasWeight, hasBias, eps }) => {
    const w = hasWeight ? rest[0] : null;
    const b = hasBias ? rest[hasWeight ? 1 : 0] : null;
    const rows = x.size / size;
    const g2 = reshape(g!, [rows, size]);
    const gy = w ? mul(g2, reshape(w, [size])) : g2;
    const { dx, xhat } = normBackward(reshape(x, [rows, size]), gy, eps, true);
    return inputGrads(reshape(dx, x.shape), [
      [hasWeight, paramGrad(w, (p) => reshape(sum(mul(g2, xhat), { axis: 0 }), p.shape))],
      [hasBias, paramGrad(b, (p) => reshape(sum(g2, { axis: 0 }), p.shape))],
    ]);
  },
});

const rmsNormOp = defineOp<RmsNormAttrs>({
  name: 'rmsNorm',
  vjp: ([g], [x, ...rest], _y, { size, hasWeight, eps }) => {
    const w = hasWeight ? rest[0] : null;
    const rows = x.size / size;
    const g2 = reshape(g!, [rows, size]);
    const gy = w ? mul(g2, reshape(w, [size])) : g2;
    const { dx, xhat } = normBackward(reshape(x, [rows, size]), gy, eps, false);
    return inputGrads(reshape(dx, x.shape), [
      [hasWeight, paramGrad(w, (p) => reshape(sum(mul(g2, xhat), { axis: 0 }), p.shape))],
    ]);
  },
});

const groupNormOp = defineOp<GroupNormAttrs>({
  name: 'groupNorm',
  vjp: ([g], [x, ...rest], _y, { groups, hasWeight, hasBias, eps }) => {
    const w = hasWeight ? rest[0] : null;
    const b = hasBias ? rest[hasWeight ? 1 : 0] : null;
    const [n, c] = x.shape;
    const s = sizeOf(x.shape.slice(2));
    const g3 = reshape(g!, [n, c, s]);
    const gy = w ? mul(g3, reshape(w, [c, 1])) : g3;
    const rows = [n * groups, (c / groups) * s];
    const { dx, xhat } = normBackward(reshape(x, rows), reshape(gy, rows), eps, true);
    const xhat3 = reshape(xhat, [n, c, s]);
    return inputGrads(reshape(dx, x.shape), [
      [hasWeight, paramGrad(w, () => sum(mul(g3, xhat3), { axis: [0, 2] }))],
      [hasBias, paramGrad(b, () => sum(g3, { axis: [0, 2] }))],
    ]);
  },
});

function checkX(op: string, x: Tensor, minRank: number): void {
  x.assertAlive(op, 'x');
  if (!isFloat(x.dtype)) throw new DTypeError(op, 'x', 'a float32 or float64 tensor', x.dtype);
  if (x.rank < minRank) {
    throw new ShapeError(op, 'x', `a tensor with at least ${minRank} axes`, fmtShape(x.shape));
  }
}

function checkParam(op: string, arg: string, p: Tensor | null | undefined, x: Tensor, shape: number[]): void {
  if (p == null) return;
  p.assertAlive(op, arg);
  if (p.dtype !== x.dtype) throw new DTypeError(op, arg, `${x.dtype} like x`, p.dtype);
  if (!shapesEqual(p.shape, shape))
    throw new ShapeError(op, arg, `of shape ${fmtShape(shape)}`, fmtShape(p.shape));
}

function checkEps(op: string, eps: number): void {
  if (!(typeof eps === 'number' && eps >= 0 && Number.isFinite(eps))) {
    throw new ValueError(op, 'eps', 'a finite non-negative number', String(eps));
  }
}

/** Checks `normalizedShape` against the trailing axes of `x`; returns it as an array. */
function checkNormalizedShape(op: string, x: Tensor, normalizedShape: readonly number[] | number): number[] {
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.rank - ns.length);
  if (ns.length === 0 || ns.length > x.rank || !shapesEqual(tail, ns) || sizeOf(ns) === 0) {
    throw new ShapeError(
      op,
      'normalizedShape',
      `a non-empty list of trailing sizes of x ${fmtShape(x.shape)}`,
      fmtShape(ns),
    );
  }
  return ns;
}

/**
 * Layer normalisation, as `torch.nn.functional.layer_norm`: each slice over the trailing `normalizedShape`
 * axes is normalised to zero mean and unit (biased) variance, then scaled by `weight` and shifted by `bias`
 * (both of shape `normalizedShape`, optional).
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[] | number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  checkX('layerNorm', x, 1);
  const ns = checkNormalizedShape('layerNorm', x, normalizedShape);
  checkParam('layerNorm', 'weight', weight, x, ns);
  checkParam('layerNorm', 'bias', bias, x, ns);
  checkEps('layerNorm', eps);
  const attrs = { size: sizeOf(ns), hasWeight: weight != null, hasBias: bias != null, eps };
  return runOp1(layerNormOp, [x, ...optional(weight, bias)], attrs);
}

/** Machine epsilon of a float dtype: the default `eps` of {@link rmsNorm}, as PyTorch's `eps=None`. */
const FINFO_EPS = { float32: 2 ** -23, float64: 2 ** -52 } as const;

/**
 * Root-mean-square normalisation, as `torch.nn.functional.rms_norm`: `x / sqrt(mean(x^2) + eps) * weight`
 * over the trailing `normalizedShape` axes. `eps` defaults to the machine epsilon of `x`'s dtype
 * (`1.19e-7` for float32, `2.22e-16` for float64), which is what PyTorch does when it is not given.
 */
export function rmsNorm(
  x: Tensor,
  normalizedShape: readonly number[] | number,
  weight?: Tensor | null,
  eps?: number,
): Tensor {
  checkX('rmsNorm', x, 1);
  const ns = checkNormalizedShape('rmsNorm', x, normalizedShape);
  checkParam('rmsNorm', 'weight', weight, x, ns);
  const e = eps ?? FINFO_EPS[x.dtype as 'float32' | 'float64'];
  checkEps('rmsNorm', e);
  return runOp1(rmsNormOp, [x, ...optional(weight)], { size: sizeOf(ns), hasWeight: weight != null, eps: e });
}

/**
 * Group normalisation, as `torch.nn.functional.group_norm`: the channels of `x` `[N, C, ...spatial]` are split
 * into `numGroups` groups; each (sample, group) is normalised over its channels and spatial positions (biased
 * variance), then each channel is scaled by `weight[c]` and shifted by `bias[c]` (both `[C]`, optional).
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  checkX('groupNorm', x, 2);
  const c = x.shape[1];
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new ValueError(
      'groupNorm',
      'numGroups',
      `a positive divisor of the ${c} channels`,
      String(numGroups),
    );
  }
  checkParam('groupNorm', 'weight', weight, x, [c]);
  checkParam('groupNorm', 'bias', bias, x, [c]);
  checkEps('groupNorm', eps);
  const attrs = { groups: numGroups, hasWeight: weight != null, hasBias: bias != null, eps };
  return runOp1(groupNormOp, [x, ...optional(weight, bias)], attrs);
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Normalise with the batch's statistics and update the running ones (default false: use the running ones). */
  training?: boolean;
  /** Weight of the new batch statistics in the running averages (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation, as `torch.nn.functional.batch_norm`, for `x` `[N, C, ...spatial]`: each channel is
 * normalised with statistics over the batch and spatial axes, then scaled by `weight` and shifted by `bias`
 * (`[C]`, optional). In training the batch mean and biased variance normalise, and `runningMean` /
 * `runningVar` (`[C]` leaf tensors, or null) are updated in place:
 * `running = (1 - momentum) * running + momentum * batchStat`, with the unbiased variance. In evaluation the
 * running statistics normalise (and are required). Built from differentiable ops.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  checkX(op, x, 2);
  const { training = false, momentum = 0.1, eps = 1e-5 } = opts;
  const c = x.shape[1];
  for (const [arg, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    checkParam(op, arg, t, x, [c]);
  }
  for (const [arg, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
  ] as const) {
    if (training && t && !t.isLeaf)
      throw new ValueError(op, arg, 'a leaf tensor (it is updated in place)', 'the output of an op');
  }
  checkEps(op, eps);
  if (!(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) {
    throw new ValueError(op, 'momentum', 'a number in [0, 1]', String(momentum));
  }
  const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
  const statShape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const count = x.size / Math.max(c, 1);
  if (training && count <= 1) {
    throw new ValueError(op, 'x', 'more than 1 value per channel when training', fmtShape(x.shape));
  }
  if (!training && (!runningMean || !runningVar)) {
    throw new ValueError(
      op,
      'runningMean, runningVar',
      'tensors in evaluation mode (training false)',
      'null',
    );
  }
  return tidy(() => {
    let mu: Tensor;
    let v: Tensor;
    if (training) {
      mu = mean(x, { axis: axes, keepDims: true });
      v = variance(x, { axis: axes, keepDims: true, correction: 0 });
      noGrad(() => {
        const mix = (r: Tensor, stat: Tensor) =>
          r.assign(add(mul(r, 1 - momentum), mul(reshape(stat, [c]), momentum)));
        if (runningMean) mix(runningMean, mu);
        if (runningVar) mix(runningVar, mul(v, count / (count - 1)));
      });
    } else {
      mu = reshape(runningMean!, statShape);
      v = reshape(runningVar!, statShape);
    }
    let y = mul(sub(x, mu), rsqrt(add(v, eps)));
    if (weight) y = mul(y, reshape(weight, statShape));
    if (bias) y = add(y, reshape(bias, statShape));
    return y;
  });
}
