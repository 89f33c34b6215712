import { fallbackStats, mul, sum, type Tensor, tensor, valueAndGrad } from '@attnkit/core';
import { assertClose } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { blockSparseAttention, layoutFromBlockLists } from '../../src/engine/index.js';
import { type KernelVariant, setKernelVariant } from '../../src/webgpu/index.js';
import { type Case, randomLists, randomMask, randomQkv } from '../engine/helpers.js';

// The WGSL kernels against the CPU oracle on shapes that exercise their edges: blocks longer than a workgroup
// (several row chunks per block) and than a tile, partial border blocks, causal with more or fewer queries than
// keys, layouts shared over batches or heads with GQA, broadcast masks; the whole autograd path on WebGPU; and
// bitwise-repeatable gradients (no atomics).

const hasWebGPU = (globalThis as { __attnkitWebGPU?: boolean }).__attnkitWebGPU === true;

interface Sweep {
  c: Case;
  axes: [number, number];
  causal?: boolean;
  mask?: number[];
  density?: number;
  /** Whether query block 0 lists nothing (default true). */
  empty?: boolean;
}

const SWEEP: Sweep[] = [
  {
    c: { batch: 1, nq: 75, nk: 70, heads: 2, kvHeads: 1, headDim: 8, valueDim: 4, blockQ: 40, blockK: 35 },
    axes: [1, 2],
    causal: true,
  },
  {
    c: { batch: 2, nq: 9, nk: 30, heads: 2, kvHeads: 2, headDim: 3, valueDim: 7, blockQ: 2, blockK: 7 },
    axes: [1, 1],
    causal: true,
    mask: [1, 2, 1, 30],
    density: 0.6,
  },
  {
    c: { batch: 1, nq: 33, nk: 17, heads: 4, kvHeads: 2, headDim: 16, valueDim: 16, blockQ: 33, blockK: 1 },
    axes: [1, 4],
    mask: [33, 17],
    density: 0.4,
    empty: false,
  },
  {
    c: { batch: 2, nq: 21, nk: 26, heads: 2, kvHeads: 2, headDim: 6, valueDim: 10, blockQ: 20, blockK: 9 },
    axes: [2, 2],
    causal: true,
    mask: [2, 2, 21, 26],
  },
];

/** Inputs of a sweep case: float64 on the CPU (the oracle's) and float32 on WebGPU. */
function inputs(s: Sweep, seed: number) {
  const f64 = randomQkv(s.c, 'cpu', seed, 'float64');
  const gpu = (t: Tensor) => t.cast('float32').to('webgpu');
  const layout = layoutFromBlockLists(
    randomLists(s.c, ...s.axes, seed + 1, s.density ?? 0.5, s.empty ?? true),
    s.c,
  );
  const mask = s.mask ? randomMask(s.mask, seed + 2) : undefined;
  const w = randomQkv({ ...s.c, nk: s.c.nq, kvHeads: s.c.heads }, 'cpu', seed + 3, 'float64').v;
  return { f64, gpu: { q: gpu(f64.q), k: gpu(f64.k), v: gpu(f64.v) }, layout, mask, w, wGpu: gpu(w) };
}

// Every case on the default kernels (the simple ones on SwiftShader), and cases 0 (the GPU benchmark's tile
// shapes, with GQA and causality) and 1 (small tiles, a broadcast mask) on the tiled ones (the GPU default): the
// tiled kernels compile slowly on SwiftShader, and the code the other cases add (layout rows, masks) is shared.
const RUNS = [...SWEEP.map((_, n) => [n, 'auto'] as const), [0, 'tiled'] as const, [1, 'tiled'] as const];

/** Runs `f` with the given kernel variant. */
async function withVariant<T>(variant: KernelVariant, f: () => Promise<T>): Promise<T> {
  const prev = setKernelVariant(variant);
  try {
    return await f();
  } finally {
    setKernelVariant(prev);
  }
}

describe.runIf(hasWebGPU)('webgpu kernels', () => {
  it.each(RUNS)('case %i, %s kernels: forward and gradients match the CPU oracle', async (n, variant) => {
    const s = SWEEP[n];
    const { f64, gpu, layout, mask, w, wGpu } = inputs(s, 40 + 10 * n);
    const opts = { causal: s.causal, mask };
    // Loss sum(out * w): its gradients exercise the backward primitive with a random output gradient.
    const loss = (weights: Tensor) => (q: Tensor, k: Tensor, v: Tensor) =>
      sum(mul(blockSparseAttention(q, k, v, layout, opts).out, weights));
    const ref = valueAndGrad(loss(w))(f64.q, f64.k, f64.v);
    const refOut = blockSparseAttention(f64.q, f64.k, f64.v, layout, opts);
    fallbackStats.reset();
    await withVariant(variant, async () => {
      const got = valueAndGrad(loss(wGpu))(gpu.q, gpu.k, gpu.v);
      const out = blockSparseAttention(gpu.q, gpu.k, gpu.v, layout, opts);
      await assertClose(out.out, refOut.out);
      await assertClose(out.lse, refOut.lse);
      for (let g = 0; g < 3; g++) await assertClose(got.grads[g], ref.grads[g]);
    });
    expect([...fallbackStats.names].filter((x) => x.startsWith('sparse.'))).toEqual([]);
  });

  it.each(['auto', 'tiled'] as const)(
    '%s kernels give bitwise-identical gradients on repeated runs',
    async (variant) => {
      const s = SWEEP[0];
      const { gpu, layout, wGpu } = inputs(s, 90);
      const run = async () => {
        const r = valueAndGrad((q, k, v) =>
          sum(mul(blockSparseAttention(q, k, v, layout, { causal: true }).out, wGpu)),
        )(gpu.q, gpu.k, gpu.v);
        return Promise.all(r.grads.map((g) => g.data()));
      };
      const a = await withVariant(variant, run);
      const b = await withVariant(variant, run);
      for (let g = 0; g < 3; g++)
        expect(Buffer.from(b[g].buffer).equals(Buffer.from(a[g].buffer))).toBe(true);
    },
  );

  it('runs layouts and masks that live on the CPU, and a layout made on WebGPU', async () => {
    const c: Case = {
      batch: 1,
      nq: 8,
      nk: 8,
      heads: 1,
      kvHeads: 1,
      headDim: 4,
      valueDim: 4,
      blockQ: 4,
      blockK: 4,
    };
    const f64 = randomQkv(c, 'cpu', 95, 'float64');
    const cpuLayout = layoutFromBlockLists([[[[0], [1, 0]]]], c);
    const gpuLayout = {
      ...cpuLayout,
      kvBlocks: tensor([0, -1, 1, 0], { shape: [1, 1, 2, 2], dtype: 'int32', backend: 'webgpu' }),
    };
    const ref = blockSparseAttention(f64.q, f64.k, f64.v, cpuLayout);
    const q = f64.q.cast('float32').to('webgpu');
    const k = f64.k.cast('float32').to('webgpu');
    const v = f64.v.cast('float32').to('webgpu');
    await assertClose(blockSparseAttention(q, k, v, cpuLayout).out, ref.out);
    await assertClose(blockSparseAttention(q, k, v, gpuLayout).out, ref.out);
  });

  it('leaves head sizes past the kernels (256) to the CPU oracle, with the same results', async () => {
    const c: Case = {
      batch: 1,
      nq: 3,
      nk: 4,
      heads: 1,
      kvHeads: 1,
      headDim: 257,
      valueDim: 2,
      blockQ: 2,
      blockK: 2,
    };
    const f64 = randomQkv(c, 'cpu', 97, 'float64');
    const layout = layoutFromBlockLists([[[[1], [0, 1]]]], c);
    const ref = blockSparseAttention(f64.q, f64.k, f64.v, layout);
    fallbackStats.reset();
    const gpu = (t: Tensor) => t.cast('float32').to('webgpu');
    const got = blockSparseAttention(gpu(f64.q), gpu(f64.k), gpu(f64.v), layout);
    await assertClose(got.out, ref.out);
    expect([...fallbackStats.names]).toEqual(['sparse.blockForward']);
  });
});
