import { ValueError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

function checkIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) {
    throw new ValueError(op, 'index', `an integer in [${-n}, ${n - 1}]`, String(i));
  }
  return i < 0 ? i + n : i;
}

// The containers keep no list of their own: the registered children are the one source of truth, so replacing
// a child with registerModule('3', block) (model surgery) is seen by forward and iteration alike.

/**
 * Modules run one after another (`torch.nn.Sequential`): each one's output is the next one's input. Children
 * are named `'0'`, `'1'`, ... as in PyTorch, so `Sequential(Linear, ReLU, Linear)` has the state-dict keys
 * `0.weight`, `0.bias`, `2.weight`, `2.bias`.
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end (named by its position). Returns this. */
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): Module {
    const items = this.children();
    return items[checkIndex('Sequential.at', i, items.length)];
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  /**
   * Runs the modules in order on `input`. Intermediate results are the caller's to free: wrap the call in
   * `tidy` (every attnkit layer returns a new tensor, except Identity, Dropout in eval mode and Flatten views).
   */
  override forward(input: Tensor): Tensor {
    let x: unknown = input;
    for (const m of this.children()) x = m.forward(x);
    return x as Tensor;
  }
}

/**
 * A list of modules registered as children `'0'`, `'1'`, ... (`torch.nn.ModuleList`), for models that loop
 * over blocks themselves (`blocks.3.attn.qkv.weight`). It has no forward of its own.
 */
export class ModuleList<M extends Module = Module> extends Module {
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end. Returns this. */
  append(m: M): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  /** Adds several modules at the end. Returns this. */
  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at position `i` (negative counts from the end). */
  at(i: number): M {
    const items = this.children() as M[];
    return items[checkIndex('ModuleList.at', i, items.length)];
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }

  /** Always throws: a ModuleList only holds modules; iterate it in the parent's forward. */
  override forward(): never {
    throw new ValueError('ModuleList.forward', 'call', "a loop over the list's modules", 'a direct call');
  }
}

/**
 * Modules by name (`torch.nn.ModuleDict`), registered as children under their keys in insertion order
 * (`heads.cls.weight`). It has no forward of its own.
 */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? modules : Object.entries(modules);
    for (const [k, m] of entries as Iterable<[string, M]>) this.set(k, m);
  }

  /** Adds or replaces the module under `key` (a replaced one keeps its position). Returns this. */
  set(key: string, m: M): this {
    this.registerModule(key, m);
    return this;
  }

  /** The module under `key`, or undefined. */
  get(key: string): M | undefined {
    return this.entries().find(([k]) => k === key)?.[1];
  }

  /** Whether a module is stored under `key`. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** The keys, in insertion order. */
  keys(): string[] {
    return this.entries().map(([k]) => k);
  }

  /** The modules, in insertion order. */
  values(): M[] {
    return this.children() as M[];
  }

  /** `[key, module]` pairs, in insertion order. */
  entries(): [string, M][] {
    return this.namedChildren() as [string, M][];
  }

  /** Number of modules. */
  get size(): number {
    return this.children().length;
  }

  /** Always throws: a ModuleDict only holds modules; pick them by key in the parent's forward. */
  override forward(): never {
    throw new ValueError(
      'ModuleDict.forward',
      'call',
      "a lookup of the dict's modules by key",
      'a direct call',
    );
  }
}
