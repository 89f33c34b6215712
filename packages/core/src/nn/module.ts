import { noGrad } from '../autograd/mode.js';
import { getBackend } from '../backend/registry.js';
import { isFloat } from '../dtype.js';
import { ValueError } from '../errors.js';
import { loadSafetensors } from '../io/index.js';
import { cast } from '../ops/elementwise/cast.js';
import { toBackend } from '../ops/views/views.js';
import { shapesEqual } from '../shape.js';
import { keep, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import {
  type LoadStateDictResult,
  type ShapeMismatch,
  StateDictError,
  type StateDictSource,
  toStateMap,
} from './state-dict.js';

/** Where and in which float type a module creates its parameters (as PyTorch's `device`/`dtype` kwargs). */
export interface FactoryOptions {
  /** Float type of parameters and float buffers (default float32; float64 is CPU-only, for checks). */
  dtype?: 'float32' | 'float64';
  /** Backend name (default: the current backend). */
  backend?: string;
}

/** Options of {@link Module.registerParameter}. */
export interface ParameterOptions {
  /** Whether the optimizer should train it (default true). */
  requiresGrad?: boolean;
}

/** Options of {@link Module.registerBuffer}. */
export interface BufferOptions {
  /** Whether it is part of {@link Module.stateDict} (default true; false for caches derivable from others). */
  persistent?: boolean;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Require the source's keys to equal the module's exactly (default true). Shapes must match either way,
   * as in PyTorch.
   */
  strict?: boolean;
}

type Kind = 'parameter' | 'buffer' | 'module';

/**
 * Base class of every layer and model, as `torch.nn.Module`. A module owns named parameters (trainable leaf
 * tensors), named buffers (state such as running statistics) and named child modules, all registered
 * explicitly and kept in registration order, so dotted names (`blocks.0.attn.qkv.weight`) and state dicts
 * match PyTorch checkpoints exactly.
 *
 * Registered tensors are exempt from scopes ({@link tidy}): they live until {@link Module.dispose}.
 *
 * @example
 * class Block extends Module {
 *   readonly fc: Linear;
 *   readonly scale: Tensor;
 *   constructor(dim: number) {
 *     super();
 *     this.fc = this.registerModule('fc', new Linear(dim, dim));
 *     this.scale = this.registerParameter('scale', ones([dim]));
 *   }
 *   forward(x: Tensor): Tensor {
 *     return tidy(() => mul(this.fc.forward(x), this.scale));
 *   }
 * }
 */
export abstract class Module {
  /** Training mode (dropout active, batch statistics used); set with {@link Module.train}/{@link Module.eval}. */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #nonPersistent = new Set<string>();
  readonly #modules = new Map<string, Module>();

  /** The computation. Subclasses type their own arguments and result. */
  abstract forward(...args: unknown[]): unknown;

  /** The class name used in messages and `toString()`. */
  get typeName(): string {
    return this.constructor.name;
  }

  #checkName(kind: Kind, name: string): void {
    const op = `${this.typeName}.register${kind[0].toUpperCase()}${kind.slice(1)}`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new ValueError(op, 'name', "a non-empty string without '.'", JSON.stringify(name));
    }
    const taken: [Kind, boolean][] = [
      ['parameter', this.#params.has(name)],
      ['buffer', this.#buffers.has(name)],
      ['module', this.#modules.has(name)],
    ];
    for (const [k, has] of taken) {
      if (has && k !== kind)
        throw new ValueError(op, 'name', `a name not already used by a ${k}`, `'${name}'`);
    }
  }

  /**
   * Registers a trainable tensor under `name` and returns it (store it in a field). The tensor must be a
   * floating-point leaf; it gets `requiresGrad` (unless `requiresGrad: false`) and is kept out of scopes.
   * Registering an existing name replaces the entry in place (the old tensor is not disposed).
   */
  registerParameter(name: string, t: Tensor, opts: ParameterOptions = {}): Tensor {
    this.#checkName('parameter', name);
    const op = `${this.typeName}.registerParameter`;
    if (!(t instanceof Tensor)) throw new ValueError(op, name, 'a Tensor', typeof t);
    t.assertAlive(op, name);
    if (!isFloat(t.dtype)) throw new ValueError(op, name, 'a floating-point tensor', t.dtype);
    if (!t.isLeaf) throw new ValueError(op, name, 'a leaf tensor (detach() it first)', 'the output of an op');
    t.setRequiresGrad(opts.requiresGrad ?? true);
    this.#params.set(name, keep(t));
    return t;
  }

  /**
   * Registers a non-trainable tensor (running statistics, counters, fixed tables) under `name` and returns
   * it. Persistent buffers (the default) are part of the state dict.
   */
  registerBuffer(name: string, t: Tensor, opts: BufferOptions = {}): Tensor {
    this.#checkName('buffer', name);
    const op = `${this.typeName}.registerBuffer`;
    if (!(t instanceof Tensor)) throw new ValueError(op, name, 'a Tensor', typeof t);
    t.assertAlive(op, name);
    this.#buffers.set(name, keep(t));
    if (opts.persistent ?? true) this.#nonPersistent.delete(name);
    else this.#nonPersistent.add(name);
    return t;
  }

  /** Registers a child module under `name` (replacing one of that name in place) and returns it. */
  registerModule<M extends Module>(name: string, m: M): M {
    this.#checkName('module', name);
    const op = `${this.typeName}.registerModule`;
    if (!(m instanceof Module)) throw new ValueError(op, name, 'a Module', typeof m);
    if (m.modules().includes(this)) {
      throw new ValueError(op, name, 'a module that does not contain this one', 'a cycle');
    }
    this.#modules.set(name, m);
    return m;
  }

  /** This module's direct children with their names, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#modules.entries()];
  }

  /** This module's direct children, in registration order. */
  children(): Module[] {
    return [...this.#modules.values()];
  }

  /**
   * This module (named `''`) and every descendant with its dotted name, depth first in registration order.
   * A module reachable by two paths is listed once, under the first.
   */
  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, prefix: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [n, c] of m.#modules) walk(c, prefix === '' ? n : `${prefix}.${n}`);
    };
    walk(this, '');
    return out;
  }

  /** This module and every descendant (see {@link Module.namedModules}). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  #namedTensors(which: 'params' | 'buffers', recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of mods) {
      for (const [n, t] of which === 'params' ? m.#params : m.#buffers) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([prefix === '' ? n : `${prefix}.${n}`, t]);
      }
    }
    return out;
  }

  /** Every parameter with its dotted name (each tensor once, under its first name). */
  namedParameters(recurse = true): [string, Tensor][] {
    return this.#namedTensors('params', recurse);
  }

  /** Every parameter (each tensor once): what an optimizer takes. */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters(recurse).map(([, t]) => t);
  }

  /** Every buffer with its dotted name, persistent or not. */
  namedBuffers(recurse = true): [string, Tensor][] {
    return this.#namedTensors('buffers', recurse);
  }

  /** Every buffer, persistent or not. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, t]) => t);
  }

  /** The descendant at a dotted path (`'blocks.0.attn'`; `''` is this module). */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let m: Module = this;
    const parts = target.split('.');
    for (let i = 0; i < parts.length; i++) {
      const next = m.#modules.get(parts[i]);
      if (!next) {
        const at = parts.slice(0, i).join('.') || '(root)';
        const have = [...m.#modules.keys()].join(', ') || 'none';
        throw new ValueError(
          `${this.typeName}.getSubmodule`,
          'target',
          `a path of child modules (children of ${at}: ${have})`,
          `'${target}'`,
        );
      }
      m = next;
    }
    return m;
  }

  #getTensor(kind: 'params' | 'buffers', op: string, target: string): Tensor {
    const dot = target.lastIndexOf('.');
    const owner = this.getSubmodule(dot < 0 ? '' : target.slice(0, dot));
    const t = (kind === 'params' ? owner.#params : owner.#buffers).get(target.slice(dot + 1));
    if (!t) {
      const what = kind === 'params' ? 'parameter' : 'buffer';
      throw new ValueError(`${this.typeName}.${op}`, 'target', `the dotted name of a ${what}`, `'${target}'`);
    }
    return t;
  }

  /** The parameter at a dotted name (`'blocks.0.attn.qkv.weight'`). */
  getParameter(target: string): Tensor {
    return this.#getTensor('params', 'getParameter', target);
  }

  /** The buffer at a dotted name (`'bn1.running_mean'`). */
  getBuffer(target: string): Tensor {
    return this.#getTensor('buffers', 'getBuffer', target);
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order (each module's parameters, then its
   * buffers, then its children). The map holds the module's own tensors, not copies: do not dispose them;
   * `clone()` them to keep a snapshot.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, prefix: string) => {
      for (const [n, t] of m.#params) out.set(prefix + n, t);
      for (const [n, t] of m.#buffers) if (!m.#nonPersistent.has(n)) out.set(prefix + n, t);
      for (const [n, c] of m.#modules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies a state dict into this module's parameters and persistent buffers, in place (converted to each
   * tensor's dtype and backend), so optimizers built on the parameters keep working. `source` is a map, a
   * plain object, or the bytes of a safetensors file. Nothing is copied unless every key fits: shapes must
   * match, and in strict mode (the default) the keys must be exactly the module's; a `StateDictError`
   * lists every missing key, unexpected key and shape mismatch at once. Returns the keys that did not line
   * up (always empty in strict mode).
   */
  loadStateDict(source: StateDictSource, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const op = `${this.typeName}.loadStateDict`;
    const strict = opts.strict ?? true;
    const owned = source instanceof Uint8Array;
    const src = owned
      ? new Map(Object.entries(loadSafetensors(source, { backend: 'cpu' })))
      : toStateMap(op, source as Map<string, Tensor> | Record<string, Tensor>);
    try {
      const own = this.stateDict();
      const missingKeys = [...own.keys()].filter((k) => !src.has(k));
      const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
      const mismatches: ShapeMismatch[] = [];
      for (const [key, t] of own) {
        const s = src.get(key);
        if (s && !shapesEqual(s.shape, t.shape))
          mismatches.push({ key, expected: t.shape, received: s.shape });
      }
      const keysBad = strict && (missingKeys.length > 0 || unexpectedKeys.length > 0);
      if (keysBad || mismatches.length > 0) {
        throw new StateDictError(
          this.typeName,
          strict ? missingKeys : [],
          strict ? unexpectedKeys : [],
          mismatches,
        );
      }
      noGrad(() =>
        tidy(() => {
          for (const [key, t] of own) {
            const s = src.get(key);
            if (s) t.assign(cast(toBackend(s, t.backend.name), t.dtype));
          }
        }),
      );
      return { missingKeys, unexpectedKeys };
    } finally {
      if (owned) for (const t of src.values()) t.dispose();
    }
  }

  #uniqueTensors(): Tensor[] {
    const all = [...this.parameters(), ...this.buffers()];
    return [...new Set(all)];
  }

  /**
   * Moves every parameter and buffer (and gradient) to `backend`, in place: the tensor objects stay the same,
   * so fields and optimizers that hold them keep working. An optimizer's own state (moment estimates) does not
   * move: as in PyTorch, move the model before the first optimizer step. Returns this.
   */
  to(backend: string): this {
    getBackend(backend);
    for (const t of this.#uniqueTensors()) t.moveTo(backend);
    return this;
  }

  /** Sets training mode on this module and every descendant (dropout, batch norm). Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Turns gradient tracking on or off for every parameter (freezing a backbone). Returns this. */
  setRequiresGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Frees every parameter's gradient and sets it to null (PyTorch's `set_to_none=True`). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Number of parameter elements (each shared tensor counted once), optionally only trainable ones. */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  /** Calls `fn` on every child (recursively) and then on this module, as `nn.Module.apply`. Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.#modules.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const t of this.#uniqueTensors()) t.dispose();
  }

  /** Extra text shown inside this module's parentheses by `toString()` (as `extra_repr`). */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-style tree of the module, its settings and its children. */
  toString(): string {
    const kids = [...this.#modules.entries()];
    const extra = this.extraRepr();
    if (kids.length === 0) return `${this.typeName}(${extra})`;
    const lines = kids.map(([n, m]) => `  (${n}): ${m.toString().replaceAll('\n', '\n  ')}`);
    if (extra) lines.unshift(`  ${extra}`);
    return `${this.typeName}(\n${lines.join('\n')}\n)`;
  }
}

/**
 * A module whose forward maps one tensor to one tensor (activations, norms, projections): the type of
 * pluggable layers such as {@link Mlp}'s `actLayer`.
 */
export interface TensorModule extends Module {
  /** Maps one tensor to one tensor. */
  forward(x: Tensor): Tensor;
}

/** `shape` as PyTorch prints it in reprs: `(2, 3)`. */
export function reprShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}
