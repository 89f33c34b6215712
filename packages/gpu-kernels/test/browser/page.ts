// The page script of the browser test: bundled by `bundle.ts`, loaded by headless chromium, and called through
// `globalThis.attnkitBrowserCheck()`. It runs a few ops on WebGPU (navigator.gpu) and on the CPU oracle and
// returns both results, so the vitest side compares them with the WebGPU tolerance.
import { add, matmul, softmax, sum, type Tensor, tensor } from '@attnkit/core';
import { initWebGPU, webgpuInfo } from '../../src/index.js';
import type { BrowserCheck, OpResult } from './protocol.js';

/** Deterministic values in [-2, 2) (mulberry32), so a failure reproduces. */
function values(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = -2 + (4 * ((t ^ (t >>> 14)) >>> 0)) / 4294967296;
  }
  return out;
}

/** The same values as a WebGPU tensor and a CPU tensor. */
function both(shape: number[], seed: number): { gpu: Tensor; cpu: Tensor } {
  const v = values(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return { gpu: tensor(v, { shape, backend: 'webgpu' }), cpu: tensor(v, { shape, backend: 'cpu' }) };
}

async function result(name: string, gpu: Tensor, cpu: Tensor): Promise<OpResult> {
  const [g, c] = [await gpu.data(), await cpu.data()];
  let maxAbsError = 0;
  for (let i = 0; i < c.length; i++) {
    const d = Math.abs(Number(g[i]) - Number(c[i]));
    // NaN (an element the kernel did not write) counts as an infinite error.
    maxAbsError = Math.max(maxAbsError, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return {
    name,
    backend: gpu.backend.name,
    shape: [...gpu.shape],
    cpuShape: [...cpu.shape],
    gpu: Array.from(g, Number),
    cpu: Array.from(c, Number),
    maxAbsError,
  };
}

async function check(): Promise<BrowserCheck> {
  const nav = (globalThis as { navigator?: { gpu?: unknown; userAgent?: string } }).navigator;
  const base = { hasNavigatorGpu: !!nav?.gpu, userAgent: nav?.userAgent ?? '' };
  let why = '';
  const ok = await initWebGPU({ notice: (m) => (why = m) });
  if (!ok) return { ...base, adapter: false, why, description: '', ops: [] };
  const ops: OpResult[] = [];
  const a = both([33, 70], 1);
  const b = both([70, 45], 2);
  ops.push(await result('matmul [33,70]x[70,45]', matmul(a.gpu, b.gpu), matmul(a.cpu, b.cpu)));
  const s = both([4, 130], 3);
  ops.push(await result('softmax [4,130] axis -1', softmax(s.gpu, -1), softmax(s.cpu, -1)));
  const x = both([3, 1, 5], 4);
  const y = both([4, 1], 5);
  ops.push(await result('add [3,1,5]+[4,1]', add(x.gpu, y.gpu), add(x.cpu, y.cpu)));
  const r = both([6, 50], 6);
  ops.push(
    await result('sum [6,50] axis 1', sum(r.gpu, { axis: 1 }), sum(r.cpu, { axis: 1 })),
    await result('sum [6,50] all', sum(r.gpu), sum(r.cpu)),
  );
  return { ...base, adapter: true, why, description: webgpuInfo()?.description ?? '', ops };
}

(globalThis as { attnkitBrowserCheck?: () => Promise<BrowserCheck> }).attnkitBrowserCheck = check;
