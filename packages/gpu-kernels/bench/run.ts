// `pnpm --filter @attnkit/gpu-kernels bench`: small shapes on the CPU and on WebGPU (SwiftShader without a
// GPU), written to bench/results/<date>-<machine>.json at the repository root (or the path after `--out`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initWebGPU } from '../src/index.js';
import {
  type BenchCase,
  conv2dCase,
  layerNormCase,
  matmulCase,
  sdpaCase,
  sdpaTrainCase,
  softmaxCase,
  supported,
} from './cases.js';
import { rerunWithVulkanLoader } from './env.js';
import { machineInfo } from './machine.js';
import { type Timing, table, timeCase } from './timing.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');

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

const gpu = await initWebGPU();
const machine = await machineInfo();
const backends = gpu ? ['cpu', 'webgpu'] : ['cpu'];
const results: Timing[] = [];
const skipped: { name: string; backend: string; why: string }[] = [];
for (const c of CASES) {
  for (const b of backends) {
    if (!supported(c, b)) {
      skipped.push({ name: c.name, backend: b, why: `no ${b} kernel for ${c.ops.join(' or ')}` });
      continue;
    }
    results.push(await timeCase(c, b, { sampleMs: 100, samples: 5 }));
    console.log(table([results[results.length - 1]]).split('\n')[1]);
  }
}
const date = new Date();
const file =
  outArg >= 0
    ? path.resolve(args[outArg + 1])
    : path.join(root, 'bench', 'results', `${date.toISOString().slice(0, 10)}-${machine.slug}.json`);
const report = {
  date: date.toISOString(),
  command: 'pnpm --filter @attnkit/gpu-kernels bench',
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  results,
  skipped,
};
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `\n${table(results)}\n${skipped.map((s) => `skipped ${s.name} on ${s.backend}: ${s.why}`).join('\n')}`,
);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
process.exit(0);
