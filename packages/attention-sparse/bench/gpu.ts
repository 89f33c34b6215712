// The block-sparse benchmark for the lent GPU (bundled by the root bench/gpu/build.mjs into .gpu/bench-sparse.mjs):
// f32, B1 H8 N16384 d64, per-head random patterns of 128x128 blocks with the diagonal kept, at 10% and 50%
// block density, forward and forward + backward, beside gpu-kernels' fused dense attention (`sdpa`). `--small`
// runs B1 H2 N512 d32 with 64x64 blocks (for SwiftShader). The patterns go to $OUT/sparse-patterns.json (read by
// torch_side.py for flex_attention), the timings to $OUT/sparse-webgpu-bench.json (or the folder after `--out`);
// a short table is printed last. Both WebGPU kernel variants (`-simple`, `-tiled`) are timed besides the default.
//
//   npx tsx bench/gpu.ts --small --out /tmp/sp-gpu      (here, SwiftShader)
//   bash .gpu/remote sh -c 'node .gpu/bench-sparse.mjs && python3 .gpu/torch-sparse.py'   (device)
import path from 'node:path';
import { type BenchCase, sdpaCase, sdpaTrainCase } from '../../gpu-kernels/bench/cases.js';
import {
  deviceTiming,
  startDeviceBench,
  timeOnWebGPU,
  writeDeviceReport,
  writeReport,
} from '../../gpu-kernels/bench/harness.js';
import { deriveBackward, TIMING_RULE, table } from '../../gpu-kernels/bench/timing.js';
import '../src/webgpu/index.js';
import { patternDensity, randomBlockPattern, sparseCase, sparseTrainCase } from './cases.js';

const bench = await startDeviceBench();
const { small, outDir, machine } = bench;

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

writeReport(
  path.join(outDir, 'sparse-patterns.json'),
  { ...s, rule: 'per head; query block qb lists the key blocks pattern[h][qb]', patterns },
  0,
);

const { results, notRun } = await timeOnWebGPU(CASES, deviceTiming(small));
// The backward alone: each fwd+bwd case less its forward case.
const derived = deriveBackward(results);
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
  timing: TIMING_RULE,
  shape: s,
  patterns: patterns.map((p) => ({ target: p.target, density: p.density })),
  results,
  derived: { rule: 'backward = (fwd+bwd) - fwd, flops 10*B*H*N*N*d*density', rows: derived },
  speedups,
  notRun,
};
const file = writeDeviceReport(bench, 'sparse-webgpu-bench.json', report);
const lines = speedups.map((x) => `${x.name.padEnd(48)} ${x.speedup.toFixed(2)}x over dense`);
console.log(
  `wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${table(all, 'TFLOP/s')}\n\n${lines.join('\n')}`,
);
process.exit(0);
