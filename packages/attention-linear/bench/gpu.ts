// The linear family's benchmark for the lent GPU (bundled by the root bench/gpu/build.mjs into .gpu/bench-linear.mjs; also
// runs directly: `npx tsx bench/gpu.ts --small --out DIR` on SwiftShader). B1 H8 d = e = 64, causal, float32:
// Lightning-2 forward (both scan variants), backward and forward+backward for N = 2K..256K, classic linear
// attention and LightNet beside (forward; forward+backward up to 64K), and our fused dense causal sdpa
// (gpu-kernels) up to N = 32K for the crossover.
// First it checks the WGSL scans against the CPU kernels on one case (both variants; pass/fail in the JSON).
// `--small`: H2 d16, N = 64..512; `--tokens a,b,..` other lengths. Full JSON goes to DIR/linear-webgpu-bench.json (DIR: `--out`, else $OUT, else
// .); a table in ns per token is printed last.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fallbackStats } from '@attnkit/core';
import { type BenchCase, sdpaCase, sdpaTrainCase, supported } from '../../gpu-kernels/bench/cases.js';
import { rerunWithVulkanLoader } from '../../gpu-kernels/bench/env.js';
import { machineInfo } from '../../gpu-kernels/bench/machine.js';
import { type Timing, timeCase } from '../../gpu-kernels/bench/timing.js';
import { initWebGPU } from '../../gpu-kernels/src/index.js';
import { backwardCase, forwardCase, type LinearShape, trainCase } from './cases.js';
import { checkAgainstCpu } from './check.js';

const rerun = rerunWithVulkanLoader();
if (rerun !== null) process.exit(rerun);

const args = process.argv.slice(2);
const small = args.includes('--small');
const outArg = args.indexOf('--out');
const outDir = outArg >= 0 ? args[outArg + 1] : (process.env.OUT ?? '.');

const [H, d] = small ? [2, 16] : [8, 64];
const tokensArg = args.indexOf('--tokens');
/** Sequence lengths timed; `--tokens 2048,65536` picks some (to fit a device call's time limit). */
const TOKENS =
  tokensArg >= 0
    ? args[tokensArg + 1].split(',').map(Number)
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

if (!(await initWebGPU())) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const machine = await machineInfo();
console.log(`adapter: ${machine.adapter?.description} (${machine.adapter?.vendor})`);
const checkShape = small ? { tokens: 300, heads: 2, dim: 16 } : { tokens: 1000, heads: 4, dim: 64 };
const check = await checkAgainstCpu(checkShape.tokens, checkShape.heads, checkShape.dim);
const checkPassed = check.every((r) => r.bad === 0);
console.log(
  `check vs CPU (B1 N${checkShape.tokens} H${checkShape.heads} d${checkShape.dim}): ${checkPassed ? 'pass' : 'FAIL'}; ${check
    .map((r) => `${r.what} ${r.bad ? `${r.bad} bad, ` : ''}max abs ${r.maxAbs.toExponential(1)}`)
    .join('; ')}`,
);
const results: (Timing & { tokens: number; nsPerToken: number; cpuFallbacks: string[] })[] = [];
const notRun: { name: string; why: string }[] = [];
for (const c of cases()) {
  if (!supported(c, 'webgpu')) {
    notRun.push({ name: c.name, why: `no webgpu kernel for one of ${c.ops.join(', ')}` });
    continue;
  }
  try {
    fallbackStats.reset();
    const t = await timeCase(
      c,
      'webgpu',
      small ? { sampleMs: 50, samples: 3 } : { sampleMs: 200, samples: 5 },
    );
    const tokens = c.params.tokens as number;
    // Ops of the case that ran on the CPU (no WebGPU kernel, or one that declined the shapes): slow, and named.
    const cpuFallbacks = [...fallbackStats.names];
    results.push({ ...t, tokens, nsPerToken: (t.medianMs * 1e6) / tokens, cpuFallbacks });
    if (cpuFallbacks.length) console.log(`  ${c.name}: ran on the CPU: ${cpuFallbacks.join(', ')}`);
    console.log(
      `${t.name}: ${t.medianMs.toPrecision(4)} ms, ${((t.medianMs * 1e6) / tokens).toFixed(1)} ns/token`,
    );
  } catch (e) {
    notRun.push({ name: c.name, why: (e as Error).message });
    console.log(`${c.name}: failed: ${(e as Error).message}`);
  }
}

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
  timing: 'wall clock; per sample, steps queued back to back then one sync; median of the samples',
  summary,
  results,
  notRun,
};
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, 'linear-webgpu-bench.json');
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
for (const s of notRun) console.log(`not run: ${s.name}: ${s.why}`);
const rows = results.map(
  (r) =>
    `${r.name.padEnd(52)} ${r.medianMs.toPrecision(4).padStart(10)} ms ${r.nsPerToken.toFixed(1).padStart(10)} ns/token`,
);
console.log(`wrote ${file}\n\nWebGPU (${machine.adapter?.description})\n${rows.join('\n')}`);
console.log(`crossover (Lightning-2 fwd faster than dense causal from N =): ${summary.crossoverTokens}`);
console.log(`flatness (${summary.flatnessRule}): ${summary.flatness?.toFixed(2)}`);
if (!checkPassed) console.log('WARNING: the WebGPU results did not match the CPU (see "check" in the JSON)');
process.exit(0);
