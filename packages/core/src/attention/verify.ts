import { fmtShape, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { compareArrays } from '../testing/compare.js';
import { type Tolerance, toleranceFor } from '../testing/tolerances.js';
import { disposeAttentionInputs } from './inputs.js';
import type { AttentionOpEntry } from './registry.js';
import { type AttentionWorkload, gatherQueryRows, tokenCount } from './workload.js';

/** How an op's output compares with its reference on some query rows. */
export interface ReferenceCheck {
  /** The query rows (flat token indices) that were compared. */
  rows: number[];
  /** Largest absolute difference over those rows (NaN when either side has a NaN where the other has not). */
  maxAbsError: number;
  /** Elements outside `tolerance`. */
  bad: number;
  /** The tolerance used: the output backend's, from `toleranceFor`. */
  tolerance: Tolerance;
}

/**
 * Compares `output`, the result of `entry.run` on inputs made with `seed` (on any backend), with
 * `entry.reference` on the query rows `rows` (default: all), computed from CPU inputs made with the same
 * seed. Reads `output` asynchronously, so it works for backends without synchronous readback.
 */
export async function checkAttentionOutput(
  entry: AttentionOpEntry,
  workload: AttentionWorkload,
  output: Tensor,
  opts: { seed: number; rows?: readonly number[]; tolerance?: Tolerance },
): Promise<ReferenceCheck> {
  const op = `checkAttentionOutput(${entry.name})`;
  const n = tokenCount(workload);
  const lead = [workload.batch, ...workload.tokens, workload.heads];
  if (output.rank !== lead.length + 1 || lead.some((d, i) => d !== output.shape[i])) {
    throw new ShapeError(op, 'output', `[${lead.join(', ')}, valueDim]`, fmtShape(output.shape));
  }
  const rows = opts.rows ? [...opts.rows] : Array.from({ length: n }, (_, i) => i);
  const cpuInputs = entry.makeInputs(workload, { backend: 'cpu', seed: opts.seed });
  let expected: Float64Array;
  try {
    expected = entry.reference(cpuInputs, workload, { rows }).values;
  } finally {
    disposeAttentionInputs(cpuInputs);
  }
  const actual = gatherQueryRows(await output.data(), output.shape, rows);
  if (actual.length !== expected.length) {
    throw new ShapeError(op, 'reference values', `${actual.length} elements`, String(expected.length));
  }
  const tolerance = opts.tolerance ?? toleranceFor(output.backend.name);
  const d = compareArrays(actual, expected, tolerance);
  // compareArrays leaves NaN/infinity mismatches out of maxAbs; a summary number must not hide them.
  const maxAbsError = nonFiniteMismatch(actual, expected) ? Number.NaN : d.maxAbs;
  return { rows, maxAbsError, bad: d.bad, tolerance };
}

function nonFiniteMismatch(a: Float64Array, e: Float64Array): boolean {
  for (let i = 0; i < e.length; i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(e[i])) continue;
    if (!Object.is(a[i], e[i])) return true; // equal infinities, or NaN on both sides, match
  }
  return false;
}
