import { ValueError } from '../../errors.js';
import { normalizeAxis } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { gatherTrusted } from '../indexing/indexing.js';
import { defineOp, runOp1 } from '../op.js';
import { reshape } from '../views/views.js';

// Sorting ops are primitives that return int32 indices only (no gradient); the values are gathered through
// them, so the gradient of the values is gather's (scattered back through the indices) with nothing to add.
// Order, as PyTorch: NaN counts as larger than every number (last ascending, first descending); equal values
// keep their original order (lower index first) in both directions.

/** Attributes of the argsort kernel. */
interface ArgsortAttrs {
  axis: number;
  descending: boolean;
  /** Whether ties must keep their order. The CPU kernel always does; a GPU kernel may use it to go faster. */
  stable: boolean;
}

/** Attributes of the topk kernel. */
interface TopkAttrs {
  axis: number;
  k: number;
  largest: boolean;
  sorted: boolean;
}

const argsortOp = defineOp<ArgsortAttrs>({ name: 'argsort' });
const topkOp = defineOp<TopkAttrs>({ name: 'topk' });

/** Options of {@link sort} and {@link argsort}. */
export interface SortOptions {
  /** Axis to sort along (default -1, the last). */
  axis?: number;
  /** Largest first (default false). */
  descending?: boolean;
  /**
   * Keep equal values in their original order (default true). The CPU backend is always stable; false lets
   * other backends use a faster unstable sort.
   */
  stable?: boolean;
}

/** Options of {@link topk}. */
export interface TopkOptions {
  /** Axis to select along (default -1, the last). */
  axis?: number;
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
  /** Return them in order, best first (default true); false gives them in their original order. */
  sorted?: boolean;
}

/** Sorted (or selected) values with their int32 positions in the input along the axis. */
export interface ValuesAndIndices {
  /** The values, in x's dtype. Differentiable. */
  values: Tensor;
  /** Where each value came from along the axis (int32). */
  indices: Tensor;
}

/** Runs `f` on `x` seen as 1-D when it is 0-d (PyTorch sorts a scalar as a one-element vector). */
function asVector<T extends Tensor | ValuesAndIndices>(x: Tensor, f: (v: Tensor) => T): T {
  if (x.rank > 0) return f(x);
  const v = reshape(x, [1]);
  const r = f(v);
  v.dispose();
  const back = (t: Tensor) => {
    const s = reshape(t, []);
    t.dispose();
    return s;
  };
  if ('values' in r) return { values: back(r.values), indices: back(r.indices) } as T;
  return back(r as Tensor) as T;
}

function checkFlag(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ValueError(op, name, 'a boolean', String(v));
  return v;
}

function sortAttrs(op: string, x: Tensor, opts: SortOptions): ArgsortAttrs {
  x.assertAlive(op, 'x');
  return {
    axis: normalizeAxis(op, opts.axis ?? -1, Math.max(x.rank, 1)),
    descending: checkFlag(op, 'descending', opts.descending ?? false),
    stable: checkFlag(op, 'stable', opts.stable ?? true),
  };
}

/**
 * The int32 indices that sort `x` along `axis`, as `torch.argsort`: NaN sorts as the largest value, and equal
 * values keep their original order (see {@link SortOptions}).
 */
export function argsort(x: Tensor, opts: SortOptions = {}): Tensor {
  const attrs = sortAttrs('argsort', x, opts);
  return asVector(x, (v) => runOp1(argsortOp, [v], attrs));
}

/**
 * Sorts `x` along `axis` (ascending by default), as `torch.sort`: returns the sorted values and the int32
 * indices they came from. NaN sorts as the largest value; equal values keep their original order. The values
 * are differentiable (the gradient goes back to where each value came from).
 *
 * @example
 * const { values, indices } = sort(tensor([3, 1, 2])); // values [1, 2, 3], indices [1, 2, 0]
 */
export function sort(x: Tensor, opts: SortOptions = {}): ValuesAndIndices {
  const attrs = sortAttrs('sort', x, opts);
  return asVector(x, (v) => {
    const indices = runOp1(argsortOp, [v], attrs);
    return { values: gatherTrusted(v, attrs.axis, indices), indices };
  });
}

/**
 * The `k` largest (or smallest) values of `x` along `axis` and their int32 indices, as `torch.topk`. With
 * `sorted` (default) they come best first; ties go to the lower index, and NaN counts as the largest value.
 * The values are differentiable.
 *
 * @example
 * topk(scores, 5).indices // the five best-scoring positions of each row
 */
export function topk(x: Tensor, k: number, opts: TopkOptions = {}): ValuesAndIndices {
  x.assertAlive('topk', 'x');
  const axis = normalizeAxis('topk', opts.axis ?? -1, Math.max(x.rank, 1));
  const n = x.rank === 0 ? 1 : x.shape[axis];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ValueError(
      'topk',
      'k',
      `an integer in [0, ${n}] (the size of x along axis ${axis})`,
      String(k),
    );
  }
  const largest = checkFlag('topk', 'largest', opts.largest ?? true);
  const sorted = checkFlag('topk', 'sorted', opts.sorted ?? true);
  return asVector(x, (v) => {
    const indices = runOp1(topkOp, [v], { axis, k, largest, sorted });
    return { values: gatherTrusted(v, axis, indices), indices };
  });
}
