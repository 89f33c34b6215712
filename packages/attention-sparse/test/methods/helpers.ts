// Shared by the method tests: random inputs, host reads, and the dense reference (core's sdpa with an
// explicit boolean mask built independently of the method's code).
import { cast, Generator, mul, sdpa, sum, type Tensor, tensor, valueAndGrad } from '@attnkit/core';
import { assertClose } from '@attnkit/core/testing';
import { type BlockLayout, denseMaskFromLayout } from '../../src/engine/index.js';

/** Random normal tensor of `shape` on `backend`. */
export function randn(
  shape: number[],
  seed: number,
  backend = 'cpu',
  dtype: 'float32' | 'float64' = 'float32',
): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float64Array.from({ length: n }, () => gen.normal()),
    { shape, dtype, backend },
  );
}

/** q, k, v `[b, n, h, d]` (k and v with `kvHeads`). */
export function qkv(
  b: number,
  n: number,
  h: number,
  d: number,
  seed: number,
  backend = 'cpu',
  kvHeads = h,
  dtype: 'float32' | 'float64' = 'float32',
): { q: Tensor; k: Tensor; v: Tensor } {
  return {
    q: randn([b, n, h, d], seed, backend, dtype),
    k: randn([b, n, kvHeads, d], seed + 1, backend, dtype),
    v: randn([b, n, kvHeads, d], seed + 2, backend, dtype),
  };
}

/** The tensor on the CPU backend (itself when already there). */
export async function toCpu(t: Tensor): Promise<Tensor> {
  return t.backend.name === 'cpu'
    ? t
    : tensor(await t.data(), { shape: t.shape, dtype: t.dtype, backend: 'cpu' });
}

/** Host copy of a tensor as float64 (async: works on every backend). */
export async function host(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/** A bool mask tensor `[b, h, nq, nk]` from a predicate. */
export function maskTensor(
  b: number,
  h: number,
  nq: number,
  nk: number,
  allowed: (b: number, h: number, i: number, j: number) => boolean,
  backend = 'cpu',
): Tensor {
  const data = new Uint8Array(b * h * nq * nk);
  for (let bb = 0; bb < b; bb++)
    for (let hh = 0; hh < h; hh++)
      for (let i = 0; i < nq; i++)
        for (let j = 0; j < nk; j++) data[((bb * h + hh) * nq + i) * nk + j] = allowed(bb, hh, i, j) ? 1 : 0;
  return tensor(data, { shape: [b, h, nq, nk], dtype: 'bool', backend });
}

/** Dense masked attention (core sdpa) as the reference for a method's output. */
export async function expectMatchesDense(
  out: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  allowed: (b: number, h: number, i: number, j: number) => boolean,
  opts: { scale?: number; bias?: Tensor } = {},
): Promise<void> {
  const [b, nq, h] = q.shape;
  const nk = k.shape[1];
  const mask = maskTensor(b, h, nq, nk, allowed);
  const bias = opts.bias ? await toCpu(opts.bias) : undefined;
  const ref = sdpa(await toCpu(q), await toCpu(k), await toCpu(v), { mask, scale: opts.scale, bias });
  await assertClose(out, await ref.data());
}

/** The 0/1 element mask `[b|1, h|1, nq, nk]` a layout stands for (host array). */
export async function layoutMask(
  layout: BlockLayout,
  nq: number,
  nk: number,
  causal: boolean,
): Promise<{ data: Uint8Array; shape: number[] }> {
  const cpuLayout = { ...layout, kvBlocks: await toCpu(layout.kvBlocks) };
  const m = denseMaskFromLayout(cpuLayout, nq, nk, { causal });
  return { data: Uint8Array.from(m.dataSync()), shape: [...m.shape] };
}

/** Index of (b, h, i, j) in a mask of `shape` with broadcast leading axes. */
export function at(shape: number[], b: number, h: number, i: number, j: number): number {
  return (((shape[0] === 1 ? 0 : b) * shape[1] + (shape[1] === 1 ? 0 : h)) * shape[2] + i) * shape[3] + j;
}

/** Whether the WebGPU backend is up (test/setup.ts). */
export const hasWebGPU = (): boolean =>
  (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU === true;

/**
 * Checks the gradients of `run` (w.r.t. q, k, v, through a fixed random projection of the output) against
 * those of dense masked sdpa on the CPU in float64, where `allowed` is the method's mask.
 */
export async function expectGradsMatchDense(
  run: (q: Tensor, k: Tensor, v: Tensor) => Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  allowed: (b: number, h: number, i: number, j: number) => boolean,
  opts: { scale?: number } = {},
): Promise<void> {
  const [b, nq, h] = q.shape;
  const nk = k.shape[1];
  const proj = randn([...q.shape.slice(0, 3), v.shape[3]], 99, q.backend.name);
  const ours = valueAndGrad((a: Tensor, c: Tensor, e: Tensor) => sum(mul(run(a, c, e), proj)))(q, k, v);
  const mask = maskTensor(b, h, nq, nk, allowed);
  const f64 = async (t: Tensor) => cast(await toCpu(t), 'float64');
  const [q64, k64, v64, p64] = await Promise.all([f64(q), f64(k), f64(v), f64(proj)]);
  const dense = valueAndGrad((a: Tensor, c: Tensor, e: Tensor) =>
    sum(mul(sdpa(a, c, e, { mask, scale: opts.scale }), p64)),
  )(q64, k64, v64);
  for (let i = 0; i < 3; i++) await assertClose(ours.grads[i], await dense.grads[i].data());
}
