import { destroyWebGPU, initWebGPU, setPoisonOutputs } from '@attnkit/gpu-kernels';
import { afterAll } from 'vitest';

// The WebGPU suites run on SwiftShader without a GPU. In CI (or with ATTNKIT_REQUIRE_WEBGPU=1) a missing
// adapter is a failure, not a skip.
const required = !!process.env.CI || process.env.ATTNKIT_REQUIRE_WEBGPU === '1';
const ok = await initWebGPU({ notice: required ? null : undefined });
if (!ok && required) {
  throw new Error(
    'No WebGPU adapter (CI or ATTNKIT_REQUIRE_WEBGPU=1 is set): install chromium for SwiftShader, or a GPU driver',
  );
}
// Every kernel output starts as NaN, so elements a kernel does not write fail the comparisons.
if (ok) setPoisonOutputs(true);
(globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU = ok;

afterAll(async () => {
  await destroyWebGPU();
});
