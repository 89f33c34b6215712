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
 * when it finds an adapter), then picks `requested` or the best registered backend.
 */
export async function chooseBackend(requested: string | undefined): Promise<BackendChoice> {
  let gpu: string;
  if (requested === 'cpu') {
    gpu = `WebGPU: not tried (--backend cpu)`;
  } else {
    gpu = await loadGpuPackage(requested);
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

/** What the WebGPU package exports that the bench uses (typed here: the package is loaded optionally). */
interface GpuPackage {
  initWebGPU?: (opts?: { notice?: ((m: string) => void) | null }) => Promise<boolean>;
  webgpuInfo?: () => { description: string; software: boolean } | undefined;
}

/**
 * Loads the WebGPU package when installed and initialises it. A software adapter (SwiftShader, on machines
 * without a GPU) is slower than the CPU path, so it becomes the default only when asked for with
 * `--backend webgpu`; a hardware adapter is picked by its priority.
 */
async function loadGpuPackage(requested: string | undefined): Promise<string> {
  let mod: GpuPackage;
  try {
    const specifier: string = GPU_PACKAGE;
    mod = (await import(specifier)) as GpuPackage;
  } catch (e) {
    if (isMissingPackage(e, GPU_PACKAGE)) return `WebGPU: ${GPU_PACKAGE} not installed`;
    return `WebGPU: ${GPU_PACKAGE} failed to load (${firstLine(e as Error)})`;
  }
  let why = 'no adapter';
  const found = await mod.initWebGPU?.({ notice: (m) => (why = m) }).catch((e: Error) => {
    why = firstLine(e);
    return false;
  });
  const info = found ? mod.webgpuInfo?.() : undefined;
  if (!info) return `WebGPU: no usable adapter (${why.replace(/^@attnkit\/gpu-kernels: /, '')})`;
  if (info.software && requested !== 'webgpu') {
    setBackend('cpu');
    return `WebGPU: software adapter ${info.description}, slower than the CPU here (--backend webgpu runs on it)`;
  }
  return `WebGPU: adapter ${info.description}${info.software ? ' (software)' : ''}`;
}

function firstLine(e: Error): string {
  return String(e?.message ?? e).split('\n')[0];
}
