// The block-sparse benchmark for the lent GPU (bundled by the root bench/gpu/build.mjs into .gpu/bench-sparse.mjs):
// f32, B1 H8 N16384 d64, per-head random patterns of 128x128 blocks with the diagonal kept, at 10% and 50%
// block density, forward and forward + backward, beside gpu-kernels' fused dense attention (`sdpa`). `--small`
// runs B1 H2 N512 d32 with 64x64 blocks (for SwiftShader). The patterns go to $OUT/sparse-patterns.json (read by
// torch_side.py for flex_attention), the timings to $OUT/sparse-webgpu-bench.json (or the folder after `--out`);
// a short table is printed last. Both WebGPU kernel variants (`-simple`, `-tiled`) are timed besides the default.
//
//   npx tsx bench/gpu.ts --small --out /tmp/sp-gpu      (here, SwiftShader)
//   bash .gpu/remote sh -c 'node .gpu/bench-sparse.mjs && python3 .gpu/torch-sparse.py'   (device)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BenchCase, sdpaCase, sdpaTrainCase, supported } from '../../gpu-kernels/bench/cases.js';
import { rerunWithVulkanLoader } from '../../gpu-kernels/bench/env.js';
import { machineInfo } from '../../gpu-kernels/bench/machine.js';
import { type Timing, table, timeCase } from '../../gpu-kernels/bench/timing.js';
// gpu-kernels from source, as its bench helpers (machine.ts) import it: one copy of the backend and device.
import { initWebGPU } from '../../gpu-kernels/src/index.js';
import '../src/webgpu/index.js';
import { patternDensity, randomBlockPattern, sparseCase, sparseTrainCase } from './cases.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const args = process.argv.slice(2);
const small = args.includes('--small');
const outArg = args.indexOf('--out');
const outDir = outArg >= 0 ? args[outArg + 1] : (process.env.OUT ?? '.');

const s = small
  ? { batch: 1, heads: 2, tokens: 512, headDim: 32, block: 64 }
  : { batch: 1, heads: 8, tokens: 16384, headDim: 64, block: 128 };
const blocks = s.tokens / s.block;
const dense = { batch: s.batch, heads: s.heads, tokens: s.tokens, headDim: s.headDim, causal: false };
const patterns = [0.1, 0.5].map((target, n) => {
  const pattern = randomBlockPattern(blocks, s.heads, target, 1000 + n);
  return { target, density: patternDensity(pattern), pattern };
});
const CASES: BenchCase[] = [
  sdpaCase(dense),
  ...patterns.map((p) => sparseCase(s, p.pattern)),
  // Both kernel variants, whatever the adapter (the default picks 'tiled' on GPUs, 'simple' on SwiftShader).
  ...patterns.flatMap((p) => [sparseCase(s, p.pattern, 'simple'), sparseCase(s, p.pattern, 'tiled')]),
  sdpaTrainCase(dense),
  ...patterns.map((p) => sparseTrainCase(s, p.pattern)),
  ...patterns.flatMap((p) => [
    sparseTrainCase(s, p.pattern, 'simple'),
    sparseTrainCase(s, p.pattern, 'tiled'),
  ]),
];

mkdirSync(outDir, { recursive: true });
writeFileSync(
  path.join(outDir, 'sparse-patterns.json'),
  `${JSON.stringify({ ...s, rule: 'per head; query block qb lists the key blocks pattern[h][qb]', patterns })}\n`,
);

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
  if (!t.name.includes(' fwd+bwd')) return [];
  const fwd = results.find((f) => f.name === t.name.replace('fwd+bwd', 'fwd'));
  if (!fwd) return [];
  const ms = t.medianMs - fwd.medianMs;
  return [
    {
      name: t.name.replace('fwd+bwd', 'bwd'),
      backend: 'webgpu',
      medianMs: ms,
      gflops: (t.flops * 10) / 14 / ms / 1e6,
    },
  ];
});
const all = [...results, ...derived];
// Speedup of each sparse case over dense attention of the same kind (fwd, fwd+bwd, bwd).
const speedups = all.flatMap((r) => {
  if (!r.name.startsWith('sparse ')) return [];
  const kind = r.name.split(' ')[1].replace(/-(simple|tiled)$/, '');
  const d = all.find((x) => x.name === `sdpa ${kind} B${s.batch} H${s.heads} N${s.tokens} d${s.headDim}`);
  return d
    ? [{ name: r.name, denseMs: d.medianMs, sparseMs: r.medianMs, speedup: d.medianMs / r.medianMs }]
    : [];
});

const report = {
  date: new Date().toISOString(),
  command: `node .gpu/bench-sparse.mjs${small ? ' --small' : ''}`,
  machine,
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  shape: s,
  patterns: patterns.map((p) => ({ target: p.target, density: p.density })),
  results,
  derived: { rule: 'backward = (fwd+bwd) - fwd, flops 10*B*H*N*N*d*density', rows: derived },
  speedups,
  notRun,
};
const file = path.join(outDir, 'sparse-webgpu-bench.json');
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
for (const x of notRun) console.log(`not run: ${x.name}: ${x.why}`);
const lines = speedups.map((x) => `${x.name.padEnd(48)} ${x.speedup.toFixed(2)}x over dense`);
console.log(
  `wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${table(all, 'TFLOP/s')}\n\n${lines.join('\n')}`,
);
process.exit(0);
