// `pnpm --filter @attnkit/attention-linear bench` (= `tsx bench/run.ts`): small shapes of the linear family on
// the CPU (float64 oracle kernels) and on WebGPU (SwiftShader without a GPU), both scan variants, with dense
// causal sdpa beside. Writes bench/results/<date>-<machine>.json in this package (or the path after `--out`).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fallbackStats } from '@attnkit/core';
import { type BenchCase, sdpaCase, supported } from '../../gpu-kernels/bench/cases.js';
import { rerunWithVulkanLoader } from '../../gpu-kernels/bench/env.js';
import { machineInfo } from '../../gpu-kernels/bench/machine.js';
import { type Timing, table, timeCase } from '../../gpu-kernels/bench/timing.js';
import { initWebGPU } from '../../gpu-kernels/src/index.js';
import { backwardCase, forwardCase, type LinearShape, trainCase } from './cases.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');

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

const gpu = await initWebGPU();
const machine = await machineInfo();
const backends = gpu ? ['cpu', 'webgpu'] : ['cpu'];
const results: (Timing & { nsPerToken: number; cpuFallbacks: string[] })[] = [];
const skipped: { name: string; backend: string; why: string }[] = [];
for (const b of backends) {
  for (const c of casesFor(b)) {
    if (!supported(c, b)) {
      skipped.push({ name: c.name, backend: b, why: `no ${b} kernel for ${c.ops.join(' or ')}` });
      continue;
    }
    fallbackStats.reset();
    const t = await timeCase(c, b, { sampleMs: 100, samples: 3 });
    const tokens = c.params.tokens as number;
    // Ops of the case that ran on the CPU instead of WebGPU (no kernel, or a kernel that declined the shapes).
    results.push({ ...t, nsPerToken: (t.medianMs * 1e6) / tokens, cpuFallbacks: [...fallbackStats.names] });
    console.log(
      `${t.name} [${b}]: ${t.medianMs.toPrecision(4)} ms, ${((t.medianMs * 1e6) / tokens).toFixed(0)} ns/token`,
    );
  }
}
const date = new Date();
const file =
  outArg >= 0
    ? path.resolve(args[outArg + 1])
    : path.join(here, 'results', `${date.toISOString().slice(0, 10)}-${machine.slug}.json`);
const report = {
  date: date.toISOString(),
  command: 'pnpm --filter @attnkit/attention-linear bench',
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of 3 samples of ~100 ms',
  results,
  skipped,
};
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${table(results)}`);
for (const s of skipped) console.log(`skipped ${s.name} on ${s.backend}: ${s.why}`);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
process.exit(0);
