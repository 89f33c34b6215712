import {
  type AttentionInputs,
  type AttentionOpEntry,
  type AttentionWorkload,
  checkAttentionOutput,
  disposeAttentionInputs,
  sampleQueryRows,
  type Tensor,
  tokenCount,
} from '@attnkit/core';

/** How one case is run. */
export interface RunSettings {
  backend: string;
  /** Timed repetitions after the warm-up. */
  reps: number;
  /** Query rows checked against the reference, or 'all'. */
  checkRows: number | 'all';
  seed: number;
  /** Stop timing a case once its timed reps took this long (at least one rep always runs). */
  budgetMs: number;
}

/** The measured result of one op on one workload. */
export interface Measurement {
  /** Wall time of each timed rep, in ms (the warm-up excluded). */
  timesMs: number[];
  /** Median of `timesMs`. */
  medianMs: number;
  /** Wall time of the warm-up run (includes pipeline compilation on GPU backends). */
  warmupMs: number;
  /** Floating-point operations of one call (the op's `flops`). */
  flops: number;
  /** `flops / medianMs`, in GFLOP/s. */
  gflopPerS: number;
  /** Query rows compared with the reference. */
  checkedRows: number;
  /** Largest absolute difference from the reference on those rows. */
  maxAbsError: number;
  /** Elements outside the backend's tolerance. */
  bad: number;
  /** The tolerance used. */
  tolerance: { atol: number; rtol: number };
}

/** Called with a short description of what is being done now. */
export type OnStep = (text: string) => void;

async function timedRun(entry: AttentionOpEntry, inputs: AttentionInputs, w: AttentionWorkload) {
  const t0 = performance.now();
  const out: Tensor = entry.run(inputs, w);
  // GPU backends queue work: wait for it so the time covers the computation, not just the submission.
  await out.backend.sync?.();
  return { out, ms: performance.now() - t0 };
}

/**
 * Runs `entry` on `workload`: one warm-up run whose output is checked against the reference on a sample of
 * query rows, then up to `reps` timed runs. Throws what the op throws; frees every tensor it makes.
 */
export async function measure(
  entry: AttentionOpEntry,
  workload: AttentionWorkload,
  s: RunSettings,
  onStep: OnStep,
): Promise<Measurement> {
  const inputs = entry.makeInputs(workload, { backend: s.backend, seed: s.seed });
  try {
    onStep('warm-up run');
    const warm = await timedRun(entry, inputs, workload);
    const n = tokenCount(workload);
    const rows =
      s.checkRows === 'all' || s.checkRows >= n
        ? undefined
        : sampleQueryRows(workload.tokens, s.checkRows, s.seed);
    onStep(`checking ${rows?.length ?? n} query rows against the reference`);
    let check: Awaited<ReturnType<typeof checkAttentionOutput>>;
    try {
      check = await checkAttentionOutput(entry, workload, warm.out, { seed: s.seed, rows });
    } finally {
      warm.out.dispose();
    }
    const timesMs: number[] = [];
    let spent = 0;
    for (let i = 0; i < s.reps && (i === 0 || spent < s.budgetMs); i++) {
      onStep(`timed run ${i + 1}/${s.reps}`);
      const { out, ms } = await timedRun(entry, inputs, workload);
      out.dispose();
      timesMs.push(ms);
      spent += ms;
    }
    const medianMs = median(timesMs);
    const flops = entry.flops(workload);
    return {
      timesMs,
      medianMs,
      warmupMs: warm.ms,
      flops,
      gflopPerS: flops / (medianMs * 1e6),
      checkedRows: check.rows.length,
      maxAbsError: check.maxAbsError,
      bad: check.bad,
      tolerance: check.tolerance,
    };
  } finally {
    disposeAttentionInputs(inputs);
  }
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
