import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttentionOpEntry,
  type AttentionWorkload,
  formatWorkload,
  listAttentionOps,
} from '@attnkit/core';
import { HELP, type Options, parseOptions, UsageError } from './args.js';
import { type BackendChoice, chooseBackend } from './backend.js';
import { measure } from './bench.js';
import { machineInfo } from './machine.js';
import { loadAttentionPackages } from './packages.js';
import { type Case, plan } from './plan.js';
import { makeProgress, type Output } from './progress.js';
import type { FigureSet, OpSection } from './report/html.js';
import { patternFigures, weightFigures } from './report/pictures.js';
import { writeReport } from './report/write.js';
import { type CaseResult, fmtMs, formatTable, TABLE_HEADER, tableRows } from './results.js';
import { crossovers, defaultScalingSizes, type ScalingSeries, scalingSweep } from './scaling.js';

/** Where the bench writes: the results on `stdout`, progress and errors on `stderr`. */
export interface Io {
  stdout: Output;
  stderr: Output;
}

/** What a run produced: the exit status, the rows of the table, and the report files. */
export interface Outcome {
  /** 0: every case ran and matched its reference; 1: a mismatch or an op error; 2: a usage error or no op. */
  exitCode: number;
  results: CaseResult[];
  htmlPath?: string;
  jsonPath?: string;
}

/** A timed case stops repeating after this long (at least one timed run always happens). */
const CASE_BUDGET_MS = 10_000;

const defaultOutDir = () => fileURLToPath(new URL('../report/', import.meta.url));

/**
 * The bench: parses `argv`, runs every selected op on every selected shape, prints the table and writes the
 * report. Never throws for a bad command line or a failing op: it says so and returns a non-zero exit code.
 */
export async function main(argv: readonly string[], io: Io = process): Promise<Outcome> {
  let opts: Options;
  let backend: BackendChoice;
  let cases: Case[];
  let notes: string[];
  let packagesLine: string;
  try {
    opts = parseOptions(argv);
    if (opts.help) {
      io.stdout.write(HELP);
      return { exitCode: 0, results: [] };
    }
    packagesLine = await loadAttentionPackages();
    if (listAttentionOps().length === 0) {
      // Core registers sdpa and sdpa-causal when it loads: an empty registry means a build dropped that import.
      throw new Error(
        'no attention op is registered; @attnkit/core registers sdpa and sdpa-causal when imported, so its ' +
          'build dropped that side-effect import (check "sideEffects" in its package.json)',
      );
    }
    backend = await chooseBackend(opts.backend);
    ({ cases, notes } = plan(opts, backend.name));
  } catch (e) {
    const message = (e as Error).message;
    io.stderr.write(
      `attention-bench: ${message}\n${e instanceof UsageError ? 'Run with --help for the flags.\n' : ''}`,
    );
    return { exitCode: 2, results: [] };
  }

  const ops = listAttentionOps();
  const out = io.stdout;
  out.write(
    `attention-bench: ${ops.length} registered attention ops (${ops.map((e) => e.name).join(', ')})\n`,
  );
  out.write(`${packagesLine}\n`);
  out.write(`backend: ${backend.name} (${backend.description})\n${backend.note}\n`);
  const rowsText =
    opts.checkRows === 'all'
      ? 'every query row'
      : `${opts.checkRows} query rows (corners, edge, centre, then random; all when fewer)`;
  notes.push(
    `check: ${rowsText} per case against the op's float64 CPU reference, ` +
      `from the same seeded inputs; max error is the largest absolute difference`,
    `timing: median of up to ${opts.reps} timed run${opts.reps === 1 ? '' : 's'} after one warm-up run (a case stops after about ` +
      `${CASE_BUDGET_MS / 1000} s); GFLOP/s counts 4 FLOPs per attended (query, key) pair and channel (softmax excluded)`,
  );
  for (const n of notes) out.write(`${n}\n`);

  const progress = makeProgress(io.stderr);
  const results: CaseResult[] = [];
  const sections = new Map<string, OpSection>();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const shape = c.workload ? formatWorkload(c.workload) : c.tokens.join('x');
    const step = (what: string) => progress.step(i, cases.length, `${c.entry.name} ${shape}`, what);
    results.push(await runCase(c, shape, backend.name, opts, step));
    if (c.workload) {
      step('drawing the attention pattern');
      sectionOf(sections, c.entry).sets.push(figureSet(c.entry, c.workload, shape, opts.seed));
    }
  }
  progress.done();

  out.write(`\n${formatTable(TABLE_HEADER, tableRows(results))}\n`);
  const scaling = await sweep(opts, backend.name, io.stderr);
  if (scaling.length > 0) out.write(`\n${scalingText(scaling)}\n`);
  for (const r of results.filter((x) => x.status === 'error')) {
    out.write(`\n${r.op} ${r.shape} failed:\n${r.reason}\n`);
  }
  const dir = opts.out ? path.resolve(process.env.INIT_CWD ?? process.cwd(), opts.out) : defaultOutDir();
  const { htmlPath, jsonPath } = writeReport(
    dir,
    {
      date: new Date().toISOString(),
      command: `attention-bench ${argv.join(' ')}`.trim(),
      machine: machineInfo(),
      backend,
      packages: packagesLine,
      notes,
      results,
      scaling,
      sections: [...sections.values()],
    },
    {
      reps: opts.reps,
      checkRows: opts.checkRows,
      seed: opts.seed,
      batch: opts.batch,
      heads: opts.heads,
      headDim: opts.headDim,
    },
  );
  out.write(`\nreport: ${htmlPath}\nresults: ${jsonPath}\n`);

  const failed = results.filter((r) => r.status === 'mismatch' || r.status === 'error').length;
  if (failed > 0) io.stderr.write(`attention-bench: ${failed} case(s) failed their check or threw\n`);
  return { exitCode: failed > 0 ? 1 : 0, results, htmlPath, jsonPath };
}

/** A scaling point stops the op's sweep when one call took longer than this. */
const SCALING_STOP_MS = 8_000;

async function sweep(opts: Options, backend: string, err: Output): Promise<ScalingSeries[]> {
  const sizes = opts.scaling ?? defaultScalingSizes(backend, opts.quick);
  if (sizes === 'off') return [];
  const entries = opts.ops
    ? listAttentionOps().filter((e) => opts.ops?.includes(e.name))
    : listAttentionOps();
  const progress = makeProgress(err);
  const total = entries.length * sizes.length;
  let i = 0;
  const series = await scalingSweep(
    entries,
    {
      backend,
      sizes,
      batch: opts.batch,
      heads: opts.heads,
      headDim: opts.headDim,
      seed: opts.seed,
      reps: Math.min(opts.reps, backend === 'cpu' ? 1 : 3),
      stopAfterMs: SCALING_STOP_MS,
    },
    (op, n) => progress.step(i++, total, `scaling ${op}`, `N=${n}`),
  );
  progress.done();
  return series;
}

/** The sweep as text: ms per call at each N, and where each op overtakes dense attention. */
function scalingText(series: readonly ScalingSeries[]): string {
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  const cross = crossovers(series);
  const header = ['op', ...sizes.map((n) => `N=${n}`), 'against dense'];
  const rows = series.map((s) => {
    const at = new Map(s.points.map((p) => [p.n, p.medianMs]));
    const note = [cross.get(s.op), s.note].filter(Boolean).join('; ');
    return [s.op, ...sizes.map((n) => (at.has(n) ? fmtMs(at.get(n) as number) : '-')), note];
  });
  const numeric = sizes.map((_, c) => c + 1);
  return `time against sequence length (ms per call):\n${formatTable(header, rows, numeric)}`;
}

async function runCase(
  c: Case,
  shape: string,
  backend: string,
  opts: Options,
  step: (what: string) => void,
): Promise<CaseResult> {
  const base = { op: c.entry.name, packageName: c.entry.packageName, shape, backend };
  if (!c.workload) return { ...base, status: 'skipped', reason: c.skip };
  try {
    const settings = {
      backend,
      reps: opts.reps,
      checkRows: opts.checkRows,
      seed: opts.seed,
      budgetMs: CASE_BUDGET_MS,
    };
    const m = await measure(c.entry, c.workload, settings, step);
    return { ...base, status: m.bad > 0 ? 'mismatch' : 'ok', workload: c.workload, measurement: m };
  } catch (e) {
    const err = e as Error;
    return { ...base, status: 'error', workload: c.workload, reason: err.stack ?? String(err) };
  }
}

function sectionOf(sections: Map<string, OpSection>, e: AttentionOpEntry): OpSection {
  let s = sections.get(e.name);
  if (!s) {
    s = { op: e.name, packageName: e.packageName, description: e.description, sets: [] };
    sections.set(e.name, s);
  }
  return s;
}

function figureSet(entry: AttentionOpEntry, w: AttentionWorkload, shape: string, seed: number): FigureSet {
  try {
    return { shape, figures: [...patternFigures(entry, w), ...weightFigures(entry, w, seed)] };
  } catch (e) {
    return { shape, figures: [], error: `drawing failed: ${(e as Error).message}` };
  }
}
