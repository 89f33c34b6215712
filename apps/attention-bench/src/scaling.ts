import {
  type AttentionOpEntry,
  acceptsTokenRank,
  attentionWorkloadFor,
  disposeAttentionInputs,
} from '@attnkit/core';
import { median } from './bench.js';

/** One op's time against sequence length. */
export interface ScalingSeries {
  op: string;
  packageName: string;
  /** Median ms per call at each length that ran. */
  points: { n: number; medianMs: number }[];
  /** Why the sweep stopped early or did not run (a length the op rejects, the time budget). */
  note?: string;
}

/** How the sweep runs. */
export interface ScalingSettings {
  backend: string;
  /** Sequence lengths, ascending. */
  sizes: readonly number[];
  batch: number;
  heads: number;
  headDim: number;
  seed: number;
  /** Timed runs per point (after one warm-up run on backends that compile kernels). */
  reps: number;
  /** An op stops growing N after a call that took longer than this. */
  stopAfterMs: number;
}

/** The lengths swept by default: short on the CPU (dense attention runs at about 1 GFLOP/s there). */
export function defaultScalingSizes(backend: string, quick: boolean): number[] {
  if (quick) return [64, 128];
  return backend === 'cpu' ? [256, 512, 1024, 2048] : [1024, 2048, 4096, 8192, 16384];
}

/**
 * Times every 1-D-capable op at each length (same batch, heads and head size as the main table), so that
 * linear- and sparse-time ops can be compared with dense attention as N grows. Values are not checked here
 * (the main table checks each op against its reference); every tensor made is freed.
 */
export async function scalingSweep(
  entries: readonly AttentionOpEntry[],
  s: ScalingSettings,
  onStep: (op: string, n: number) => void,
): Promise<ScalingSeries[]> {
  const series: ScalingSeries[] = [];
  for (const entry of entries) {
    if (!acceptsTokenRank(entry, 1)) continue;
    const out: ScalingSeries = { op: entry.name, packageName: entry.packageName, points: [] };
    series.push(out);
    for (const n of s.sizes) {
      onStep(entry.name, n);
      let workload: ReturnType<typeof attentionWorkloadFor>;
      try {
        workload = attentionWorkloadFor(entry, {
          batch: s.batch,
          tokens: [n],
          heads: s.heads,
          headDim: s.headDim,
        });
      } catch (e) {
        out.note = `stopped at N=${n}: ${(e as Error).message}`;
        break;
      }
      const inputs = entry.makeInputs(workload, { backend: s.backend, seed: s.seed });
      try {
        const warm = s.backend !== 'cpu';
        const times: number[] = [];
        for (let i = 0; i < s.reps + (warm ? 1 : 0); i++) {
          const t0 = performance.now();
          const y = entry.run(inputs, workload);
          await y.backend.sync?.();
          const ms = performance.now() - t0;
          y.dispose();
          if (!(warm && i === 0)) times.push(ms);
          if (ms > s.stopAfterMs) break;
        }
        const medianMs = median(times);
        out.points.push({ n, medianMs });
        if (medianMs > s.stopAfterMs && n !== s.sizes[s.sizes.length - 1]) {
          out.note = `stopped after N=${n} (${(medianMs / 1000).toFixed(1)} s per call)`;
          break;
        }
      } catch (e) {
        out.note = `failed at N=${n}: ${(e as Error).message.split('\n')[0]}`;
        break;
      } finally {
        disposeAttentionInputs(inputs);
      }
    }
  }
  return series;
}

/**
 * The crossover of each op with a dense reference series: the smallest swept N from which the op is faster at
 * every larger swept N, or a sentence saying it never is / always is within the sweep.
 */
export function crossovers(series: readonly ScalingSeries[], dense = 'sdpa'): Map<string, string> {
  const base = series.find((s) => s.op === dense);
  const out = new Map<string, string>();
  if (!base) return out;
  const baseAt = new Map(base.points.map((p) => [p.n, p.medianMs]));
  for (const s of series) {
    if (s.op === dense) continue;
    const common = s.points.filter((p) => baseAt.has(p.n));
    if (common.length === 0) continue;
    const faster = common.map((p) => p.medianMs < (baseAt.get(p.n) as number));
    let from = -1;
    for (let i = faster.length - 1; i >= 0 && faster[i]; i--) from = i;
    const text =
      from === 0
        ? `faster than ${dense} at every N swept (from ${common[0].n})`
        : from > 0
          ? `faster than ${dense} from N=${common[from].n}`
          : `not faster than ${dense} up to N=${common[common.length - 1].n}`;
    out.set(s.op, text);
  }
  return out;
}
