// `pnpm --filter @attnkit/attention-neighborhood bench`: tiny neighborhood-attention shapes on the CPU and on
// WebGPU (SwiftShader without a GPU), fused and unfused, with dense attention over the same tokens beside.
// Writes bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchCase } from '../../gpu-kernels/bench/cases.js';
import { finishLocalBench, onEach, startLocalBench, timeCases } from '../../gpu-kernels/bench/harness.js';
import { denseCase, flopBound, type NaShape, naCase, naTrainCase } from './cases.js';

const bench = await startLocalBench();
const here = path.dirname(fileURLToPath(import.meta.url));

const na2d: NaShape = { batch: 1, heads: 2, tokens: [16, 16], headDim: 16, kernelSize: 7 };
const na1d: NaShape = { batch: 1, heads: 2, tokens: [512], headDim: 16, kernelSize: 64 };
const na3d: NaShape = { batch: 1, heads: 2, tokens: [6, 8, 8], headDim: 16, kernelSize: 3 };
const CASES: BenchCase[] = [
  naCase(na2d, 'fused'),
  naCase(na2d, 'unfused'),
  denseCase(na2d),
  naTrainCase(na2d, 'fused'),
  naTrainCase(na2d, 'unfused'),
  naCase(na1d, 'fused'),
  naCase(na1d, 'unfused'),
  denseCase(na1d),
  naCase(na3d, 'fused'),
  denseCase(na3d),
];

const { results, notRun: skipped } = await timeCases(onEach(CASES, bench.backends), {
  sampleMs: 100,
  samples: 5,
});
finishLocalBench(bench, {
  command: 'pnpm --filter @attnkit/attention-neighborhood bench',
  dir: path.join(here, 'results'),
  extra: {
    flopBound: Object.fromEntries(
      [na2d, na1d, na3d].map((s) => [`${s.tokens.join('x')} k${s.kernelSize}`, flopBound(s)]),
    ),
  },
  results,
  skipped,
});
process.exit(0);
