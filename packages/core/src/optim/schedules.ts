import { ValueError } from '../errors.js';
import type { BaseHyperparams, Optimizer } from './optimizer.js';

/** A scheduler's saved position (see {@link LRScheduler.stateDict}). */
export interface SchedulerStateDict {
  /** Steps taken. */
  lastEpoch: number;
}

function checkSteps(op: string, arg: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ValueError(op, arg, `an integer >= ${min}`, String(v));
}

function checkFinite(op: string, arg: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValueError(op, arg, 'a finite number', String(v));
}

/**
 * Base class of the learning-rate schedulers, as `torch.optim.lr_scheduler.LRScheduler`, written in closed
 * form: the learning rate of each parameter group at step `t` is `lrAt(t, baseLr)`, where `baseLr` is the
 * group's learning rate when the first scheduler was attached (kept as `initialLr` on the group). Building a
 * scheduler sets step 0's rates; call {@link LRScheduler.step} after each `optimizer.step()`.
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this sets. */
  readonly optimizer: Optimizer<BaseHyperparams>;
  /** Each group's starting learning rate. */
  readonly baseLrs: number[];
  /** Steps taken so far (0 after construction), as PyTorch's `last_epoch`. */
  lastEpoch = 0;

  constructor(optimizer: Optimizer<BaseHyperparams>) {
    this.optimizer = optimizer;
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** The learning rate at step `t` for a group starting from `baseLr` (the closed form). */
  abstract lrAt(t: number, baseLr: number): number;

  /** Sets every group's `lr` for the current step. Subclasses call it at the end of their constructor. */
  protected apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.lrAt(this.lastEpoch, this.baseLrs[i]);
    });
  }

  /** Advances one step and sets the groups' learning rates for it. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The learning rate of each group now (PyTorch's `get_last_lr()`). */
  getLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The step count, to resume a schedule. */
  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch };
  }

  /** Resumes at a saved step and sets the learning rates for it. */
  loadStateDict(sd: SchedulerStateDict): void {
    checkSteps(`${this.constructor.name}.loadStateDict`, 'lastEpoch', sd.lastEpoch, 0);
    this.lastEpoch = sd.lastEpoch;
    this.apply();
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingOptions {
  /** Steps from the base rate down to `etaMin` (half a cosine period). */
  tMax: number;
  /** The lowest learning rate (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing, PyTorch's closed form: `lr_t = etaMin + (base - etaMin)·(1 + cos(π·t/tMax))/2`. After
 * `tMax` steps it rises again (a period of `2·tMax`), as in PyTorch; use {@link WarmupCosineLR} to stay at the
 * floor instead.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Half period in steps. */
  readonly tMax: number;
  /** The lowest learning rate. */
  readonly etaMin: number;

  constructor(optimizer: Optimizer<BaseHyperparams>, opts: CosineAnnealingOptions) {
    super(optimizer);
    checkSteps('CosineAnnealingLR', 'tMax', opts.tMax, 1);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    checkFinite('CosineAnnealingLR', 'etaMin', this.etaMin);
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    return this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor of the base rate at step 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor reached after `totalIters` steps, in [0, 1] (default 1). */
  endFactor?: number;
  /** Steps of the linear ramp (default 5). */
  totalIters?: number;
}

/**
 * A linear ramp of the factor from `startFactor` to `endFactor` over `totalIters` steps, then constant
 * (`torch.optim.lr_scheduler.LinearLR`): the usual warm-up.
 */
export class LinearLR extends LRScheduler {
  /** Factor at step 0. */
  readonly startFactor: number;
  /** Factor from `totalIters` on. */
  readonly endFactor: number;
  /** Length of the ramp. */
  readonly totalIters: number;

  constructor(optimizer: Optimizer<BaseHyperparams>, opts: LinearLROptions = {}) {
    super(optimizer);
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = opts;
    if (typeof startFactor !== 'number' || !(startFactor > 0 && startFactor <= 1)) {
      throw new ValueError('LinearLR', 'startFactor', 'a number in (0, 1]', String(startFactor));
    }
    if (typeof endFactor !== 'number' || !(endFactor >= 0 && endFactor <= 1)) {
      throw new ValueError('LinearLR', 'endFactor', 'a number in [0, 1]', String(endFactor));
    }
    checkSteps('LinearLR', 'totalIters', totalIters, 1);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    const frac = Math.min(t, this.totalIters) / this.totalIters;
    return baseLr * (this.startFactor + (this.endFactor - this.startFactor) * frac);
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/** Multiplies the rate by `gamma` every `stepSize` steps: `base·gamma^⌊t/stepSize⌋` (`StepLR`). */
export class StepLR extends LRScheduler {
  /** Steps between decays. */
  readonly stepSize: number;
  /** Decay factor. */
  readonly gamma: number;

  constructor(optimizer: Optimizer<BaseHyperparams>, opts: StepLROptions) {
    super(optimizer);
    checkSteps('StepLR', 'stepSize', opts.stepSize, 1);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    checkFinite('StepLR', 'gamma', this.gamma);
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    return baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/** The base rate times `lrLambda(t)` (`torch.optim.lr_scheduler.LambdaLR`). */
export class LambdaLR extends LRScheduler {
  /** The factor at each step. */
  readonly lrLambda: (t: number) => number;

  constructor(optimizer: Optimizer<BaseHyperparams>, lrLambda: (t: number) => number) {
    super(optimizer);
    if (typeof lrLambda !== 'function') {
      throw new ValueError('LambdaLR', 'lrLambda', 'a function of the step', typeof lrLambda);
    }
    this.lrLambda = lrLambda;
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    return baseLr * this.lrLambda(t);
  }
}

/**
 * Runs schedulers one after another (`torch.optim.lr_scheduler.SequentialLR`): scheduler `i` runs from
 * milestone `i - 1` on, starting from its own step 0. Warm-up then cosine:
 * `new SequentialLR(opt, [new LinearLR(opt, { startFactor: 0.01, totalIters: w }),
 * new CosineAnnealingLR(opt, { tMax: total - w })], [w])`.
 */
export class SequentialLR extends LRScheduler {
  /** The schedulers, in order. */
  readonly schedulers: readonly LRScheduler[];
  /** The steps at which each next scheduler takes over. */
  readonly milestones: readonly number[];

  constructor(
    optimizer: Optimizer<BaseHyperparams>,
    schedulers: readonly LRScheduler[],
    milestones: readonly number[],
  ) {
    super(optimizer);
    if (schedulers.length === 0) {
      throw new ValueError('SequentialLR', 'schedulers', 'a non-empty list', 'an empty one');
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new ValueError(
          'SequentialLR',
          `schedulers[${i}]`,
          'built on the same optimizer',
          'another optimizer',
        );
      }
    });
    if (milestones.length !== schedulers.length - 1) {
      const want = `${schedulers.length - 1} milestones (one fewer than schedulers)`;
      throw new ValueError('SequentialLR', 'milestones', want, String(milestones.length));
    }
    milestones.forEach((m, i) => {
      checkSteps('SequentialLR', `milestones[${i}]`, m, i === 0 ? 1 : milestones[i - 1] + 1);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    let i = 0;
    while (i < this.milestones.length && t >= this.milestones[i]) i++;
    const start = i === 0 ? 0 : this.milestones[i - 1];
    return this.schedulers[i].lrAt(t - start, baseLr);
  }
}

/** Options of {@link cosineSchedule}. */
export interface CosineScheduleOptions {
  /** Steps in the whole schedule, warm-up included. */
  totalSteps: number;
  /** Steps of linear warm-up (default 0). */
  warmupSteps?: number;
  /** The peak rate, reached at the end of warm-up (default 1: the result is then a factor). */
  baseLr?: number;
  /** The rate at and after `totalSteps` (default 0). */
  minLr?: number;
  /** The rate at step 0 of the warm-up (default 0). */
  warmupStartLr?: number;
}

/**
 * Linear warm-up then cosine decay, as a function of the step: from `warmupStartLr` to `baseLr` over
 * `warmupSteps`, then `minLr + (baseLr - minLr)·(1 + cos(π·s/S))/2` with `s` the steps since warm-up and
 * `S = totalSteps - warmupSteps`, and `minLr` from `totalSteps` on.
 */
export function cosineSchedule(step: number, opts: CosineScheduleOptions): number {
  const { totalSteps, warmupSteps = 0, baseLr = 1, minLr = 0, warmupStartLr = 0 } = opts;
  checkSteps('cosineSchedule', 'totalSteps', totalSteps, 1);
  checkSteps('cosineSchedule', 'warmupSteps', warmupSteps, 0);
  if (warmupSteps > totalSteps) {
    throw new ValueError(
      'cosineSchedule',
      'warmupSteps',
      `<= totalSteps (${totalSteps})`,
      String(warmupSteps),
    );
  }
  if (typeof step !== 'number' || !(step >= 0)) {
    throw new ValueError('cosineSchedule', 'step', 'a non-negative number', String(step));
  }
  for (const [k, v] of Object.entries({ baseLr, minLr, warmupStartLr })) checkFinite('cosineSchedule', k, v);
  if (step < warmupSteps) return warmupStartLr + ((baseLr - warmupStartLr) * step) / warmupSteps;
  const span = totalSteps - warmupSteps;
  if (span === 0) return minLr;
  const s = Math.min(step - warmupSteps, span);
  return minLr + ((baseLr - minLr) * (1 + Math.cos((Math.PI * s) / span))) / 2;
}

/** Options of {@link WarmupCosineLR}. */
export interface WarmupCosineOptions {
  /** Steps in the whole schedule, warm-up included. */
  totalSteps: number;
  /** Steps of linear warm-up (default 0). */
  warmupSteps?: number;
  /** The rate at and after `totalSteps` (default 0; absolute, as `etaMin`). */
  etaMin?: number;
  /** The rate at step 0 as a factor of the base rate (default 0). */
  warmupStartFactor?: number;
}

/**
 * Linear warm-up then cosine decay to `etaMin`, staying there after `totalSteps`: {@link cosineSchedule}
 * applied to each group's base rate (the common timm/Hugging Face schedule).
 */
export class WarmupCosineLR extends LRScheduler {
  /** The schedule's options. */
  readonly options: Readonly<Required<WarmupCosineOptions>>;

  constructor(optimizer: Optimizer<BaseHyperparams>, opts: WarmupCosineOptions) {
    super(optimizer);
    const { totalSteps, warmupSteps = 0, etaMin = 0, warmupStartFactor = 0 } = opts;
    this.options = { totalSteps, warmupSteps, etaMin, warmupStartFactor };
    this.apply();
  }

  override lrAt(t: number, baseLr: number): number {
    const o = this.options;
    return cosineSchedule(t, {
      totalSteps: o.totalSteps,
      warmupSteps: o.warmupSteps,
      baseLr,
      minLr: o.etaMin,
      warmupStartLr: baseLr * o.warmupStartFactor,
    });
  }
}
