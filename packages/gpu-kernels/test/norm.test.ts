import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory, setPoisonOutputs } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues } from './helpers.js';

type Side = 'cpu' | 'gpu';
type P = ReturnType<typeof pair>;

/** A scalar loss `sum(f(...) * r)` with fixed random `r`, so every output element gets its own gradient weight. */
function weighted(f: (...a: Tensor[]) => Tensor, r: Tensor) {
  return (...a: Tensor[]) => core.sum(core.mul(f(...a), r));
}

/** Compares values and every gradient of `f` on the GPU with the CPU's. */
async function expectGradsMatch(f: (...a: Tensor[]) => Tensor, args: P[], r: P, what: string) {
  const get = (s: Side) => core.valueAndGrad(weighted(f, r[s]))(...args.map((a) => a[s]));
  const [g, c] = [get('gpu'), get('cpu')];
  await expectMatch(g.value, c.value, `${what}: value`);
  for (let i = 0; i < args.length; i++) await expectMatch(g.grads[i], c.grads[i], `${what}: grad ${i}`);
}

describe.skipIf(!hasWebGPU)('normalisation kernels on WebGPU match the CPU', () => {
  it('layerNorm: odd row lengths, several trailing axes, with and without weight and bias', async () => {
    const cases: [number[], number[]][] = [
      [[1, 1], [1]],
      [[3, 5], [5]],
      [[2, 3, 67], [67]],
      [
        [4, 7, 9],
        [7, 9],
      ],
      [[5, 130], [130]],
    ];
    for (const [s, [shape, ns]] of cases.entries()) {
      // An offset and a large mean check the two-pass variance (a one-pass sum of squares would cancel).
      const x = pair(shape, 10 + s, 'float32', 300, 304);
      const w = pair(ns, 20 + s);
      const b = pair(ns, 30 + s);
      for (const [wt, bs] of [
        [null, null],
        [w, null],
        [null, b],
        [w, b],
      ] as const) {
        const what = `layerNorm ${shape} w=${!!wt} b=${!!bs}`;
        await expectMatch(
          core.layerNorm(x.gpu, ns, wt?.gpu, bs?.gpu, 1e-5),
          core.layerNorm(x.cpu, ns, wt?.cpu, bs?.cpu, 1e-5),
          what,
        );
      }
    }
  });

  it('rmsNorm with and without weight, default and explicit eps', async () => {
    for (const [s, [shape, ns]] of (
      [
        [[3, 5], [5]],
        [[2, 3, 67], [67]],
        [
          [2, 4, 33],
          [4, 33],
        ],
      ] as [number[], number[]][]
    ).entries()) {
      const x = pair(shape, 40 + s);
      const w = pair(ns, 50 + s);
      await expectMatch(core.rmsNorm(x.gpu, ns), core.rmsNorm(x.cpu, ns), `rmsNorm ${shape}`);
      await expectMatch(
        core.rmsNorm(x.gpu, ns, w.gpu, 1e-3),
        core.rmsNorm(x.cpu, ns, w.cpu, 1e-3),
        `rmsNorm ${shape} weighted`,
      );
    }
  });

  it('groupNorm over channel groups and spatial axes', async () => {
    const cases: [number[], number][] = [
      [[2, 6, 5, 3], 3],
      [[1, 4, 7], 1],
      [[3, 6], 6],
      [[2, 8, 3, 3], 2],
    ];
    for (const [s, [shape, groups]] of cases.entries()) {
      const c = shape[1];
      const x = pair(shape, 60 + s, 'float32', -3, 5);
      const w = pair([c], 70 + s);
      const b = pair([c], 80 + s);
      await expectMatch(
        core.groupNorm(x.gpu, groups),
        core.groupNorm(x.cpu, groups),
        `groupNorm ${shape} ${groups}`,
      );
      await expectMatch(
        core.groupNorm(x.gpu, groups, w.gpu, b.gpu, 1e-3),
        core.groupNorm(x.cpu, groups, w.cpu, b.cpu, 1e-3),
        `groupNorm ${shape} ${groups} affine`,
      );
      await expectMatch(
        core.groupNorm(x.gpu, groups, null, b.gpu),
        core.groupNorm(x.cpu, groups, null, b.cpu),
        `groupNorm ${shape} ${groups} bias only`,
      );
    }
  });

  it('reads inputs at an offset (a slice of a larger tensor)', async () => {
    const x = pair([6, 21], 90);
    const w = pair([21], 91);
    const part = (t: Tensor) => core.slice(t, [[2, 5]]);
    await expectMatch(
      core.layerNorm(part(x.gpu), 21, w.gpu),
      core.layerNorm(part(x.cpu), 21, w.cpu),
      'layerNorm of a slice',
    );
  });

  it('gradients through valueAndGrad (composite vjps on the GPU)', async () => {
    const x = pair([3, 4, 11], 100);
    const w = pair([11], 101);
    const b = pair([11], 102);
    const r = pair([3, 4, 11], 103);
    await expectGradsMatch((a, p, q) => core.layerNorm(a, 11, p, q), [x, w, b], r, 'layerNorm');
    await expectGradsMatch(
      (a, p) => core.rmsNorm(a, [4, 11], core.reshape(p, [4, 11])),
      [x, pair([44], 104)],
      r,
      'rmsNorm',
    );
    const xg = pair([2, 6, 3, 2], 105);
    const wg = pair([6], 106);
    const bg = pair([6], 107);
    const rg = pair([2, 6, 3, 2], 108);
    await expectGradsMatch((a, p, q) => core.groupNorm(a, 3, p, q), [xg, wg, bg], rg, 'groupNorm');
  });

  it('leaks no buffers (forward and backward)', async () => {
    const before = gpuMemory().liveBuffers;
    const x = core.tensor(randomValues([7, 13], 3), { shape: [7, 13], backend: 'webgpu' });
    const x3 = core.reshape(x, [7, 13, 1]);
    const outs = [core.layerNorm(x, 13), core.groupNorm(x3, 13), core.rmsNorm(x, 13)];
    await Promise.all(outs.map((o) => o.data()));
    const { value, grads } = core.valueAndGrad((a) => core.sum(core.layerNorm(a, 13)))(x);
    await grads[0].data();
    for (const t of [...outs, value, ...grads, x3, x]) t.dispose();
    expect(gpuMemory().liveBuffers).toBe(before);
  });
});

/** Not a test of correctness: the SwiftShader time of the benchmark shape (printed), after a checked warm-up. */
describe.skipIf(!hasWebGPU)('normalisation timing on this adapter', () => {
  it('layerNorm [256, 384] with weight and bias', async () => {
    const x = pair([256, 384], 200);
    const w = pair([384], 201);
    const b = pair([384], 202);
    const warm = core.layerNorm(x.gpu, 384, w.gpu, b.gpu);
    await expectMatch(warm, core.layerNorm(x.cpu, 384, w.cpu, b.cpu), 'benchmark shape');
    warm.dispose();
    const reps = 10;
    // Timed without the test mode's NaN fill of every output (an upload per call).
    setPoisonOutputs(false);
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) core.layerNorm(x.gpu, 384, w.gpu, b.gpu).dispose();
    await core.getBackend('webgpu').sync?.();
    const ln = (performance.now() - t0) / reps;
    // For scale: an elementwise add of the same shape on the same adapter.
    core.add(x.gpu, x.gpu).dispose();
    await core.getBackend('webgpu').sync?.();
    const t1 = performance.now();
    for (let i = 0; i < reps; i++) core.add(x.gpu, x.gpu).dispose();
    await core.getBackend('webgpu').sync?.();
    const add = (performance.now() - t1) / reps;
    setPoisonOutputs(true);
    console.log(
      `layerNorm [256,384]: ${ln.toFixed(2)} ms per call (add of the same shape: ${add.toFixed(2)} ms)`,
    );
  });
});
