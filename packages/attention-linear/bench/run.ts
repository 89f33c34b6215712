// `pnpm --filter @attnkit/attention-linear bench` (= `tsx bench/run.ts`): small shapes of the linear family on
// the CPU (float64 oracle kernels) and on WebGPU (SwiftShader without a GPU), both scan variants, with dense
// causal sdpa beside. Writes bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchCase, sdpaCase } from '../../gpu-kernels/bench/cases.js';
import { finishLocalBench, startLocalBench, timeCases } from '../../gpu-kernels/bench/harness.js';
import { backwardCase, forwardCase, type LinearShape, trainCase } from './cases.js';
import { timePerToken } from './token-timing.js';

const bench = await startLocalBench();
const here = path.dirname(fileURLToPath(import.meta.url));

/** Cases per backend: the WebGPU ones twice, once per scan variant. */
function casesFor(backend: string): BenchCase[] {
  const out: BenchCase[] = [];
  for (const tokens of [256, 1024]) {
    const s: LinearShape = { batch: 1, heads: 2, tokens, dk: 32, dv: 32 };
    const variants = backend === 'webgpu' ? (['sequential', 'parallel'] as const) : (['auto'] as const);
    for (const v of variants) out.push(forwardCase('lightning', s, v), backwardCase(s, v));
    out.push(
      trainCase('lightning', s),
      forwardCase('classic', s),
      forwardCase('lightnet', s),
      sdpaCase({ batch: 1, heads: 2, tokens, headDim: 32, causal: true }),
    );
  }
  return out;
}

const { results, notRun: skipped } = await timeCases(
  bench.backends.flatMap((b) => casesFor(b).map((c): [BenchCase, string] => [c, b])),
  { sampleMs: 100, samples: 3 },
  {
    measure: timePerToken,
    describe: (t) =>
      `${t.name} [${t.backend}]: ${t.medianMs.toPrecision(4)} ms, ${t.nsPerToken.toFixed(0)} ns/token`,
  },
);
finishLocalBench(bench, {
  command: 'pnpm --filter @attnkit/attention-linear bench',
  dir: path.join(here, 'results'),
  extra: {
    timing: 'wall clock; per sample, steps queued back to back then one sync; median of 3 samples of ~100 ms',
  },
  results,
  skipped,
});
process.exit(0);
