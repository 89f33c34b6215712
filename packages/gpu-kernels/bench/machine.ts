// What a results file says about where it was measured.
import { webgpuInfo } from '../src/index.js';

/** The machine and adapter a benchmark ran on. */
export interface MachineInfo {
  /** A short name for file names: `ATTNKIT_BENCH_MACHINE`, else platform, arch, cores and adapter. */
  slug: string;
  hostname: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  node: string;
  /** The 1, 5 and 15 minute load averages when the run started (other work on the machine skews timings). */
  loadAverage: number[];
  /** The WebGPU adapter, or null when there was none. */
  adapter: {
    vendor: string;
    architecture: string;
    description: string;
    software: boolean;
    features: string[];
  } | null;
}

/** Describes this machine (call after `initWebGPU()`). */
export async function machineInfo(): Promise<MachineInfo> {
  const os = await import('node:os');
  const info = webgpuInfo();
  const adapter = info
    ? {
        vendor: info.vendor,
        architecture: info.architecture,
        description: info.description,
        software: info.software,
        features: info.features,
      }
    : null;
  const gpuWord = !info
    ? 'nogpu'
    : /swiftshader/i.test(info.description)
      ? 'swiftshader'
      : (info.description || info.vendor || 'gpu').toLowerCase();
  const cpus = os.cpus();
  const slug = (
    process.env.ATTNKIT_BENCH_MACHINE ?? `${process.platform}-${process.arch}-${cpus.length}cpu-${gpuWord}`
  )
    .replace(/[^a-zA-Z0-9.]+/g, '-')
    .replace(/^-|-$/g, '');
  return {
    slug,
    hostname: os.hostname(),
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model ?? '',
    cpus: cpus.length,
    node: process.version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    adapter,
  };
}
