// `pnpm --filter @attnkit/attention-neighborhood bench`: tiny neighborhood-attention shapes on the CPU and on
// WebGPU (SwiftShader without a GPU), fused and unfused, with dense attention over the same tokens beside.
// Writes bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchCase, supported } from '../../gpu-kernels/bench/cases.js';
import { rerunWithVulkanLoader } from '../../gpu-kernels/bench/env.js';
import { machineInfo } from '../../gpu-kernels/bench/machine.js';
import { type Timing, table, timeCase } from '../../gpu-kernels/bench/timing.js';
import { initWebGPU } from '../../gpu-kernels/src/index.js';
import { denseCase, flopBound, type NaShape, naCase, naTrainCase } from './cases.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');

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

const gpu = await initWebGPU();
const machine = await machineInfo();
const backends = gpu ? ['cpu', 'webgpu'] : ['cpu'];
const results: Timing[] = [];
const skipped: { name: string; backend: string; why: string }[] = [];
for (const c of CASES) {
  for (const b of backends) {
    if (!supported(c, b)) {
      skipped.push({ name: c.name, backend: b, why: `no ${b} kernel for one of ${c.ops.join(', ')}` });
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
  command: 'pnpm --filter @attnkit/attention-neighborhood bench',
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  flopBound: Object.fromEntries(
    [na2d, na1d, na3d].map((s) => [`${s.tokens.join('x')} k${s.kernelSize}`, flopBound(s)]),
  ),
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
