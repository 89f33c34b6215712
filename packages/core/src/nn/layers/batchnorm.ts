import { noGrad } from '../../autograd/mode.js';
import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import { add } from '../../ops/elementwise/binary.js';
import { batchNorm } from '../../ops/norm/norm.js';
import { full, ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { constant_, ones_, zeros_ } from '../init.js';
import { type FactoryOptions, Module } from '../module.js';
import { checkInt, checkRange, pyBool, pyNum } from './util.js';

/** Options of the batch-norm layers (as `torch.nn.BatchNorm2d`'s keyword arguments). */
export interface BatchNormModuleOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Weight of each batch's statistics in the running averages (default 0.1), or null for a cumulative
   * average over all batches seen (which reads `num_batches_tracked` back synchronously each step).
   */
  momentum?: number | null;
  /** Learn per-channel `weight` (ones) and `bias` (zeros) (default true). */
  affine?: boolean;
  /**
   * Keep running statistics for evaluation (default true). Without them batch statistics are used in both
   * modes and the module has no buffers.
   */
  trackRunningStats?: boolean;
}

/**
 * The batch-norm layers' shared implementation (`torch.nn.modules.batchnorm._BatchNorm`): parameters
 * `weight`, `bias` and buffers `running_mean`, `running_var`, `num_batches_tracked` with PyTorch's names.
 * `num_batches_tracked` is an int32 scalar here (int64 in PyTorch); loading a PyTorch checkpoint converts it.
 */
export abstract class BatchNormBase extends Module {
  /** Number of channels `C`. */
  readonly numFeatures: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight, or null for a cumulative average. */
  readonly momentum: number | null;
  /** `[C]`, or null when not affine. */
  readonly weight: Tensor | null;
  /** `[C]`, or null when not affine. */
  readonly bias: Tensor | null;
  /** `[C]` running mean, or null without running statistics. */
  readonly runningMean: Tensor | null;
  /** `[C]` running (unbiased) variance, or null without running statistics. */
  readonly runningVar: Tensor | null;
  /** Int32 scalar count of training batches, or null without running statistics. */
  readonly numBatchesTracked: Tensor | null;
  /** The input ranks this layer accepts, for its error message. */
  protected abstract readonly ranks: readonly number[];
  /** The input layout this layer accepts, for its error message. */
  protected abstract readonly layout: string;

  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super();
    const op = this.typeName;
    checkInt(op, 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps >= 0) || !Number.isFinite(this.eps)) {
      throw new ValueError(op, 'eps', 'a finite non-negative number', String(opts.eps));
    }
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null) checkRange(op, 'momentum', this.momentum, 0, 1);
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures], f)) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures], f)) : null;
    if (opts.trackRunningStats ?? true) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures], f));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures], f));
      const count = full([], 0, { dtype: 'int32', backend: opts.backend });
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', count);
    } else {
      this.runningMean = null;
      this.runningVar = null;
      this.numBatchesTracked = null;
    }
  }

  /** Resets the running statistics to mean 0, variance 1 and the batch count to 0. */
  resetRunningStats(): void {
    if (this.runningMean) zeros_(this.runningMean);
    if (this.runningVar) ones_(this.runningVar);
    if (this.numBatchesTracked)
      noGrad(() =>
        this.numBatchesTracked!.assign(
          full([], 0, { dtype: 'int32', backend: this.numBatchesTracked!.backend.name }),
        ),
      );
  }

  /** Resets the running statistics, weight to ones and bias to zeros. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) constant_(this.weight, 1);
    if (this.bias) zeros_(this.bias);
  }

  /**
   * Normalises `x`: with the batch's statistics in training mode (updating the running ones), with the running
   * statistics in evaluation mode, or with the batch's in both when running statistics are not tracked.
   */
  override forward(x: Tensor): Tensor {
    const op = this.typeName;
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        op,
        'x',
        `of shape ${this.layout} with C = ${this.numFeatures}`,
        fmtShape(x.shape),
      );
    }
    let momentum = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && nbt) {
      noGrad(() => nbt.assign(add(nbt, 1)));
      if (this.momentum === null) momentum = 1 / nbt.item();
    }
    const tracking = this.runningMean !== null;
    // As PyTorch: running buffers are only passed when they are used or updated.
    const useRunning = !this.training || tracking;
    return batchNorm(
      x,
      useRunning ? this.runningMean : null,
      useRunning ? this.runningVar : null,
      this.weight,
      this.bias,
      { training: this.training || !tracking, momentum, eps: this.eps },
    );
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : pyNum(this.momentum);
    return (
      `${this.numFeatures}, eps=${pyNum(this.eps)}, momentum=${m}, affine=${pyBool(this.weight !== null)}, ` +
      `track_running_stats=${pyBool(this.runningMean !== null)}`
    );
  }
}

/** Batch normalisation over `[N, C, H, W]` (`torch.nn.BatchNorm2d`); see {@link BatchNormBase}. */
export class BatchNorm2d extends BatchNormBase {
  protected override readonly ranks = [4] as const;
  protected override readonly layout = '[N, C, H, W]';
}

/** Batch normalisation over `[N, C]` or `[N, C, L]` (`torch.nn.BatchNorm1d`); see {@link BatchNormBase}. */
export class BatchNorm1d extends BatchNormBase {
  protected override readonly ranks = [2, 3] as const;
  protected override readonly layout = '[N, C] or [N, C, L]';
}
