import type { AttentionWorkload } from '@attnkit/core';
import type { Measurement } from './bench.js';

/**
 * The outcome of one case: `ok` (ran and matched the reference), `mismatch` (ran, but some checked elements
 * are outside tolerance), `error` (the op threw), `skipped` (the op does not take this grid).
 */
export type Status = 'ok' | 'mismatch' | 'error' | 'skipped';

/** One row of the results table and of the JSON report. */
export interface CaseResult {
  op: string;
  packageName: string;
  /** Sizes and parameters, e.g. `B1 56x56 H4 d32`, or the bare grid for skipped cases. */
  shape: string;
  backend: string;
  status: Status;
  /** Why the case was skipped or failed. */
  reason?: string;
  workload?: AttentionWorkload;
  measurement?: Measurement;
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** Milliseconds with about three significant digits. */
export function fmtMs(ms: number): string {
  return ms >= 100 ? fixed(ms, 0) : ms >= 10 ? fixed(ms, 1) : fixed(ms, 2);
}

/** An error magnitude such as `3.0e-7` (`0` when exact, `NaN` when non-finite values disagree). */
export function fmtError(e: number): string {
  return e === 0 ? '0' : Number.isNaN(e) ? 'NaN' : e.toExponential(1);
}

/** What the check column says. */
export function checkText(r: CaseResult): string {
  const m = r.measurement;
  switch (r.status) {
    case 'ok':
      return `ok (${m?.checkedRows} rows)`;
    case 'mismatch':
      return `FAIL: ${m?.bad} values off`;
    case 'error':
      return 'ERROR (see below)';
    case 'skipped':
      return `skipped: ${r.reason}`;
  }
}

/** The rows of the results table, as cells: op, shape, backend, median ms, GFLOP/s, max error, check. */
export function tableRows(results: readonly CaseResult[]): string[][] {
  return results.map((r) => {
    const m = r.measurement;
    return [
      r.op,
      r.shape,
      r.backend,
      m ? fmtMs(m.medianMs) : '-',
      m ? fixed(m.gflopPerS, 2) : '-',
      m ? fmtError(m.maxAbsError) : '-',
      checkText(r),
    ];
  });
}

/** The header of {@link tableRows}. */
export const TABLE_HEADER = ['op', 'shape', 'backend', 'median ms', 'GFLOP/s', 'max error', 'check'];

/** Columns of {@link TABLE_HEADER} that hold numbers (right-aligned). */
export const NUMERIC_COLUMNS: readonly number[] = [3, 4, 5];

/** A plain-text table with aligned columns; the columns in `numeric` are right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly string[][],
  numeric: readonly number[] = NUMERIC_COLUMNS,
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (numeric.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
