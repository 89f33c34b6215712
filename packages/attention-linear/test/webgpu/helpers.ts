import { type Tensor, tensor } from '@attnkit/core';
import { compareArrays, type Tolerance, toleranceFor } from '@attnkit/core/testing';

/** Whether the setup file found a WebGPU adapter (suites are skipped without one, outside CI). */
export const hasWebGPU = (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU === true;

/** A small deterministic generator (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same uniform values in [-scale, scale) as a float32 CPU tensor and a WebGPU tensor. */
export function pair(shape: readonly number[], seed: number, scale = 0.5): { cpu: Tensor; gpu: Tensor } {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, () => scale * (2 * r() - 1));
  return {
    cpu: tensor(v, { shape: [...shape], backend: 'cpu' }),
    gpu: tensor(v, { shape: [...shape], backend: 'webgpu' }),
  };
}

/** Throws unless a WebGPU result matches the CPU oracle's values within `tol` (default: WebGPU's tolerance). */
export async function expectMatch(
  gpu: Tensor,
  cpu: Tensor,
  what: string,
  tol: Tolerance = toleranceFor('webgpu'),
): Promise<void> {
  if (gpu.backend.name !== 'webgpu') throw new Error(`${what}: on ${gpu.backend.name}, not webgpu`);
  if (gpu.shape.join() !== cpu.shape.join()) {
    throw new Error(`${what}: shape [${gpu.shape}] vs [${cpu.shape}]`);
  }
  const [g, c] = [await gpu.data(), await cpu.data()];
  const d = compareArrays(g, c, tol);
  if (d.bad > 0) {
    throw new Error(
      `${what}: ${d.bad} of ${c.length} elements off; worst at ${d.worst}: ${g[d.worst]} vs ${c[d.worst]} (max abs ${d.maxAbs})`,
    );
  }
}
