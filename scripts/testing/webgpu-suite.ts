// What every package's WebGPU test suite does first, in one place: the Vulkan loader path for SwiftShader (in
// vitest configs, before workers fork) and the device set-up (in setup files). The packages pass in their own
// gpu-kernels module and vitest's afterAll, so no second copy of either is loaded from here.
import { existsSync } from 'node:fs';

/**
 * Without a GPU, Dawn runs on SwiftShader from Debian's chromium package, whose libvulkan.so.1 lives off the
 * loader's path in /usr/lib/chromium; the loader reads LD_LIBRARY_PATH only when a process starts, so a vitest
 * config calls this before vitest forks its workers (they inherit it).
 */
export function addChromiumVulkanLoader(): void {
  const lib = '/usr/lib/chromium';
  if (process.platform !== 'linux' || !existsSync(`${lib}/libvulkan.so.1`)) return;
  const cur = process.env.LD_LIBRARY_PATH ?? '';
  if (!cur.split(':').includes(lib)) process.env.LD_LIBRARY_PATH = cur ? `${cur}:${lib}` : lib;
}

/** The parts of `@attnkit/gpu-kernels` a suite set-up needs. */
interface GpuModule {
  initWebGPU(opts: { notice?: null }): Promise<boolean>;
  setPoisonOutputs(on: boolean): void;
  destroyWebGPU(): Promise<void>;
}

/**
 * Initialises WebGPU for a test file: in CI (or with ATTNKIT_REQUIRE_WEBGPU=1) a missing adapter is a failure,
 * not a skip; outputs are poisoned with NaN so elements a kernel does not write fail comparisons; the result is
 * left in `globalThis.__attnkitWebGPU` for `describe.skipIf`; the device is destroyed after the file.
 */
export async function setUpWebGPUSuite(
  gpu: GpuModule,
  afterAll: (fn: () => Promise<void>) => void,
): Promise<void> {
  const required = !!process.env.CI || process.env.ATTNKIT_REQUIRE_WEBGPU === '1';
  const ok = await gpu.initWebGPU(required ? { notice: null } : {});
  if (!ok && required) {
    throw new Error(
      'No WebGPU adapter (CI or ATTNKIT_REQUIRE_WEBGPU=1 is set): install chromium for SwiftShader, or a GPU driver',
    );
  }
  if (ok) gpu.setPoisonOutputs(true);
  (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU = ok;
  afterAll(async () => {
    await gpu.destroyWebGPU();
  });
}
