import { noGrad } from '../autograd/mode.js';
import { isFloat } from '../dtype.js';
import { ValueError } from '../errors.js';
import { cast } from '../ops/elementwise/cast.js';
import { toBackend } from '../ops/views/views.js';
import { shapesEqual } from '../shape.js';
import { keep, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** Hyperparameters every optimizer has: the learning rate, which schedulers change. */
export interface BaseHyperparams {
  /** Learning rate. */
  lr: number;
}

/** A parameter group as the optimizer keeps it: its parameters and its own hyperparameters. */
export type ParamGroup<H extends BaseHyperparams> = H & {
  /** The parameters this group's hyperparameters apply to. */
  params: Tensor[];
  /** The learning rate schedulers start from (set by the first {@link LRScheduler} built on the optimizer). */
  initialLr?: number;
};

/** A parameter group as given to an optimizer: parameters, and any hyperparameters that differ from defaults. */
export type ParamGroupSpec<H extends BaseHyperparams> = Partial<H> & {
  /** The parameters of this group. */
  params: Iterable<Tensor>;
};

/** What an optimizer takes: parameters (e.g. `model.parameters()`) or a list of parameter groups. */
export type OptimizerParams<H extends BaseHyperparams> = Iterable<Tensor> | readonly ParamGroupSpec<H>[];

/** Per-parameter state: tensors (moment estimates, momentum buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state in PyTorch's layout: per-parameter state by the parameter's position across all groups,
 * and each group's hyperparameters with the positions of its parameters.
 */
export interface OptimizerStateDict {
  /** State by parameter position. The tensors are the optimizer's own: clone them to keep a snapshot. */
  state: Map<number, ParamState>;
  /** Hyperparameters of each group, with the positions of its parameters. */
  paramGroups: SavedParamGroup[];
}

/** One parameter group in an {@link OptimizerStateDict}: its hyperparameters and its parameters' positions. */
export interface SavedParamGroup {
  /** Positions of the group's parameters across all groups. */
  params: number[];
  /** Hyperparameters by name (`lr`, `betas`, ...). */
  [hyper: string]: unknown;
}

/**
 * Base class of the optimizers, as `torch.optim.Optimizer`: parameter groups with their own hyperparameters,
 * `step()` (which skips parameters without a gradient), `zeroGrad()`, and a state dict. Updates run without
 * recording gradients and replace parameter values in place (`assign`), freeing every temporary.
 */
export abstract class Optimizer<H extends BaseHyperparams> {
  /** Defaults for hyperparameters a group does not set. */
  readonly defaults: H;
  /** The parameter groups; change `lr` (or other hyperparameters) here between steps. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on a parameter's first update. */
  protected readonly state = new Map<Tensor, ParamState>();
  /** The optimizer's name, for messages (a prototype getter, so it works inside this constructor). */
  protected get name(): string {
    return 'Optimizer';
  }

  constructor(params: OptimizerParams<H>, defaults: H) {
    const name = this.name;
    this.checkHyperparams(defaults);
    this.defaults = defaults;
    const list = [...(params as Iterable<Tensor | ParamGroupSpec<H>>)];
    if (list.length === 0) throw new ValueError(name, 'params', 'a non-empty list', 'an empty one');
    const groups = list[0] instanceof Tensor ? [{ params: list } as unknown as ParamGroupSpec<H>] : list;
    for (const g of groups as ParamGroupSpec<H>[]) this.addParamGroup(g);
  }

  /** Throws a clear error for an invalid hyperparameter (each optimizer checks its own). */
  protected abstract checkHyperparams(h: H): void;

  /** Updates one parameter in place from its gradient. Runs without gradient recording, inside a scope. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /** Adds a group (e.g. unfreezing a backbone mid-training). Its parameters must not be in another group. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    if (spec === null || typeof spec !== 'object' || !('params' in spec)) {
      throw new ValueError(this.name, 'param group', 'an object with params', String(spec));
    }
    const params = spec.params instanceof Tensor ? [spec.params] : [...spec.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      const arg = `params[${i}]`;
      if (!(p instanceof Tensor)) throw new ValueError(this.name, arg, 'a Tensor', typeof p);
      p.assertAlive(this.name, arg);
      if (!p.isLeaf || !isFloat(p.dtype)) {
        throw new ValueError(
          this.name,
          arg,
          'a floating-point leaf tensor (a parameter)',
          `a ${p.dtype} op output`,
        );
      }
      if (seen.has(p)) throw new ValueError(this.name, arg, 'in one parameter group only', 'a repeat');
      seen.add(p);
    });
    const given = Object.entries(spec).filter(([k, v]) => k !== 'params' && v !== undefined);
    const group = { ...this.defaults, ...Object.fromEntries(given), params } as ParamGroup<H>;
    this.checkHyperparams(group);
    this.paramGroups.push(group);
  }

  /** Updates every parameter that has a gradient, once. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (!g || p.isDisposed) continue;
          let st = this.state.get(p);
          if (!st) {
            st = {};
            this.state.set(p, st);
          }
          const s = st;
          tidy(() => this.update(p, g, group, s));
        }
      }
    });
  }

  /** Frees every parameter's gradient and sets it to null (PyTorch's default `set_to_none=True`). */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** A new state tensor that outlives the step's scope (a moment estimate, a momentum buffer). */
  protected persistent(t: Tensor): Tensor {
    return keep(t);
  }

  /** The state by parameter position and the groups' hyperparameters (see {@link OptimizerStateDict}). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const positions = params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return { ...hyper, params: positions };
    });
    const state = new Map<number, ParamState>();
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state.set(i, { ...s });
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state saved by {@link Optimizer.stateDict} (from an optimizer over parameters
   * of the same shapes, in the same order). State tensors are copied onto each parameter's backend and dtype.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    const groups = sd.paramGroups;
    if (groups.length !== this.paramGroups.length) {
      throw new ValueError(op, 'paramGroups', `${this.paramGroups.length} groups`, String(groups.length));
    }
    groups.forEach((g, i) => {
      const n = this.paramGroups[i].params.length;
      if (g.params.length !== n) {
        throw new ValueError(op, `paramGroups[${i}].params`, `${n} parameters`, String(g.params.length));
      }
    });
    const params = this.paramGroups.flatMap((g) => g.params);
    for (const [i, s] of sd.state) {
      const p = params[i];
      if (!p) throw new ValueError(op, 'state', `entries for positions below ${params.length}`, String(i));
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor && !shapesEqual(v.shape, p.shape)) {
          throw new ValueError(
            op,
            `state[${i}].${k}`,
            `a tensor of parameter ${i}'s shape [${p.shape}]`,
            `[${v.shape}]`,
          );
        }
      }
    }
    groups.forEach((g, i) => {
      const { params: _, ...hyper } = g;
      const merged = { ...this.paramGroups[i], ...hyper };
      this.checkHyperparams(merged as ParamGroup<H>);
      Object.assign(this.paramGroups[i], hyper);
    });
    this.disposeState();
    for (const [i, s] of sd.state) {
      const p = params[i];
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        copy[k] =
          typeof v === 'number'
            ? v
            : keep(noGrad(() => tidy(() => cast(toBackend(v, p.backend.name), p.dtype))));
      }
      this.state.set(p, copy);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values())
      for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
}

/** Throws unless `v` is a finite number of at least `min` (learning rates, decays). */
export function checkNonNegative(op: string, arg: string, v: unknown, min = 0): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new ValueError(op, arg, `a finite number >= ${min}`, String(v));
  }
}

/** Throws unless `v` is a number in `[0, 1)` (momentum-like coefficients). */
export function checkUnitInterval(op: string, arg: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new ValueError(op, arg, 'a number in [0, 1)', String(v));
}
