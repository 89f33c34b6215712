// The linear family's benchmark for the lent GPU (bundled by the root bench/gpu/build.mjs into .gpu/bench-linear.mjs; also
// runs directly: `npx tsx bench/gpu.ts --small --out DIR` on SwiftShader). B1 H8 d = e = 64, causal, float32:
// Lightning-2 forward (both scan variants), backward and forward+backward for N = 2K..256K, classic linear
// attention and LightNet beside (forward; forward+backward up to 64K), and our fused dense causal sdpa
// (gpu-kernels) up to N = 32K for the crossover.
// First it checks the WGSL scans against the CPU kernels on one case (both variants; pass/fail in the JSON).
// `--small`: H2 d16, N = 64..512; `--tokens a,b,..` other lengths. Full JSON goes to DIR/linear-webgpu-bench.json (DIR: `--out`, else $OUT, else
// .); a table in ns per token is printed last.
import { type BenchCase, sdpaCase, sdpaTrainCase } from '../../gpu-kernels/bench/cases.js';
import {
  deviceTiming,
  startDeviceBench,
  timeOnWebGPU,
  writeDeviceReport,
} from '../../gpu-kernels/bench/harness.js';
import { TIMING_RULE } from '../../gpu-kernels/bench/timing.js';
import { backwardCase, forwardCase, type LinearShape, trainCase } from './cases.js';
import { checkAgainstCpu } from './check.js';
import { timePerToken } from './token-timing.js';

const bench = await startDeviceBench();
const { args, small, machine } = bench;

const [H, d] = small ? [2, 16] : [8, 64];
const tokensArg = bench.option('tokens');
/** Sequence lengths timed; `--tokens 2048,65536` picks some (to fit a device call's time limit). */
const TOKENS =
  tokensArg !== undefined
    ? tokensArg.split(',').map(Number)
    : small
      ? [64, 128, 256, 512]
      : [2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144];
/** Dense causal attention is quadratic: timed up to here (forward) and half of it (forward + backward). */
const DENSE_MAX = small ? 512 : 32768;
/**
 * The sequential scan variant is timed up to here (it is parallel only over batch, heads and slices), and so are
 * classic linear attention's and LightNet's forward + backward (to bound the run time).
 */
const SEQUENTIAL_MAX = small ? 512 : 65536;

function cases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const tokens of TOKENS) {
    const s: LinearShape = { batch: 1, heads: H, tokens, dk: d, dv: d };
    out.push(forwardCase('lightning', s), backwardCase(s), trainCase('lightning', s));
    if (tokens <= SEQUENTIAL_MAX) out.push(forwardCase('lightning', s, 'sequential'));
    out.push(forwardCase('classic', s), forwardCase('lightnet', s));
    if (tokens <= SEQUENTIAL_MAX) out.push(trainCase('classic', s), trainCase('lightnet', s));
    const dense = { batch: 1, heads: H, tokens, headDim: d, causal: true };
    if (tokens <= DENSE_MAX) out.push(sdpaCase(dense));
    if (tokens <= DENSE_MAX / 2) out.push(sdpaTrainCase(dense));
  }
  return out;
}

const checkShape = small ? { tokens: 300, heads: 2, dim: 16 } : { tokens: 1000, heads: 4, dim: 64 };
const check = await checkAgainstCpu(checkShape.tokens, checkShape.heads, checkShape.dim);
const checkPassed = check.every((r) => r.bad === 0);
console.log(
  `check vs CPU (B1 N${checkShape.tokens} H${checkShape.heads} d${checkShape.dim}): ${checkPassed ? 'pass' : 'FAIL'}; ${check
    .map((r) => `${r.what} ${r.bad ? `${r.bad} bad, ` : ''}max abs ${r.maxAbs.toExponential(1)}`)
    .join('; ')}`,
);
const { results, notRun } = await timeOnWebGPU(cases(), deviceTiming(small, { sampleMs: 200, samples: 5 }), {
  measure: timePerToken,
  describe: (t) => `${t.name}: ${t.medianMs.toPrecision(4)} ms, ${t.nsPerToken.toFixed(1)} ns/token`,
});

/** Smallest N from which Lightning-2's forward beats dense causal sdpa at every measured N (null if never). */
function crossover(): number | null {
  const both = TOKENS.filter((n) => n <= DENSE_MAX).map((n) => {
    const lin = results.find(
      (r) => r.tokens === n && /^lightning fwd B/.test(r.name) && !/sequential/.test(r.name),
    );
    const dense = results.find((r) => r.tokens === n && r.name.startsWith('sdpa fwd B'));
    return { n, faster: lin && dense ? lin.medianMs < dense.medianMs : null };
  });
  for (let i = 0; i < both.length; i++) {
    if (both.slice(i).every((b) => b.faster === true)) return both[i].n;
  }
  return null;
}

const lightningFwd = results.filter((r) => /^lightning fwd B/.test(r.name) && !/sequential/.test(r.name));
const per = lightningFwd.filter((r) => r.tokens >= (small ? 128 : 4096)).map((r) => r.nsPerToken);
const summary = {
  crossoverTokens: crossover(),
  lightningFwdNsPerToken: Object.fromEntries(lightningFwd.map((r) => [r.tokens, r.nsPerToken])),
  flatness: per.length ? Math.max(...per) / Math.min(...per) : null,
  flatnessRule: `max/min ns per token of Lightning-2 forward from N=${small ? 128 : 4096} up`,
};

const report = {
  date: new Date().toISOString(),
  check: { shape: checkShape, passed: checkPassed, rows: check },
  command: `${small ? 'npx tsx bench/gpu.ts' : 'node .gpu/bench-linear.mjs'} ${args.join(' ')}`.trim(),
  machine,
  timing: TIMING_RULE,
  summary,
  results,
  notRun,
};
const file = writeDeviceReport(bench, 'linear-webgpu-bench.json', report);
const rows = results.map(
  (r) =>
    `${r.name.padEnd(52)} ${r.medianMs.toPrecision(4).padStart(10)} ms ${r.nsPerToken.toFixed(1).padStart(10)} ns/token`,
);
console.log(`wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${rows.join('\n')}`);
console.log(`crossover (Lightning-2 fwd faster than dense causal from N =): ${summary.crossoverTokens}`);
console.log(`flatness (${summary.flatnessRule}): ${summary.flatness?.toFixed(2)}`);
if (!checkPassed) console.log('WARNING: the WebGPU results did not match the CPU (see "check" in the JSON)');
process.exit(0);
