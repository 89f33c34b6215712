import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionInputs, MakeInputsOptions } from './inputs.js';
import type { AttentionReference } from './reference.js';
import { type AttentionShape, type AttentionWorkload, checkAttentionShape } from './workload.js';

/** How many token axes an attention op handles: sequences (1), images (2), video (3), or any of them. */
export type TokenRank = 1 | 2 | 3 | 'any';

/**
 * What an attention package registers for each of its ops, so that tools (the attention bench, the docs'
 * pattern pictures, cross-backend test suites) can run every registered op without knowing it. Every tensor
 * is laid out `[batch, ...tokens, heads, headDim]`.
 */
export interface AttentionOpEntry {
  /** Unique name, e.g. `'sdpa'` or `'na2d'`: letters, digits, `.`, `_` and `-` (tools split lists on commas). */
  readonly name: string;
  /** The npm package that registered it, e.g. `'@attnkit/core'`. */
  readonly packageName: string;
  /** One sentence saying what the op computes. */
  readonly description: string;
  /** The token-grid ranks the op accepts. */
  readonly tokenRank: TokenRank;
  /**
   * Workloads the op's authors consider representative, with its parameters set (tests and
   * `attention-bench --shapes defaults` run them). Sizes should fit a CPU reference check.
   */
  defaultWorkloads(): AttentionWorkload[];
  /**
   * The workload for the given sizes with the op's default parameters (e.g. a 7x7 kernel); tools use it to run
   * every op on the same shapes. Throws a clear error for sizes the op cannot handle (a grid smaller than
   * the kernel). Omitted: `{ ...shape, params: {} }`.
   */
  workloadFor?(shape: AttentionShape): AttentionWorkload;
  /** Random inputs for `workload` on `opts.backend`; the same seed gives the same values on every backend. */
  makeInputs(workload: AttentionWorkload, opts: MakeInputsOptions): AttentionInputs;
  /**
   * Runs the op through the dispatcher, on the backend the inputs live on. Returns the output laid out
   * `[batch, ...tokens, heads, valueDim]`.
   */
  run(inputs: AttentionInputs, workload: AttentionWorkload): Tensor;
  /**
   * The exact output for the query positions `opts.rows` (flat token indices; default: all), computed on the
   * CPU in float64 by a formula independent of `run`'s kernels. `inputs` are CPU tensors, made by
   * `makeInputs` with `backend: 'cpu'` and the seed `run`'s inputs were made with.
   */
  reference(
    inputs: AttentionInputs,
    workload: AttentionWorkload,
    opts?: { rows?: readonly number[] },
  ): AttentionReference;
  /**
   * Floating-point operations of one forward call: multiply-adds of the two products (logits and the
   * weighted sum of values) count 2 each, softmax and masking are not counted (the convention of
   * FlashAttention's and NATTEN's reports). Tools divide it by the run time to report GFLOP/s.
   */
  flops(workload: AttentionWorkload): number;
  /**
   * Which keys the query at flat position `queryIndex` attends to: a 0/1 mask over flat key positions
   * (length = number of tokens), the same for every batch item and head. Used to draw the op's pattern.
   */
  pattern(workload: AttentionWorkload, queryIndex: number): Uint8Array;
  /**
   * For ops with softmax weights: the weights of one query over every key (float64, from CPU inputs as in
   * `reference`), to draw them as a heat map. Omitted for ops without explicit weights (linear attention).
   */
  weights?(
    inputs: AttentionInputs,
    workload: AttentionWorkload,
    opts: { query: number; batch?: number; head?: number },
  ): Float64Array;
}

const entries = new Map<string, AttentionOpEntry>();
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REQUIRED = ['defaultWorkloads', 'makeInputs', 'run', 'reference', 'flops', 'pattern'] as const;

/**
 * Makes an attention op known to tools. Attention packages call it when they load (core registers `sdpa` and
 * `sdpa-causal`). A second op with the same name is an error: unregister the first to replace it.
 */
export function registerAttentionOp(entry: AttentionOpEntry): void {
  const op = 'registerAttentionOp';
  if (typeof entry?.name !== 'string' || !NAME.test(entry.name)) {
    throw new ValueError(
      op,
      'entry.name',
      'letters, digits, ".", "_" or "-", starting with a letter or digit',
      JSON.stringify(entry?.name),
    );
  }
  const existing = entries.get(entry.name);
  if (existing) {
    throw new ValueError(
      op,
      'entry.name',
      'a name not registered yet (call unregisterAttentionOp first to replace an op)',
      `'${entry.name}', already registered by ${existing.packageName}`,
    );
  }
  for (const key of ['packageName', 'description'] as const) {
    if (typeof entry[key] !== 'string' || entry[key].length === 0) {
      throw new ValueError(op, `entry.${key} of '${entry.name}'`, 'a non-empty string', String(entry[key]));
    }
  }
  if (![1, 2, 3, 'any'].includes(entry.tokenRank)) {
    throw new ValueError(
      op,
      `entry.tokenRank of '${entry.name}'`,
      "1, 2, 3 or 'any'",
      String(entry.tokenRank),
    );
  }
  for (const key of REQUIRED) {
    if (typeof entry[key] !== 'function') {
      throw new ValueError(op, `entry.${key} of '${entry.name}'`, 'a function', typeof entry[key]);
    }
  }
  entries.set(entry.name, entry);
}

/** Forgets the attention op called `name`; returns whether it was registered. */
export function unregisterAttentionOp(name: string): boolean {
  return entries.delete(name);
}

/** Every registered attention op, in the order they were registered (core's own first). */
export function listAttentionOps(): AttentionOpEntry[] {
  return [...entries.values()];
}

/** The attention op called `name`, or a clear error listing the registered ones. */
export function getAttentionOp(name: string): AttentionOpEntry {
  const entry = entries.get(name);
  if (!entry) {
    const known = [...entries.keys()].join(', ') || 'none';
    throw new ValueError(
      'getAttentionOp',
      'name',
      `a registered attention op (${known}; attention packages register theirs when imported)`,
      JSON.stringify(name),
    );
  }
  return entry;
}

/** Whether `entry` accepts token grids with `rank` axes. */
export function acceptsTokenRank(entry: Pick<AttentionOpEntry, 'tokenRank'>, rank: number): boolean {
  return entry.tokenRank === 'any' ? rank >= 1 && rank <= 3 : entry.tokenRank === rank;
}

/**
 * The workload of `entry` for `shape`: its `workloadFor` (or the shape without parameters), after checking
 * the sizes and that the op accepts this many token axes. Errors name the op and what it accepts.
 */
export function attentionWorkloadFor(entry: AttentionOpEntry, shape: AttentionShape): AttentionWorkload {
  checkAttentionShape(entry.name, shape);
  if (!acceptsTokenRank(entry, shape.tokens.length)) {
    throw new ValueError(
      entry.name,
      'workload.tokens',
      `a grid with ${entry.tokenRank} token ax${entry.tokenRank === 1 ? 'is' : 'es'}`,
      `[${shape.tokens.join(', ')}]`,
    );
  }
  return entry.workloadFor ? entry.workloadFor(shape) : { ...shape, params: {} };
}
