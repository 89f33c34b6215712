// Dawn loads libvulkan.so.1 when the process starts, so SwiftShader (Debian's chromium package keeps the loader
// in /usr/lib/chromium) needs LD_LIBRARY_PATH set before Node starts: the benchmarks re-run themselves with it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM_LIB = '/usr/lib/chromium';

/**
 * On Linux, when chromium's Vulkan loader exists and is not on LD_LIBRARY_PATH, runs this same script again
 * with it added and returns the child's exit status; otherwise returns null (carry on in this process).
 */
export function rerunWithVulkanLoader(): number | null {
  if (process.platform !== 'linux' || !existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`)) return null;
  const cur = process.env.LD_LIBRARY_PATH ?? '';
  if (cur.split(':').includes(CHROMIUM_LIB)) return null;
  const env = { ...process.env, LD_LIBRARY_PATH: cur ? `${cur}:${CHROMIUM_LIB}` : CHROMIUM_LIB };
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env,
  });
  return r.status ?? 1;
}
