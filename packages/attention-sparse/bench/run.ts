// `pnpm --filter @attnkit/attention-sparse bench` (= `tsx bench/run.ts`): the block-sparse engine beside core's
// dense `sdpa` at small shapes, on the CPU and on WebGPU (SwiftShader without a GPU), forward and forward +
// backward. Written to bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchCase, sdpaCase, sdpaTrainCase, supported } from '../../gpu-kernels/bench/cases.js';
import { rerunWithVulkanLoader } from '../../gpu-kernels/bench/env.js';
import { machineInfo } from '../../gpu-kernels/bench/machine.js';
import { type Timing, table, timeCase } from '../../gpu-kernels/bench/timing.js';
// gpu-kernels from source, as its bench helpers (machine.ts) import it: one copy of the backend and device.
import { initWebGPU } from '../../gpu-kernels/src/index.js';
import '../src/webgpu/index.js';
import { randomBlockPattern, sparseCase, sparseTrainCase } from './cases.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');

const s = { batch: 1, heads: 2, tokens: 256, headDim: 32, block: 32 };
const blocks = s.tokens / s.block;
const dense = { batch: s.batch, heads: s.heads, tokens: s.tokens, headDim: s.headDim, causal: false };
const CASES: BenchCase[] = [sdpaCase(dense), sdpaTrainCase(dense)];
for (const density of [0.25, 0.5]) {
  const pattern = randomBlockPattern(blocks, s.heads, density, 7);
  CASES.push(sparseCase(s, pattern), sparseTrainCase(s, pattern));
}

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
    : path.join(here, 'results', `${date.toISOString().slice(0, 10)}-${machine.slug}.json`);
const report = {
  date: date.toISOString(),
  command: 'pnpm --filter @attnkit/attention-sparse bench',
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  patterns: 'per head, diagonal block kept plus round(density * blocks) - 1 random others per query block',
  results,
  skipped,
};
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `\n${table(results)}\n${skipped.map((x) => `skipped ${x.name} on ${x.backend}: ${x.why}`).join('\n')}`,
);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
process.exit(0);
