// The benchmark for the lent GPU machine: bundled by bench/gpu/build.mjs (repository root) into .gpu/bench.mjs.
// Real shapes: matmul 4096^3, fused attention B8 H4 N4096 d32 (full, causal, forward and backward) and causal
// N16384; `--small` runs tiny shapes (for SwiftShader). Full JSON goes to $OUT/webgpu-bench.json (or the
// folder after `--out`); a short table is printed last.
import { type BenchCase, matmulCase, sdpaCase, sdpaTrainCase } from './cases.js';
import { measureCeilings, roofline, rooflineTable } from './ceilings.js';
import { deviceTiming, startDeviceBench, timeOnWebGPU, writeDeviceReport } from './harness.js';
import { deriveBackward, TIMING_RULE, table } from './timing.js';

const bench = await startDeviceBench();
const { small, machine } = bench;

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

const { results, notRun } = await timeOnWebGPU(CASES, deviceTiming(small));
// The backward alone: each fwd+bwd case less its forward case.
const derived = deriveBackward(results);

// The card's ceilings through WebGPU, measured now, and where each kernel sits against them.
const ceilings = await measureCeilings(small);
const limits = roofline(results, ceilings);

const report = {
  date: new Date().toISOString(),
  command: `node .gpu/bench.mjs${small ? ' --small' : ''}`,
  machine,
  timing: TIMING_RULE,
  results,
  ceilings,
  roofline: limits,
  derived: { rule: 'backward = (fwd+bwd) - fwd, flops 10*B*H*N*N*d (halved when causal)', rows: derived },
  notRun,
};
const file = writeDeviceReport(bench, 'webgpu-bench.json', report);
console.log(
  `wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${table([...results, ...derived], 'TFLOP/s')}\n\n` +
    rooflineTable(limits, ceilings),
);
process.exit(0);
