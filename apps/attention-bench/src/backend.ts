import { currentBackendName, getBackend, listBackends, setBackend } from '@attnkit/core';
import { isMissingPackage } from './packages.js';

/** The WebGPU package; optional, so it is imported by a computed specifier that bundlers and tsc leave alone. */
export const GPU_PACKAGE = '@attnkit/gpu-kernels';

/** The backend the bench runs on, and how it was chosen, in words for the output and the report. */
export interface BackendChoice {
  /** Backend name, e.g. `'cpu'`. */
  name: string;
  /** The backend's own description (the adapter, for WebGPU). */
  description: string;
  /** What happened to the WebGPU package, e.g. "WebGPU: @attnkit/gpu-kernels not installed — using CPU". */
  note: string;
}

/**
 * Loads the WebGPU package when it is installed (it registers its backend, with a priority above the CPU's,
 * when it finds an adapter; an exported `init()` is awaited because adapters are requested asynchronously),
 * then picks `requested` or the best registered backend.
 */
export async function chooseBackend(requested: string | undefined): Promise<BackendChoice> {
  let gpu: string;
  if (requested === 'cpu') {
    gpu = `WebGPU: not tried (--backend cpu)`;
  } else {
    gpu = await loadGpuPackage();
  }
  if (requested !== undefined) {
    if (!listBackends().includes(requested)) {
      throw new Error(
        `--backend ${requested}: no such backend is registered (have ${listBackends().join(', ')}); ${gpu}`,
      );
    }
    setBackend(requested);
  }
  const name = currentBackendName();
  const description = getBackend(name).describe?.() ?? name;
  const using = name === 'cpu' ? 'using CPU' : `using ${name}`;
  return { name, description, note: `${gpu} — ${using}` };
}

async function loadGpuPackage(): Promise<string> {
  const before = new Set(listBackends());
  let mod: { init?: () => unknown };
  try {
    const specifier: string = GPU_PACKAGE;
    mod = await import(specifier);
  } catch (e) {
    if (isMissingPackage(e, GPU_PACKAGE)) return `WebGPU: ${GPU_PACKAGE} not installed`;
    return `WebGPU: ${GPU_PACKAGE} failed to load (${firstLine(e as Error)})`;
  }
  try {
    if (typeof mod.init === 'function') await mod.init();
  } catch (e) {
    return `WebGPU: ${GPU_PACKAGE} found no usable adapter (${firstLine(e as Error)})`;
  }
  const added = listBackends().filter((b) => !before.has(b));
  return added.length > 0
    ? `WebGPU: ${GPU_PACKAGE} registered ${added.join(', ')}`
    : `WebGPU: ${GPU_PACKAGE} loaded but registered no backend (no adapter?)`;
}

function firstLine(e: Error): string {
  return String(e?.message ?? e).split('\n')[0];
}
