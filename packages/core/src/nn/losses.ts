import { isFloat } from '../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../errors.js';
import { add, div, gt, lt, mul, ne, sub } from '../ops/elementwise/binary.js';
import { cast } from '../ops/elementwise/cast.js';
import { abs, exp, log, neg, softplus } from '../ops/elementwise/unary.js';
import { where } from '../ops/elementwise/where.js';
import { gather, indexSelect } from '../ops/indexing/indexing.js';
import { mean, sum } from '../ops/reduce/reduce.js';
import { logSoftmax } from '../ops/softmax/softmax.js';
import { reshape, squeeze, unsqueeze } from '../ops/views/views.js';
import { shapesEqual } from '../shape.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** How a loss combines its per-element values: their mean (default), their sum, or none (same shape). */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: string, allowed: readonly string[] = ['mean', 'sum', 'none']): void {
  if (!allowed.includes(r)) {
    throw new ValueError(op, 'reduction', allowed.map((a) => `'${a}'`).join(', '), JSON.stringify(r));
  }
}

function checkFloat(op: string, arg: string, t: Tensor): void {
  t.assertAlive(op, arg);
  if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
}

function checkSameShape(op: string, a: Tensor, b: Tensor, aName: string, bName: string): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new ShapeError(op, bName, `the shape of ${aName}, ${fmtShape(a.shape)}`, fmtShape(b.shape));
  }
}

function reduce(x: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? x : reduction === 'sum' ? sum(x) : mean(x);
}

/** Options of {@link crossEntropy} (as `torch.nn.functional.cross_entropy`). */
export interface CrossEntropyOptions {
  /** Per-class weights `[C]` (default all 1). */
  weight?: Tensor | null;
  /** A target class index whose positions count for nothing (default -100); class-index targets only. */
  ignoreIndex?: number;
  /** Mix the target with the uniform distribution: `(1 - ε)·target + ε/C` (default 0). */
  labelSmoothing?: number;
  /** Default `'mean'`. */
  reduction?: Reduction;
}

/**
 * Cross-entropy between logits and targets, exactly as `torch.nn.functional.cross_entropy`. `logits` is
 * `[N, C]`, `[N, C, d1, ...]` or unbatched `[C]` (classes on axis 1, or 0 when unbatched). `target` is either
 * int32 class indices of shape `[N, d1, ...]` (or `[]`), or float class probabilities of logits' shape.
 *
 * With class indices, `loss_i = -w[t_i] · log softmax(x_i)[t_i]`; positions whose target is `ignoreIndex`
 * give 0, and `'mean'` divides the sum by the total weight `Σ w[t_i]` of the positions not ignored (the count
 * without weights), so class weights change the normaliser as in PyTorch. With label smoothing ε the loss is
 * `(1 - ε)·nll + (ε/C)·smooth`, where `smooth_i = -Σ_c w[c] · log softmax(x_i)[c]`, reduced the same way
 * (the same normaliser `Σ w[t_i]`).
 *
 * With probabilities, `loss_i = -Σ_c w[c] · p_ic · log softmax(x_i)[c]` (after smoothing `p`), and `'mean'`
 * divides by the number of positions (`logits.size / C`), not by the weights (also as PyTorch).
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  checkFloat(op, 'logits', logits);
  target.assertAlive(op, 'target');
  const { weight = null, ignoreIndex = -100, labelSmoothing = 0, reduction = 'mean' } = opts;
  checkReduction(op, reduction);
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ValueError(op, 'labelSmoothing', 'a number in [0, 1]', String(labelSmoothing));
  }
  if (!Number.isInteger(ignoreIndex))
    throw new ValueError(op, 'ignoreIndex', 'an integer', String(ignoreIndex));
  if (logits.rank === 0) throw new ShapeError(op, 'logits', '[N, C, ...] or [C]', fmtShape(logits.shape));
  const c = logits.shape[logits.rank === 1 ? 0 : 1];
  if (weight) {
    checkFloat(op, 'weight', weight);
    if (!shapesEqual(weight.shape, [c]))
      throw new ShapeError(op, 'weight', `of shape [${c}]`, fmtShape(weight.shape));
  }
  const probs = isFloat(target.dtype);
  if (probs) {
    checkSameShape(op, logits, target, 'logits', 'target (class probabilities)');
    if (ignoreIndex >= 0) {
      throw new ValueError(op, 'ignoreIndex', 'negative with class-probability targets', String(ignoreIndex));
    }
  } else {
    if (target.dtype !== 'int32') {
      throw new DTypeError(op, 'target', 'int32 class indices or float class probabilities', target.dtype);
    }
    const want = logits.shape.filter((_, i) => i !== (logits.rank === 1 ? 0 : 1));
    if (!shapesEqual(target.shape, want)) {
      throw new ShapeError(op, 'target', `class indices of shape ${fmtShape(want)}`, fmtShape(target.shape));
    }
    checkClassIndices(op, target, c, ignoreIndex);
  }
  return tidy(() => {
    // An unbatched sample is a batch of one; 'none' then gives a scalar again.
    const batched = logits.rank > 1;
    const x = batched ? logits : unsqueeze(logits, 0);
    const t = batched ? target : unsqueeze(target, 0);
    const w = weight ? cast(weight, x.dtype) : null;
    const logp = logSoftmax(x, 1);
    const loss = probs
      ? probTargetLoss(logp, t, w, labelSmoothing, reduction)
      : indexTargetLoss(logp, t, w, ignoreIndex, labelSmoothing, reduction);
    return batched || reduction !== 'none' ? loss : reshape(loss, []);
  });
}

/** Class weights shaped to broadcast against `[N, C, ...]` (`[1, C, 1, ...]`). */
function classAxis(w: Tensor, rank: number): Tensor {
  return reshape(
    w,
    Array.from({ length: rank }, (_, i) => (i === 1 ? w.size : 1)),
  );
}

function probTargetLoss(
  logp: Tensor,
  p: Tensor,
  w: Tensor | null,
  eps: number,
  reduction: Reduction,
): Tensor {
  const c = logp.shape[1];
  const target = eps > 0 ? add(mul(p, 1 - eps), eps / c) : p;
  let prod = mul(logp, target);
  if (w) prod = mul(prod, classAxis(w, logp.rank));
  if (reduction === 'none') return neg(sum(prod, { axis: 1 }));
  const total = neg(sum(prod));
  return reduction === 'sum' ? total : div(total, logp.size / c);
}

function indexTargetLoss(
  logp: Tensor,
  t: Tensor,
  w: Tensor | null,
  ignoreIndex: number,
  eps: number,
  reduction: Reduction,
): Tensor {
  const c = logp.shape[1];
  const valid = ne(t, ignoreIndex);
  // Ignored positions may hold any value (-100): point them at class 0 and mask their loss out.
  const safe = where(valid, t, 0);
  const picked = squeeze(gather(logp, 1, unsqueeze(safe, 1)), 1);
  const validF = cast(valid, logp.dtype);
  const tw = w ? mul(reshape(indexSelect(w, 0, reshape(safe, [safe.size])), t.shape), validF) : validF;
  const nll = neg(mul(picked, tw));
  let smooth: Tensor | null = null;
  if (eps > 0) {
    const weighted = w ? mul(logp, classAxis(w, logp.rank)) : logp;
    smooth = mul(neg(sum(weighted, { axis: 1 })), validF);
  }
  const red = (v: Tensor) => (reduction === 'none' ? v : reduction === 'sum' ? sum(v) : div(sum(v), sum(tw)));
  const nllR = red(nll);
  if (!smooth) return nllR;
  return add(mul(nllR, 1 - eps), mul(red(smooth), eps / c));
}

/** Class indices must be in [0, C) or ignoreIndex; checked on backends that read back synchronously. */
function checkClassIndices(op: string, target: Tensor, c: number, ignoreIndex: number): void {
  if (!target.backend.readSync) return;
  const v = target.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== ignoreIndex && (v[i] < 0 || v[i] >= c)) {
      throw new ValueError(
        op,
        'target',
        `class indices in [0, ${c}) or ignoreIndex (${ignoreIndex})`,
        `${v[i]} at flat index ${i}`,
      );
    }
  }
}

/** Options of the regression losses. */
export interface RegressionLossOptions {
  /** Default `'mean'`. */
  reduction?: Reduction;
}

function regression(op: string, pred: Tensor, target: Tensor, reduction: Reduction): void {
  checkFloat(op, 'pred', pred);
  checkFloat(op, 'target', target);
  checkSameShape(op, pred, target, 'pred', 'target');
  checkReduction(op, reduction);
}

/**
 * Mean squared error `(pred - target)²` (`torch.nn.functional.mse_loss`). Shapes must be equal (PyTorch
 * only warns when they broadcast, which is nearly always a bug such as `[N, 1]` against `[N]`).
 */
export function mseLoss(pred: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  regression('mseLoss', pred, target, reduction);
  return tidy(() => {
    const d = sub(pred, target);
    return reduce(mul(d, d), reduction);
  });
}

/** Mean absolute error `|pred - target|` (`torch.nn.functional.l1_loss`). Shapes must be equal. */
export function l1Loss(pred: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  regression('l1Loss', pred, target, reduction);
  return tidy(() => reduce(abs(sub(pred, target)), reduction));
}

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1LossOptions extends RegressionLossOptions {
  /** Where the loss turns from quadratic to linear (default 1; 0 gives the L1 loss). */
  beta?: number;
}

/**
 * Smooth L1 loss (`torch.nn.functional.smooth_l1_loss`): `0.5·d²/β` where `|d| < β`, else `|d| - 0.5·β`,
 * with `d = pred - target`. Shapes must be equal.
 */
export function smoothL1Loss(pred: Tensor, target: Tensor, opts: SmoothL1LossOptions = {}): Tensor {
  const { reduction = 'mean', beta = 1 } = opts;
  regression('smoothL1Loss', pred, target, reduction);
  if (typeof beta !== 'number' || !(beta >= 0) || !Number.isFinite(beta)) {
    throw new ValueError('smoothL1Loss', 'beta', 'a finite non-negative number', String(beta));
  }
  return tidy(() => {
    const d = abs(sub(pred, target));
    if (beta === 0) return reduce(d, reduction);
    const quad = div(mul(mul(d, d), 0.5), beta);
    return reduce(where(lt(d, beta), quad, sub(d, 0.5 * beta)), reduction);
  });
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions {
  /** Per-element weights, broadcast against the loss (default none). */
  weight?: Tensor | null;
  /** Weight of the positive term per class, broadcast along the last axis (default none: 1). */
  posWeight?: Tensor | null;
  /** Default `'mean'`. */
  reduction?: Reduction;
}

/**
 * Binary cross-entropy on logits (`torch.nn.functional.binary_cross_entropy_with_logits`), computed stably:
 * `-[p·y·log σ(x) + (1 - y)·log(1 - σ(x))]` with `p = posWeight`, as `(1 - y)·x + (1 + (p - 1)·y)·softplus(-x)`.
 * `target` holds probabilities in [0, 1] with logits' shape.
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  opts: BceWithLogitsOptions = {},
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const { weight = null, posWeight = null, reduction = 'mean' } = opts;
  checkFloat(op, 'logits', logits);
  checkFloat(op, 'target', target);
  checkSameShape(op, logits, target, 'logits', 'target');
  checkReduction(op, reduction);
  if (weight) checkFloat(op, 'weight', weight);
  if (posWeight) checkFloat(op, 'posWeight', posWeight);
  return tidy(() => {
    const sp = softplus(neg(logits));
    const coef = posWeight ? add(mul(sub(posWeight, 1), target), 1) : null;
    let loss = add(mul(sub(1, target), logits), coef ? mul(coef, sp) : sp);
    if (weight) loss = mul(loss, weight);
    if (!shapesEqual(loss.shape, logits.shape)) {
      throw new ShapeError(
        op,
        'weight, posWeight',
        `broadcastable to ${fmtShape(logits.shape)}`,
        fmtShape(loss.shape),
      );
    }
    return reduce(loss, reduction);
  });
}

/** How {@link klDiv} reduces: as {@link Reduction}, plus `'batchmean'` (sum divided by the batch size). */
export type KlReduction = Reduction | 'batchmean';

/** Options of {@link klDiv}. */
export interface KlDivOptions {
  /**
   * Default `'mean'` (the mean over every element, as PyTorch's default, which is not the KL divergence);
   * `'batchmean'` gives the true KL divergence per sample.
   */
  reduction?: KlReduction;
  /** `target` holds log-probabilities rather than probabilities (default false). */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence `KL(target ‖ input)` pointwise, as `torch.nn.functional.kl_div`: `input` holds
 * log-probabilities (e.g. from `logSoftmax`), `target` probabilities (or log-probabilities with
 * `logTarget`). Pointwise `target·(log target - input)`, taken as 0 where `target` is 0.
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = 'klDiv';
  const { reduction = 'mean', logTarget = false } = opts;
  checkFloat(op, 'input', input);
  checkFloat(op, 'target', target);
  checkSameShape(op, input, target, 'input', 'target');
  checkReduction(op, reduction, ['mean', 'batchmean', 'sum', 'none']);
  return tidy(() => {
    let point: Tensor;
    if (logTarget) {
      point = mul(exp(target), sub(target, input));
    } else {
      // t·log t with log's argument made 1 where t <= 0, so the value and its gradient there are 0, not NaN.
      const safe = where(gt(target, 0), target, 1);
      point = sub(mul(target, log(safe)), mul(target, input));
    }
    if (reduction === 'batchmean') return input.rank === 0 ? sum(point) : div(sum(point), input.shape[0]);
    return reduce(point, reduction);
  });
}

/** Options of {@link distillationLoss}. */
export interface DistillationLossOptions {
  /** Softening temperature T > 0 (default 1). */
  temperature?: number;
  /** Default `'batchmean'` (the KL divergence per sample). */
  reduction?: KlReduction;
  /** The class axis (default 1, as PyTorch's losses; use -1 for `[B, L, V]` token logits). */
  axis?: number;
}

/**
 * Knowledge-distillation loss (Hinton et al., 2015): `T² · KL(softmax(teacher/T) ‖ softmax(student/T))` over
 * the class axis. The T² keeps gradient magnitudes independent of T. Gradients flow into whichever inputs
 * require them: compute the teacher's logits under `noGrad` (or detach them) to train only the student.
 */
export function distillationLoss(
  studentLogits: Tensor,
  teacherLogits: Tensor,
  opts: DistillationLossOptions = {},
): Tensor {
  const op = 'distillationLoss';
  const { temperature = 1, reduction = 'batchmean', axis = 1 } = opts;
  checkFloat(op, 'studentLogits', studentLogits);
  checkFloat(op, 'teacherLogits', teacherLogits);
  checkSameShape(op, studentLogits, teacherLogits, 'studentLogits', 'teacherLogits');
  if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
    throw new ValueError(op, 'temperature', 'a finite positive number', String(temperature));
  }
  checkReduction(op, reduction, ['mean', 'batchmean', 'sum', 'none']);
  return tidy(() => {
    const s = logSoftmax(div(studentLogits, temperature), axis);
    const t = logSoftmax(div(teacherLogits, temperature), axis);
    return mul(klDiv(s, t, { reduction, logTarget: true }), temperature * temperature);
  });
}
