// `pnpm --filter @attnkit/attention-sparse bench` (= `tsx bench/run.ts`): the block-sparse engine beside core's
// dense `sdpa` at small shapes, on the CPU and on WebGPU (SwiftShader without a GPU), forward and forward +
// backward. Written to bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchCase, sdpaCase, sdpaTrainCase } from '../../gpu-kernels/bench/cases.js';
import { finishLocalBench, onEach, startLocalBench, timeCases } from '../../gpu-kernels/bench/harness.js';
import '../src/webgpu/index.js';
import { randomBlockPattern, sparseCase, sparseTrainCase } from './cases.js';

const bench = await startLocalBench();
const here = path.dirname(fileURLToPath(import.meta.url));

const s = { batch: 1, heads: 2, tokens: 256, headDim: 32, block: 32 };
const blocks = s.tokens / s.block;
const dense = { batch: s.batch, heads: s.heads, tokens: s.tokens, headDim: s.headDim, causal: false };
const CASES: BenchCase[] = [sdpaCase(dense), sdpaTrainCase(dense)];
for (const density of [0.25, 0.5]) {
  const pattern = randomBlockPattern(blocks, s.heads, density, 7);
  CASES.push(sparseCase(s, pattern), sparseTrainCase(s, pattern));
}

const { results, notRun: skipped } = await timeCases(onEach(CASES, bench.backends), {
  sampleMs: 100,
  samples: 5,
});
finishLocalBench(bench, {
  command: 'pnpm --filter @attnkit/attention-sparse bench',
  dir: path.join(here, 'results'),
  extra: {
    patterns: 'per head, diagonal block kept plus round(density * blocks) - 1 random others per query block',
  },
  results,
  skipped,
});
process.exit(0);
