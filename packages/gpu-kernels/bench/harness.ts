// What every benchmark script does around its own cases: gpu-kernels' and the attention packages' `gpu.ts` (the
// bundles for the lent GPU) and `run.ts` (`pnpm bench` here) read the same flags, start WebGPU the same way, time
// their cases with the same skip and failure rules and write their JSON alike. One copy here, so that a script
// holds only its cases and its summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initWebGPU } from '../src/index.js';
import { type BenchCase, supported } from './cases.js';
import { rerunWithVulkanLoader } from './env.js';
import { type MachineInfo, machineInfo } from './machine.js';
import { TIMING_RULE, type Timing, type TimingOptions, table, timeCase } from './timing.js';

/** The command line of a benchmark script. */
export interface BenchArgs {
  /** The arguments after the script. */
  args: string[];
  /** `--small`: tiny shapes (for SwiftShader). */
  small: boolean;
  /** The value after `--<name>`, or undefined without that flag. */
  option: (name: string) => string | undefined;
}

/** Reads the script's command line. */
export function readArgs(): BenchArgs {
  const args = process.argv.slice(2);
  return {
    args,
    small: args.includes('--small'),
    option: (name) => {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : undefined;
    },
  };
}

/** A started device benchmark (`gpu.ts`): WebGPU is up. */
export interface DeviceBench extends BenchArgs {
  /** Where the JSON goes: the folder after `--out`, else `$OUT`, else `.`. */
  outDir: string;
  machine: MachineInfo;
}

/** A started local benchmark (`run.ts`). */
export interface LocalBench extends BenchArgs {
  machine: MachineInfo;
  /** `cpu`, and `webgpu` when an adapter was found. */
  backends: string[];
}

/** Runs this script again with the Vulkan loader on LD_LIBRARY_PATH when it needs it (see env.ts). */
function rerunIfNeeded(): void {
  const rerun = rerunWithVulkanLoader();
  if (rerun !== null) process.exit(rerun);
}

/**
 * Starts a device benchmark: reads the flags, initialises WebGPU (exit status 1 without an adapter) and prints
 * the adapter.
 */
export async function startDeviceBench(): Promise<DeviceBench> {
  rerunIfNeeded();
  const cli = readArgs();
  if (!(await initWebGPU())) {
    console.error('no WebGPU adapter');
    process.exit(1);
  }
  const machine = await machineInfo();
  console.log(
    `adapter: ${machine.adapter?.description} (${machine.adapter?.vendor}); features ${machine.adapter?.features}`,
  );
  return { ...cli, outDir: cli.option('out') ?? process.env.OUT ?? '.', machine };
}

/** Starts a local benchmark: reads the flags and initialises WebGPU when there is an adapter. */
export async function startLocalBench(): Promise<LocalBench> {
  rerunIfNeeded();
  const cli = readArgs();
  const gpu = await initWebGPU();
  const machine = await machineInfo();
  return { ...cli, machine, backends: gpu ? ['cpu', 'webgpu'] : ['cpu'] };
}

/** How long a device benchmark measures: short with `--small` (SwiftShader), else `full`. */
export function deviceTiming(
  small: boolean,
  full: TimingOptions = { sampleMs: 300, samples: 7 },
): TimingOptions {
  return small ? { sampleMs: 50, samples: 3 } : full;
}

/** A case left out on one backend, and why. */
export interface Skipped {
  name: string;
  backend: string;
  why: string;
}

/** How `timeCases` times and reports each case. */
export interface TimeCasesOptions<R extends Timing> {
  /** Times one case (default `timeCase`); a script that adds fields to its rows does it here. */
  measure?: (c: BenchCase, backend: string, opts: TimingOptions) => Promise<R>;
  /** The line printed for each result (default: its row of `table`). */
  describe?: (r: R) => string;
  /** Records a case that throws (out of memory, a lost device) in `notRun` and goes on, instead of throwing. */
  keepGoing?: boolean;
}

/**
 * Times each [case, backend] pair that has kernels for every op of the case; the others, and with `keepGoing`
 * the cases that throw, are listed in `notRun`.
 */
export async function timeCases<R extends Timing = Timing>(
  runs: Iterable<[BenchCase, string]>,
  timing: TimingOptions,
  options: TimeCasesOptions<R> = {},
): Promise<{ results: R[]; notRun: Skipped[] }> {
  const measure = options.measure ?? ((c, b, o) => timeCase(c, b, o) as Promise<R>);
  const describe = options.describe ?? ((r: R) => table([r]).split('\n')[1]);
  const results: R[] = [];
  const notRun: Skipped[] = [];
  for (const [c, backend] of runs) {
    if (!supported(c, backend)) {
      notRun.push({ name: c.name, backend, why: `no ${backend} kernel for one of ${c.ops.join(', ')}` });
      continue;
    }
    try {
      results.push(await measure(c, backend, timing));
      console.log(describe(results[results.length - 1]));
    } catch (e) {
      if (!options.keepGoing) throw e;
      notRun.push({ name: c.name, backend, why: (e as Error).message });
      console.log(`${c.name}: failed: ${(e as Error).message}`);
    }
  }
  return { results, notRun };
}

/** Every case on every backend, case by case. */
export function onEach(cases: BenchCase[], backends: string[]): [BenchCase, string][] {
  return cases.flatMap((c) => backends.map((b): [BenchCase, string] => [c, b]));
}

/** A case the device benchmark did not time, and why (the device runs one backend, WebGPU). */
export interface NotRun {
  name: string;
  why: string;
}

/**
 * Times the cases on WebGPU as the device benchmarks do: one that has no kernel or throws is listed in
 * `notRun` and the others still run; each result prints its time and its first step's (pipeline compilation).
 */
export async function timeOnWebGPU<R extends Timing = Timing>(
  cases: Iterable<BenchCase>,
  timing: TimingOptions,
  options: Omit<TimeCasesOptions<R>, 'keepGoing'> = {},
): Promise<{ results: R[]; notRun: NotRun[] }> {
  const { results, notRun } = await timeCases<R>(
    [...cases].map((c): [BenchCase, string] => [c, 'webgpu']),
    timing,
    {
      describe: (t) => `${t.name}: ${t.medianMs.toPrecision(4)} ms (first ${t.firstMs.toFixed(0)} ms)`,
      ...options,
      keepGoing: true,
    },
  );
  return { results, notRun: notRun.map(({ name, why }) => ({ name, why })) };
}

/** Writes `report` as JSON to `file` (indented by `indent` spaces; 0: on one line), making its folder. */
export function writeReport(file: string, report: object, indent = 2): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, indent)}\n`);
}

/** Writes a device benchmark's report as `<outDir>/<name>`, prints its cases not run, and returns the file. */
export function writeDeviceReport(bench: DeviceBench, name: string, report: { notRun: NotRun[] }): string {
  const file = path.join(bench.outDir, name);
  writeReport(file, report);
  for (const s of report.notRun) console.log(`not run: ${s.name}: ${s.why}`);
  return file;
}

/** What a local benchmark's report holds besides the date, the machine and the timing rule. */
export interface LocalReport {
  /** The command that ran it. */
  command: string;
  /** The folder for `<date>-<machine>.json` when there is no `--out`. */
  dir: string;
  /** Fields after `timing` (one named `timing` replaces TIMING_RULE). */
  extra?: Record<string, unknown>;
  results: Timing[];
  skipped: Skipped[];
}

/**
 * Ends a local benchmark: writes its report to the path after `--out`, else `<dir>/<date>-<machine>.json`, and
 * prints every timing, the skipped cases and the file.
 */
export function finishLocalBench(bench: LocalBench, r: LocalReport): void {
  const date = new Date();
  const out = bench.option('out');
  const file =
    out !== undefined
      ? path.resolve(out)
      : path.join(r.dir, `${date.toISOString().slice(0, 10)}-${bench.machine.slug}.json`);
  writeReport(file, {
    date: date.toISOString(),
    command: r.command,
    machine: bench.machine,
    timing: TIMING_RULE,
    ...r.extra,
    results: r.results,
    skipped: r.skipped,
  });
  console.log(`\n${table(r.results)}`);
  for (const s of r.skipped) console.log(`skipped ${s.name} on ${s.backend}: ${s.why}`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}
