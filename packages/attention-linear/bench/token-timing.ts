// The linear family is measured per token (its cost grows linearly in N), and a case whose ops fall back to the
// CPU must say so (the timing would be the CPU's): gpu.ts and run.ts time every case through this.
import { fallbackStats } from '@attnkit/core';
import type { BenchCase } from '../../gpu-kernels/bench/cases.js';
import { type Timing, type TimingOptions, timeCase } from '../../gpu-kernels/bench/timing.js';

/** A timing with its sequence length, its time per token, and the ops of the case that ran on the CPU. */
export interface TokenTiming extends Timing {
  tokens: number;
  nsPerToken: number;
  /** Ops with no kernel on the backend, or whose kernel declined the shapes (core's `fallbackStats`). */
  cpuFallbacks: string[];
}

/** Times `c` on `backend` (gpu-kernels' `timeCase`), counting its CPU fallbacks; prints them when there are any. */
export async function timePerToken(
  c: BenchCase,
  backend: string,
  timing: TimingOptions,
): Promise<TokenTiming> {
  fallbackStats.reset();
  const t = await timeCase(c, backend, timing);
  const tokens = c.params.tokens as number;
  const cpuFallbacks = [...fallbackStats.names];
  if (cpuFallbacks.length && backend !== 'cpu') {
    console.log(`  ${c.name}: ran on the CPU: ${cpuFallbacks.join(', ')}`);
  }
  return { ...t, tokens, nsPerToken: (t.medianMs * 1e6) / tokens, cpuFallbacks };
}
