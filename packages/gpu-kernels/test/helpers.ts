import { type DType, type Tensor, tensor } from '@attnkit/core';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import { expect } from 'vitest';

/** Whether the setup file found a WebGPU adapter (tests are skipped without one, outside CI). */
export const hasWebGPU = (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU === true;

/** A small deterministic generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values in [lo, hi) of `shape` as a typed array of `dtype` (integers for int32, 0/1 for bool). */
export function randomValues(
  shape: readonly number[],
  seed: number,
  dtype: DType = 'float32',
  lo = -2,
  hi = 2,
) {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  if (dtype === 'bool') return Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  if (dtype === 'int32') return Int32Array.from({ length: n }, () => Math.floor(lo + (hi - lo) * r()));
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** The same values as a CPU tensor and a WebGPU tensor. */
export function pair(shape: readonly number[], seed: number, dtype: DType = 'float32', lo = -2, hi = 2) {
  const v = randomValues(shape, seed, dtype, lo, hi);
  return {
    cpu: tensor(v, { shape: [...shape], backend: 'cpu' }),
    gpu: tensor(v, { shape: [...shape], backend: 'webgpu' }),
  };
}

/** Asserts a WebGPU result equals the CPU oracle's: dtype, shape, and values within the WebGPU tolerance. */
export async function expectMatch(gpu: Tensor, cpu: Tensor, what: string): Promise<void> {
  expect(gpu.backend.name, what).toBe('webgpu');
  expect(gpu.dtype, `${what}: dtype`).toBe(cpu.dtype);
  expect(gpu.shape, `${what}: shape`).toEqual(cpu.shape);
  const [g, c] = [await gpu.data(), await cpu.data()];
  expect(g.length, `${what}: length`).toBe(c.length);
  const d = compareArrays(g, c, toleranceFor('webgpu'));
  if (d.bad > 0) {
    throw new Error(
      `${what}: ${d.bad} of ${c.length} elements off; worst at ${d.worst}: ${g[d.worst]} vs ${c[d.worst]} (max abs ${d.maxAbs})`,
    );
  }
}
