// `pnpm --filter @attnkit/gpu-kernels bench`: small shapes on the CPU and on WebGPU (SwiftShader without a
// GPU), written to bench/results/<date>-<machine>.json at the repository root (or the path after `--out`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchCase,
  conv2dCase,
  layerNormCase,
  matmulCase,
  sdpaCase,
  sdpaTrainCase,
  softmaxCase,
} from './cases.js';
import { finishLocalBench, onEach, startLocalBench, timeCases } from './harness.js';

const bench = await startLocalBench();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const attention = { batch: 1, heads: 4, tokens: 256, headDim: 32 };
const CASES: BenchCase[] = [
  matmulCase(128, 128, 128),
  matmulCase(256, 256, 256),
  softmaxCase(256, 1024),
  layerNormCase(256, 1024),
  conv2dCase(1, 16, 32, 16, 3),
  sdpaCase({ ...attention, causal: false }),
  sdpaCase({ ...attention, causal: true }),
  sdpaTrainCase({ ...attention, causal: false }),
];

const { results, notRun: skipped } = await timeCases(onEach(CASES, bench.backends), {
  sampleMs: 100,
  samples: 5,
});
finishLocalBench(bench, {
  command: 'pnpm --filter @attnkit/gpu-kernels bench',
  dir: path.join(root, 'bench', 'results'),
  results,
  skipped,
});
process.exit(0);
