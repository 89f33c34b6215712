// The benchmark for the lent GPU machine: bundled by bench/gpu/build.mjs (repository root) into .gpu/bench.mjs.
// Real shapes: matmul 4096^3, fused attention B8 H4 N4096 d32 (full, causal, forward and backward) and causal
// N16384; `--small` runs tiny shapes (for SwiftShader). Full JSON goes to $OUT/webgpu-bench.json (or the
// folder after `--out`); a short table is printed last.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initWebGPU } from '../src/index.js';
import { type BenchCase, matmulCase, sdpaCase, sdpaTrainCase, supported } from './cases.js';
import { measureCeilings, roofline, rooflineTable } from './ceilings.js';
import { rerunWithVulkanLoader } from './env.js';
import { machineInfo } from './machine.js';
import { type Timing, table, timeCase } from './timing.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const args = process.argv.slice(2);
const small = args.includes('--small');
const outArg = args.indexOf('--out');
const outDir = outArg >= 0 ? args[outArg + 1] : (process.env.OUT ?? '.');

const shape = (batch: number, heads: number, tokens: number, headDim: number, causal: boolean) => ({
  batch,
  heads,
  tokens,
  headDim,
  causal,
});
const [n, big] = small ? [128, 256] : [4096, 16384];
const [B, H, d] = small ? [1, 2, 32] : [8, 4, 32];
const m = small ? 128 : 4096;
const CASES: BenchCase[] = [
  matmulCase(m, m, m),
  sdpaCase(shape(B, H, n, d, false)),
  sdpaCase(shape(B, H, n, d, true)),
  sdpaCase(shape(B, H, big, d, true)),
  sdpaTrainCase(shape(B, H, n, d, false)),
  sdpaTrainCase(shape(B, H, n, d, true)),
];

if (!(await initWebGPU())) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const machine = await machineInfo();
console.log(
  `adapter: ${machine.adapter?.description} (${machine.adapter?.vendor}); features ${machine.adapter?.features}`,
);
const results: Timing[] = [];
const notRun: { name: string; why: string }[] = [];
for (const c of CASES) {
  if (!supported(c, 'webgpu')) {
    notRun.push({ name: c.name, why: `no webgpu kernel for one of ${c.ops.join(', ')}` });
    continue;
  }
  try {
    const t = await timeCase(
      c,
      'webgpu',
      small ? { sampleMs: 50, samples: 3 } : { sampleMs: 300, samples: 7 },
    );
    results.push(t);
    console.log(`${t.name}: ${t.medianMs.toPrecision(4)} ms (first ${t.firstMs.toFixed(0)} ms)`);
  } catch (e) {
    notRun.push({ name: c.name, why: (e as Error).message });
    console.log(`${c.name}: failed: ${(e as Error).message}`);
  }
}

// The backward alone: each fwd+bwd case less its forward case.
const derived = results.flatMap((t) => {
  if (!t.name.startsWith('sdpa fwd+bwd')) return [];
  const fwd = results.find((f) => f.name === t.name.replace('fwd+bwd', 'fwd'));
  if (!fwd) return [];
  const ms = t.medianMs - fwd.medianMs;
  const flops = (t.flops * 10) / 14;
  return [
    { name: t.name.replace('fwd+bwd', 'bwd'), backend: 'webgpu', medianMs: ms, gflops: flops / ms / 1e6 },
  ];
});

// The card's ceilings through WebGPU, measured now, and where each kernel sits against them.
const ceilings = await measureCeilings(small);
const limits = roofline(results, ceilings);

const report = {
  date: new Date().toISOString(),
  command: `node .gpu/bench.mjs${small ? ' --small' : ''}`,
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  results,
  ceilings,
  roofline: limits,
  derived: { rule: 'backward = (fwd+bwd) - fwd, flops 10*B*H*N*N*d (halved when causal)', rows: derived },
  notRun,
};
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, 'webgpu-bench.json');
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
for (const s of notRun) console.log(`not run: ${s.name}: ${s.why}`);
console.log(
  `wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${table([...results, ...derived], 'TFLOP/s')}\n\n` +
    rooflineTable(limits, ceilings),
);
process.exit(0);
