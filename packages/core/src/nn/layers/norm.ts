import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import { groupNorm, layerNorm, rmsNorm } from '../../ops/norm/norm.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ones_, zeros_ } from '../init.js';
import { type FactoryOptions, Module, reprShape } from '../module.js';
import { checkInt, pyBool, pyNum } from './util.js';

function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new ValueError(op, 'eps', 'a finite non-negative number', String(eps));
  }
}

function normShape(op: string, s: number | readonly number[]): number[] {
  const list = typeof s === 'number' ? [s] : [...s];
  if (list.length === 0) throw new ValueError(op, 'normalizedShape', 'a non-empty shape', '[]');
  list.forEach((d, i) => checkInt(op, `normalizedShape[${i}]`, d));
  return list;
}

function checkTrailing(op: string, x: Tensor, ns: readonly number[]): void {
  const tail = x.shape.slice(x.rank - ns.length);
  if (x.rank < ns.length || tail.some((d, i) => d !== ns[i])) {
    throw new ShapeError(op, 'x', `of shape [..., ${ns.join(', ')}]`, fmtShape(x.shape));
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn `weight` (ones) and `bias` (zeros) of shape `normalizedShape` (default true). */
  elementwiseAffine?: boolean;
  /** Learn the bias when affine (default true; false as in PyTorch's `bias=False`). */
  bias?: boolean;
}

/**
 * Layer normalisation over the trailing `normalizedShape` axes (`torch.nn.LayerNorm`), with `weight`
 * (ones) and `bias` (zeros) of that shape.
 */
export class LayerNorm extends Module {
  /** The trailing shape normalised over. */
  readonly normalizedShape: number[];
  /** Added to the variance. */
  readonly eps: number;
  /** Whether weight (and bias) are learnt. */
  readonly elementwiseAffine: boolean;
  /** Scale, or null when not affine. */
  readonly weight: Tensor | null;
  /** Shift, or null when not affine or `bias: false`. */
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normShape('LayerNorm', normalizedShape);
    this.eps = opts.eps ?? 1e-5;
    checkEps('LayerNorm', this.eps);
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const affine = this.elementwiseAffine;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape, f)) : null;
    const hasBias = affine && (opts.bias ?? true);
    this.bias = hasBias ? this.registerParameter('bias', zeros(this.normalizedShape, f)) : null;
  }

  /** Resets weight to ones and bias to zeros. */
  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** Normalises `x` `[..., ...normalizedShape]`. */
  override forward(x: Tensor): Tensor {
    checkTrailing('LayerNorm', x, this.normalizedShape);
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${reprShape(this.normalizedShape)}, eps=${pyNum(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions extends FactoryOptions {
  /** Added to the mean square (default: the machine epsilon of the input's dtype, as PyTorch's `None`). */
  eps?: number;
  /** Learn `weight` (ones) of shape `normalizedShape` (default true). */
  elementwiseAffine?: boolean;
}

/** Root-mean-square normalisation over the trailing axes (`torch.nn.RMSNorm`), with `weight` (ones). */
export class RMSNorm extends Module {
  /** The trailing shape normalised over. */
  readonly normalizedShape: number[];
  /** Added to the mean square, or undefined for the dtype's machine epsilon. */
  readonly eps: number | undefined;
  /** Scale, or null when not affine. */
  readonly weight: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    this.normalizedShape = normShape('RMSNorm', normalizedShape);
    this.eps = opts.eps;
    if (this.eps !== undefined) checkEps('RMSNorm', this.eps);
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape, f)) : null;
  }

  /** Resets weight to ones. */
  resetParameters(): void {
    if (this.weight) ones_(this.weight);
  }

  /** Normalises `x` `[..., ...normalizedShape]`. */
  override forward(x: Tensor): Tensor {
    checkTrailing('RMSNorm', x, this.normalizedShape);
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    const eps = this.eps === undefined ? 'None' : pyNum(this.eps);
    return `${reprShape(this.normalizedShape)}, eps=${eps}, elementwise_affine=${pyBool(this.weight !== null)}`;
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn per-channel `weight` (ones) and `bias` (zeros) (default true). */
  affine?: boolean;
}

/**
 * Group normalisation (`torch.nn.GroupNorm`): the channels of `[N, C, ...]` split into `numGroups` groups,
 * each normalised over its channels and positions, then per-channel `weight` (ones) and `bias` (zeros).
 */
export class GroupNorm extends Module {
  /** Number of channel groups. */
  readonly numGroups: number;
  /** Number of channels. */
  readonly numChannels: number;
  /** Added to the variance. */
  readonly eps: number;
  /** `[C]`, or null when not affine. */
  readonly weight: Tensor | null;
  /** `[C]`, or null when not affine. */
  readonly bias: Tensor | null;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    checkInt('GroupNorm', 'numGroups', numGroups);
    checkInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new ValueError(
        'GroupNorm',
        'numGroups',
        `a divisor of numChannels (${numChannels})`,
        String(numGroups),
      );
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    checkEps('GroupNorm', this.eps);
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numChannels], f)) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels], f)) : null;
  }

  /** Resets weight to ones and bias to zeros. */
  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** Normalises `x` `[N, C, ...]`. */
  override forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError('GroupNorm', 'x', `of shape [N, ${this.numChannels}, ...]`, fmtShape(x.shape));
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyNum(this.eps)}, affine=${pyBool(this.weight !== null)}`;
  }
}
