// A small timer for queued (GPU) and synchronous (CPU) work: warm-up, then batches of steps between syncs.
import type { BenchCase } from './cases.js';
import { syncBackend } from './cases.js';

/** How long to measure. */
export interface TimingOptions {
  /** Target wall time of one sample in ms: the steps per sample are chosen to reach it (at least one). */
  sampleMs: number;
  /** Samples; the median is reported. */
  samples: number;
}

/** The timing of one case on one backend. */
export interface Timing {
  /** Case name. */
  name: string;
  /** Backend name. */
  backend: string;
  /** Case shapes and options. */
  params: Record<string, number | boolean>;
  /** Median time of one step in ms. */
  medianMs: number;
  /** Fastest sample, ms per step. */
  minMs: number;
  /** Slowest sample, ms per step. */
  maxMs: number;
  /** The first step with its sync (includes pipeline compilation on WebGPU), ms. */
  firstMs: number;
  /** Steps per sample. */
  stepsPerSample: number;
  /** Samples taken. */
  samples: number;
  /** Floating-point operations of one step. */
  flops: number;
  /** How the flops were counted. */
  flopsRule: string;
  /** `flops / medianMs`, in GFLOP/s. */
  gflops: number;
  /** The case's least memory traffic per step, bytes. */
  bytes: number;
}

/** How every benchmark's timings were taken, for its JSON. */
export const TIMING_RULE =
  'wall clock; per sample, steps queued back to back then one sync; median of the samples';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `c` on `backend`: one warm-up step, one calibration step, then `samples` batches. */
export async function timeCase(c: BenchCase, backend: string, opts: TimingOptions): Promise<Timing> {
  const p = c.prepare(backend);
  try {
    await syncBackend(backend);
    let t0 = performance.now();
    p.step();
    await syncBackend(backend);
    const firstMs = performance.now() - t0;
    t0 = performance.now();
    p.step();
    await syncBackend(backend);
    const once = Math.max(performance.now() - t0, 1e-3);
    const steps = Math.max(1, Math.min(10_000, Math.round(opts.sampleMs / once)));
    const perStep: number[] = [];
    for (let s = 0; s < opts.samples; s++) {
      t0 = performance.now();
      for (let i = 0; i < steps; i++) p.step();
      await syncBackend(backend);
      perStep.push((performance.now() - t0) / steps);
    }
    const medianMs = median(perStep);
    return {
      name: c.name,
      backend,
      params: c.params,
      medianMs,
      minMs: Math.min(...perStep),
      maxMs: Math.max(...perStep),
      firstMs,
      stepsPerSample: steps,
      samples: opts.samples,
      flops: c.flops,
      flopsRule: c.flopsRule,
      gflops: c.flops / medianMs / 1e6,
      bytes: c.bytes,
    };
  } finally {
    p.dispose();
  }
}

/** Formats timings as an aligned text table: case, backend, median ms, and the rate in GFLOP/s or TFLOP/s. */
export function table(
  rows: { name: string; backend: string; medianMs: number; gflops: number }[],
  unit: 'GFLOP/s' | 'TFLOP/s' = 'GFLOP/s',
): string {
  const scale = unit === 'TFLOP/s' ? 1e-3 : 1;
  const cells = [
    ['case', 'backend', 'median ms', unit],
    ...rows.map((r) => [r.name, r.backend, r.medianMs.toPrecision(4), (r.gflops * scale).toPrecision(4)]),
  ];
  return alignColumns(cells);
}

/** Rows of cells as text columns, each as wide as its widest cell, two spaces apart. */
export function alignColumns(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

/** A timing derived from two others. */
export interface DerivedTiming {
  name: string;
  backend: string;
  medianMs: number;
  gflops: number;
}

/**
 * The backward alone: each ` fwd+bwd` timing less the forward timing of the same name, with 10/14 of its flops
 * (a forward is 4 flops per query-key pair and head dimension, a backward 10).
 */
export function deriveBackward(results: Timing[]): DerivedTiming[] {
  return results.flatMap((t) => {
    if (!t.name.includes(' fwd+bwd')) return [];
    const fwd = results.find((f) => f.name === t.name.replace('fwd+bwd', 'fwd'));
    if (!fwd) return [];
    const ms = t.medianMs - fwd.medianMs;
    return [
      {
        name: t.name.replace('fwd+bwd', 'bwd'),
        backend: t.backend,
        medianMs: ms,
        gflops: (t.flops * 10) / 14 / ms / 1e6,
      },
    ];
  });
}
