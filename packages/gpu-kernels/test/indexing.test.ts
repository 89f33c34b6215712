import * as core from '@attnkit/core';
import { type Tensor, tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues, rng } from './helpers.js';

/** The same int32 indices in [0, n) of `shape` on the CPU and on WebGPU. */
function indices(shape: number[], n: number, seed: number) {
  const v = randomValues(shape, seed, 'int32', 0, n);
  return {
    cpu: tensor(v, { shape, dtype: 'int32', backend: 'cpu' }),
    gpu: tensor(v, { shape, dtype: 'int32', backend: 'webgpu' }),
  };
}

// [x shape, axis, index shape]: odd sizes, index smaller than x on the other axes, repeats along the axis.
const CASES: [number[], number, number[]][] = [
  [[7], 0, [11]],
  [[5, 6], 0, [9, 6]],
  [[5, 6], 1, [3, 8]],
  [[4, 3, 5], 1, [2, 7, 4]],
  [[3, 4, 9], 2, [3, 4, 20]],
  [[6, 2, 3], -3, [4, 2, 1]],
];

describe.skipIf(!hasWebGPU)('indexing ops on WebGPU match the CPU', () => {
  it('gather, float32 and int32', async () => {
    for (const [k, [xs, axis, is]] of CASES.entries()) {
      const a = axis < 0 ? axis + xs.length : axis;
      const x = pair(xs, 500 + k);
      const xi = pair(xs, 520 + k, 'int32', -100, 100);
      const idx = indices(is, xs[a], 540 + k);
      await expectMatch(
        core.gather(x.gpu, axis, idx.gpu),
        core.gather(x.cpu, axis, idx.cpu),
        `gather ${xs} ${axis}`,
      );
      await expectMatch(
        core.gather(xi.gpu, axis, idx.gpu),
        core.gather(xi.cpu, axis, idx.cpu),
        `gather int ${xs}`,
      );
    }
  });

  it('indexSelect on every axis, with repeats and a 0-d index', async () => {
    const x = pair([5, 7, 3], 600);
    for (const axis of [0, 1, 2]) {
      const idx = indices([9], x.cpu.shape[axis], 610 + axis);
      await expectMatch(
        core.indexSelect(x.gpu, axis, idx.gpu),
        core.indexSelect(x.cpu, axis, idx.cpu),
        `indexSelect axis ${axis}`,
      );
    }
    const one = {
      cpu: tensor(4, { dtype: 'int32', backend: 'cpu' }),
      gpu: tensor(4, { dtype: 'int32', backend: 'webgpu' }),
    };
    await expectMatch(core.indexSelect(x.gpu, 1, one.gpu), core.indexSelect(x.cpu, 1, one.cpu), '0-d index');
    const b = pair([6, 2], 620, 'bool');
    const ib = indices([4], 6, 621);
    await expectMatch(core.indexSelect(b.gpu, 0, ib.gpu), core.indexSelect(b.cpu, 0, ib.cpu), 'bool rows');
  });

  it('scatterAdd: repeated indices accumulate; src larger than index uses its corner', async () => {
    for (const [k, [xs, axis, is]] of CASES.entries()) {
      const a = axis < 0 ? axis + xs.length : axis;
      const x = pair(xs, 700 + k);
      const src = pair(
        is.map((d) => d + 1),
        720 + k,
      );
      const idx = indices(is, xs[a], 740 + k);
      await expectMatch(
        core.scatterAdd(x.gpu, axis, idx.gpu, src.gpu),
        core.scatterAdd(x.cpu, axis, idx.cpu, src.cpu),
        `scatterAdd ${xs} ${axis}`,
      );
      const xi = pair(xs, 760 + k, 'int32', -50, 50);
      const si = pair(is, 780 + k, 'int32', -50, 50);
      await expectMatch(
        core.scatterAdd(xi.gpu, axis, idx.gpu, si.gpu),
        core.scatterAdd(xi.cpu, axis, idx.cpu, si.cpu),
        `scatterAdd int ${xs} ${axis}`,
      );
    }
  });

  it('scatter: the last write of a repeated index wins, as on the CPU; number src', async () => {
    for (const [k, [xs, axis, is]] of CASES.entries()) {
      const a = axis < 0 ? axis + xs.length : axis;
      const x = pair(xs, 800 + k);
      const src = pair(is, 820 + k);
      const idx = indices(is, xs[a], 840 + k);
      await expectMatch(
        core.scatter(x.gpu, axis, idx.gpu, src.gpu),
        core.scatter(x.cpu, axis, idx.cpu, src.cpu),
        `scatter ${xs} ${axis}`,
      );
      await expectMatch(
        core.scatter(x.gpu, axis, idx.gpu, 9),
        core.scatter(x.cpu, axis, idx.cpu, 9),
        'scatter 9',
      );
    }
    const b = pair([4, 5], 860, 'bool');
    const sb = pair([3, 5], 861, 'bool');
    const ib = indices([3, 5], 4, 862);
    await expectMatch(
      core.scatter(b.gpu, 0, ib.gpu, sb.gpu),
      core.scatter(b.cpu, 0, ib.cpu, sb.cpu),
      'bool scatter',
    );
  });

  it('inputs that are views at an offset (sliced on the first axis) are read from their offset', async () => {
    const big = pair([6, 5], 880);
    const src = pair([5, 5], 881);
    const idx = indices([4, 5], 4, 882);
    const sel = indices([3], 5, 883);
    const sl = (t: Tensor) => core.slice(t, [[2, 6], null]);
    const sl1 = (t: Tensor) => core.slice(t, [[1, 5], null]);
    await expectMatch(core.gather(sl(big.gpu), 0, idx.gpu), core.gather(sl(big.cpu), 0, idx.cpu), 'gather');
    await expectMatch(
      core.indexSelect(sl(big.gpu), 1, sel.gpu),
      core.indexSelect(sl(big.cpu), 1, sel.cpu),
      'indexSelect',
    );
    const sa = (x: Tensor, i: Tensor, s: Tensor) => core.scatterAdd(sl(x), 0, i, sl1(s));
    await expectMatch(sa(big.gpu, idx.gpu, src.gpu), sa(big.cpu, idx.cpu, src.cpu), 'scatterAdd');
    const sc = (x: Tensor, i: Tensor, s: Tensor) => core.scatter(sl(x), 0, i, sl1(s));
    await expectMatch(sc(big.gpu, idx.gpu, src.gpu), sc(big.cpu, idx.cpu, src.cpu), 'scatter');
    await expectMatch(
      core.pad(sl(big.gpu), [1, 2], { mode: 'reflect' }),
      core.pad(sl(big.cpu), [1, 2], { mode: 'reflect' }),
      'pad',
    );
  });

  it('out-of-range indices on WebGPU: gather clamps, scatterAdd ignores', async () => {
    const x = tensor([10, 20, 30], { backend: 'webgpu' });
    const bad = tensor([-4, 1, 7], { dtype: 'int32', backend: 'webgpu' });
    expect(Array.from(await core.gather(x, 0, bad).data())).toEqual([10, 20, 30]);
    const y = core.scatterAdd(x, 0, bad, tensor([1, 2, 3], { backend: 'webgpu' }));
    expect(Array.from(await y.data())).toEqual([10, 22, 30]);
  });

  it('gradients of gather, indexSelect and scatterAdd through valueAndGrad match the CPU', async () => {
    const x = pair([6, 5], 900);
    const w = pair([8, 5], 901);
    const gi = indices([8, 5], 6, 902);
    const si = indices([8], 6, 903);
    const f = (ww: Tensor, g: Tensor, s: Tensor) => (v: Tensor, src: Tensor) =>
      core.sum(
        core.mul(
          core.add(core.gather(v, 0, g), core.indexSelect(v, 0, s)),
          core.add(ww, core.gather(core.scatterAdd(v, 0, g, src), 0, g)),
        ),
      );
    const src = pair([8, 5], 904);
    const gg = core.valueAndGrad(f(w.gpu, gi.gpu, si.gpu))(x.gpu, src.gpu);
    const cc = core.valueAndGrad(f(w.cpu, gi.cpu, si.cpu))(x.cpu, src.cpu);
    await expectMatch(gg.value, cc.value, 'value');
    await expectMatch(gg.grads[0], cc.grads[0], 'grad x');
    await expectMatch(gg.grads[1], cc.grads[1], 'grad src');
  });

  it('does not leak buffers', async () => {
    const x = pair([9, 4], 950);
    const idx = indices([12, 4], 9, 951);
    const r = rng(3);
    const run = async () => {
      const a = core.gather(x.gpu, 0, idx.gpu);
      const b = core.scatterAdd(x.gpu, 0, idx.gpu, a);
      const c = core.scatter(b, 0, idx.gpu, r());
      await c.data();
      for (const t of [a, b, c]) t.dispose();
    };
    await run();
    const before = gpuMemory();
    for (let k = 0; k < 3; k++) await run();
    expect(gpuMemory().liveBuffers).toBe(before.liveBuffers);
  });
});

describe.skipIf(!hasWebGPU)('concat, pad and padGrad on WebGPU match the CPU', () => {
  it('concat on every axis, odd sizes, every dtype, views', async () => {
    const a = pair([3, 4, 5], 1000);
    const b = pair([3, 4, 5], 1001);
    const c = pair([3, 4, 5], 1002);
    const sl = (t: Tensor, axis: number) =>
      core.slice(
        t,
        t.shape.map((d, k) => (k === axis ? [1, d] : null)),
      );
    for (const axis of [0, 1, 2, -1]) {
      const ax = axis < 0 ? axis + 3 : axis;
      await expectMatch(
        core.concat([a.gpu, sl(b.gpu, ax), c.gpu], axis),
        core.concat([a.cpu, sl(b.cpu, ax), c.cpu], axis),
        `concat axis ${axis}`,
      );
    }
    const i = pair([2, 7], 1003, 'int32', -9, 9);
    const j = pair([5, 7], 1004, 'int32', -9, 9);
    await expectMatch(core.concat([i.gpu, j.gpu], 0), core.concat([i.cpu, j.cpu], 0), 'int32 concat');
    const p = pair([2, 3], 1005, 'bool');
    await expectMatch(core.concat([p.gpu, p.gpu], 1), core.concat([p.cpu, p.cpu], 1), 'bool concat');
  });

  it('pad in every mode, with crops, and the constant fill per dtype', async () => {
    const x = pair([2, 5, 6], 1100);
    const cases: [number[], core.PadOptions][] = [
      [[1, 2], {}],
      [[2, 3, 1, 0], { value: -1.5 }],
      [[3, 2, 4, 1], { mode: 'reflect' }],
      [[2, 7, 1, 3], { mode: 'replicate' }],
      [[6, 2, 5, 5], { mode: 'circular' }],
      [[-2, 1, 1, -3], { mode: 'reflect' }],
      [[1, 1, 1, 1, 1, 1], { value: Number.NaN }],
    ];
    for (const [pads, opts] of cases) {
      await expectMatch(core.pad(x.gpu, pads, opts), core.pad(x.cpu, pads, opts), `pad ${pads} ${opts.mode}`);
    }
    const i = pair([3, 4], 1101, 'int32', -9, 9);
    await expectMatch(
      core.pad(i.gpu, [1, 2, 2, 0], { value: 7 }),
      core.pad(i.cpu, [1, 2, 2, 0], { value: 7 }),
      'int32',
    );
    const b = pair([3, 4], 1102, 'bool');
    await expectMatch(core.pad(b.gpu, [1, 1], { value: 1 }), core.pad(b.cpu, [1, 1], { value: 1 }), 'bool');
  });

  it('padGrad (the gradient of pad) through valueAndGrad, every mode', async () => {
    const x = pair([2, 4, 5], 1200);
    for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
      const pads = mode === 'reflect' ? [3, 2, 1, 3] : mode === 'circular' ? [4, 5, 2, 4] : [4, 6, 2, 5];
      const w = pair(core.pad(x.cpu, pads, { mode }).shape, 1201);
      const f = (ww: Tensor) => (v: Tensor) => core.sum(core.mul(core.pad(v, pads, { mode }), ww));
      const g = core.valueAndGrad(f(w.gpu))(x.gpu);
      const c = core.valueAndGrad(f(w.cpu))(x.cpu);
      await expectMatch(g.grads[0], c.grads[0], `padGrad ${mode}`);
    }
  });

  it('does not leak buffers', async () => {
    const x = pair([3, 5], 1300);
    const run = async () => {
      const a = core.concat([x.gpu, x.gpu], 1);
      const b = core.pad(a, [2, 1], { mode: 'reflect' });
      await b.data();
      a.dispose();
      b.dispose();
    };
    await run();
    const before = gpuMemory();
    for (let k = 0; k < 3; k++) await run();
    expect(gpuMemory().liveBuffers).toBe(before.liveBuffers);
  });
});

describe.skipIf(!hasWebGPU)('resize kernels on WebGPU match the CPU', () => {
  const CASES: core.InterpolateOptions[] = [
    { scaleFactor: 2 },
    { size: [7, 3] },
    { size: [2, 9] },
    { scaleFactor: 2, mode: 'bilinear' },
    { size: [7, 9], mode: 'bilinear', alignCorners: true },
    { size: [3, 2], mode: 'bilinear' },
    { size: [5, 11], mode: 'bilinear' },
  ];
  it('interpolate (nearest and bilinear) and its gradient through valueAndGrad', async () => {
    const x = pair([2, 3, 5, 4], 1800);
    for (const [k, opts] of CASES.entries()) {
      const what = JSON.stringify(opts);
      await expectMatch(core.interpolate(x.gpu, opts), core.interpolate(x.cpu, opts), what);
      const shape = core.interpolate(x.cpu, opts).shape;
      const w = pair(shape, 1810 + k);
      const f = (ww: Tensor) => (v: Tensor) => core.sum(core.mul(core.interpolate(v, opts), ww));
      const g = core.valueAndGrad(f(w.gpu))(x.gpu);
      const c = core.valueAndGrad(f(w.cpu))(x.cpu);
      await expectMatch(g.grads[0], c.grads[0], `grad ${what}`);
    }
  });
});
