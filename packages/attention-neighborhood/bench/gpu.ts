// The neighborhood-attention benchmark for the lent GPU machine, bundled by the root bench/gpu/build.mjs into
// .gpu/bench-neighborhood.mjs (repository root). The issue's cases, float32: na2d B8 H4 64x64 d32 with k=7 and k=13 (fused
// and unfused, forward; forward+backward at k=7), na1d B1 H4 N=32768 d32 k=2048 and na3d B1 H4 16x32x32 d32
// k=7, each with dense attention (core's fused sdpa) over the same tokens. `--small` runs tiny shapes (for
// SwiftShader). Full JSON goes to $OUT/na-webgpu-bench.json (or the folder after `--out`); a table of times,
// speedups over dense attention and the FLOP bound is printed last.
import path from 'node:path';
import type { BenchCase } from '../../gpu-kernels/bench/cases.js';
import {
  deviceTiming,
  startDeviceBench,
  timeOnWebGPU,
  writeDeviceReport,
} from '../../gpu-kernels/bench/harness.js';
import { alignColumns, TIMING_RULE, table, timeCase } from '../../gpu-kernels/bench/timing.js';
import { setFusedTuning } from '../src/webgpu/tiles.js';
import { denseCase, flopBound, type NaShape, naCase, naName, naTrainCase } from './cases.js';

const bench = await startDeviceBench();
const { args, small, machine } = bench;

/** The problems: each runs fused, unfused (where it fits) and dense beside. */
const problems: { shape: NaShape; unfused: boolean; train: boolean }[] = small
  ? [
      {
        shape: { batch: 1, heads: 2, tokens: [16, 16], headDim: 32, kernelSize: 7 },
        unfused: true,
        train: true,
      },
      {
        shape: { batch: 1, heads: 2, tokens: [16, 16], headDim: 32, kernelSize: 13 },
        unfused: true,
        train: false,
      },
      {
        shape: { batch: 1, heads: 2, tokens: [512], headDim: 32, kernelSize: 64 },
        unfused: true,
        train: false,
      },
      {
        shape: { batch: 1, heads: 2, tokens: [4, 8, 8], headDim: 32, kernelSize: 3 },
        unfused: true,
        train: false,
      },
    ]
  : [
      {
        shape: { batch: 8, heads: 4, tokens: [64, 64], headDim: 32, kernelSize: 7 },
        unfused: true,
        train: true,
      },
      {
        shape: { batch: 8, heads: 4, tokens: [64, 64], headDim: 32, kernelSize: 13 },
        unfused: true,
        train: false,
      },
      // unfused 1-D would store 32768 x 4 x 2048 logits (1 GiB): fused only
      {
        shape: { batch: 1, heads: 4, tokens: [32768], headDim: 32, kernelSize: 2048 },
        unfused: false,
        train: false,
      },
      {
        shape: { batch: 1, heads: 4, tokens: [16, 32, 32], headDim: 32, kernelSize: 7 },
        unfused: true,
        train: false,
      },
    ];

const CASES: BenchCase[] = [];
const denseNames = new Map<string, string>();
for (const p of problems) {
  CASES.push(naCase(p.shape, 'fused'));
  if (p.unfused) CASES.push(naCase(p.shape, 'unfused'));
  if (p.train) {
    CASES.push(naTrainCase(p.shape, 'fused'));
    if (p.unfused) CASES.push(naTrainCase(p.shape, 'unfused'));
  }
  const dense = denseCase(p.shape);
  denseNames.set(naName('fused fwd', p.shape), dense.name);
  if (!CASES.some((c) => c.name === dense.name)) CASES.push(dense);
}

const { results, notRun } = await timeOnWebGPU(CASES, deviceTiming(small));

// The fused kernels' tuning (threads per workgroup, rows per staged chunk) swept on the na2d problems, forward,
// so that one device call also says which setting to keep (the defaults are 64 and 64).
const sweep = small
  ? [
      { threads: 64, maxChunk: 32 },
      { threads: 128, maxChunk: 64 },
    ]
  : [64, 128].flatMap((threads) => [32, 64, 128].map((maxChunk) => ({ threads, maxChunk })));
const tuning: { threads: number; maxChunk: number; name: string; medianMs: number }[] = [];
for (const p of problems.filter((x) => x.shape.tokens.length === 2)) {
  for (const t of sweep) {
    setFusedTuning(t);
    const c = naCase(p.shape, 'fused');
    try {
      const r = await timeCase(c, 'webgpu', deviceTiming(small, { sampleMs: 200, samples: 5 }));
      tuning.push({ ...t, name: c.name, medianMs: r.medianMs });
      console.log(
        `tuning threads ${t.threads} chunk ${t.maxChunk}: ${c.name}: ${r.medianMs.toPrecision(4)} ms`,
      );
    } catch (e) {
      notRun.push({
        name: `${c.name} (threads ${t.threads}, chunk ${t.maxChunk})`,
        why: (e as Error).message,
      });
    }
  }
}
setFusedTuning();

// Per problem: fused against dense (and the FLOP bound N / prod(k)), fused against unfused.
const byName = new Map(results.map((t) => [t.name, t]));
const speedups = problems.map(({ shape }) => {
  const ms = (name: string) => byName.get(name)?.medianMs ?? null;
  const fused = ms(naName('fused fwd', shape));
  const unfused = ms(naName('unfused fwd', shape));
  const dense = ms(denseNames.get(naName('fused fwd', shape)) ?? '');
  return {
    problem: naName('fwd', shape),
    fusedMs: fused,
    unfusedMs: unfused,
    denseMs: dense,
    speedupOverDense: fused && dense ? dense / fused : null,
    flopBound: flopBound(shape),
    fusedOverUnfused: fused && unfused ? unfused / fused : null,
  };
});

const report = {
  date: new Date().toISOString(),
  command: [
    process.argv[1].endsWith('.ts') ? 'npx tsx' : 'node',
    path.relative(process.cwd(), process.argv[1]),
    ...args,
  ].join(' '),
  machine,
  timing: TIMING_RULE,
  results,
  speedups,
  tuning,
  notRun,
};
const file = writeDeviceReport(bench, 'na-webgpu-bench.json', report);
const fmt = (x: number | null, digits = 3) => (x === null ? '-' : x.toPrecision(digits));
const lines = [
  ['problem', 'fused ms', 'unfused ms', 'dense ms', 'x dense', 'FLOP bound', 'x unfused'],
  ...speedups.map((s) => [
    s.problem,
    fmt(s.fusedMs, 4),
    fmt(s.unfusedMs, 4),
    fmt(s.denseMs, 4),
    fmt(s.speedupOverDense),
    fmt(s.flopBound),
    fmt(s.fusedOverUnfused),
  ]),
];
console.log(
  `wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${table(results, 'TFLOP/s')}\n\n${alignColumns(
    lines,
  )}\n\ntuning (threads, rows per chunk: ms)\n${tuning
    .map((t) => `${t.name}  ${t.threads} ${t.maxChunk}: ${t.medianMs.toPrecision(4)}`)
    .join('\n')}`,
);
process.exit(0);
