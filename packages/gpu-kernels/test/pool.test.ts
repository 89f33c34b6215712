import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues } from './helpers.js';

type Side = 'cpu' | 'gpu';
type P = ReturnType<typeof pair>;

/** Values and the gradient of `sum(f(x) * r)` on both sides, compared. */
async function expectGradMatch(f: (x: Tensor) => Tensor, x: P, what: string) {
  const shape = f(x.cpu).shape;
  const r = pair(shape, 999);
  const get = (s: Side) => core.valueAndGrad((a) => core.sum(core.mul(f(a), r[s])))(x[s]);
  const [g, c] = [get('gpu'), get('cpu')];
  await expectMatch(g.value, c.value, `${what}: value`);
  await expectMatch(g.grads[0], c.grads[0], `${what}: grad`);
}

const AVG: [number[], core.AvgPoolOptions][] = [
  [[1, 1, 1, 1], { kernelSize: 1 }],
  [[2, 3, 7, 5], { kernelSize: 2 }],
  [[1, 2, 9, 8], { kernelSize: 3, stride: 2, padding: 1 }],
  [[2, 2, 7, 7], { kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], countIncludePad: false }],
  [[1, 3, 8, 9], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
  [[1, 2, 6, 5], { kernelSize: 2, stride: 3, ceilMode: true, countIncludePad: false }],
  [[1, 2, 5, 6], { kernelSize: 3, padding: 1, divisorOverride: 7 }],
];

const MAX: [number[], core.MaxPoolOptions][] = [
  [[1, 1, 1, 1], { kernelSize: 1 }],
  [[2, 3, 7, 5], { kernelSize: 2 }],
  [[1, 2, 9, 8], { kernelSize: 3, stride: 2, padding: 1 }],
  [[2, 2, 8, 7], { kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 3] }],
  [[1, 3, 8, 9], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
  [[1, 1, 7, 7], { kernelSize: 3, stride: 1, padding: 1, dilation: 3 }],
];

const ADAPTIVE: [number[], core.AdaptiveSize][] = [
  [[1, 2, 7, 5], 1],
  [
    [2, 3, 7, 5],
    [3, 2],
  ],
  [
    [1, 2, 10, 9],
    [4, 4],
  ],
  [
    [1, 2, 3, 4],
    [5, 7],
  ],
  [
    [1, 1, 6, 6],
    [null, 4],
  ],
];

describe.skipIf(!hasWebGPU)('pooling kernels on WebGPU match the CPU', () => {
  it('avgPool2d: borders, ceil mode, countIncludePad, divisorOverride (and gradients)', async () => {
    for (const [s, [shape, o]] of AVG.entries()) {
      const x = pair(shape, 10 + s);
      const what = `avgPool2d ${shape} ${JSON.stringify(o)}`;
      await expectMatch(core.avgPool2d(x.gpu, o), core.avgPool2d(x.cpu, o), what);
      await expectGradMatch((a) => core.avgPool2d(a, o), x, what);
    }
    const x1 = pair([2, 3, 11], 5);
    await expectMatch(
      core.avgPool1d(x1.gpu, { kernelSize: 3, stride: 2, padding: 1 }),
      core.avgPool1d(x1.cpu, { kernelSize: 3, stride: 2, padding: 1 }),
      'avgPool1d',
    );
  });

  it('maxPool2d: values and int32 indices, with ties (first maximum), padding, dilation, ceil mode', async () => {
    for (const [s, [shape, o]] of MAX.entries()) {
      // Few distinct values, so ties are common and the first-maximum rule decides the indices.
      const x = pair(shape, 30 + s, 'int32', -2, 2);
      const xf = {
        cpu: core.cast(x.cpu, 'float32'),
        gpu: core.cast(x.gpu, 'float32'),
      };
      const what = `maxPool2d ${shape} ${JSON.stringify(o)}`;
      const g = core.maxPool2dWithIndices(xf.gpu, o);
      const c = core.maxPool2dWithIndices(xf.cpu, o);
      await expectMatch(g.values, c.values, `${what}: values`);
      await expectMatch(g.indices, c.indices, `${what}: indices`);
      await expectGradMatch((a) => core.maxPool2d(a, o), pair(shape, 40 + s), what);
      await expectGradMatch((a) => core.maxPool2d(a, o), xf, `${what} ties`);
    }
  });

  it('maxPool2d: NaN wins (the last NaN of the window), -inf and index -1 for a window of padding only', async () => {
    const v = [1, Number.NaN, 3, Number.NaN, 0, 2, 5, 4, Number.NaN];
    const x = pair([1, 1, 3, 3], 0);
    const xn = {
      cpu: core.tensor(v, { shape: [1, 1, 3, 3], backend: 'cpu' }),
      gpu: core.tensor(v, { shape: [1, 1, 3, 3], backend: 'webgpu' }),
    };
    for (const o of [{ kernelSize: 2, stride: 1 }, { kernelSize: 3 }] as core.MaxPoolOptions[]) {
      const g = core.maxPool2dWithIndices(xn.gpu, o);
      const c = core.maxPool2dWithIndices(xn.cpu, o);
      await expectMatch(g.values, c.values, `NaN ${JSON.stringify(o)}: values`);
      await expectMatch(g.indices, c.indices, `NaN ${JSON.stringify(o)}: indices`);
    }
    // Rows: taps -1 and 2 of a height-2 input are both padding, so every window is padding only.
    const y = pair([1, 2, 2, 3], 1);
    const o: core.MaxPoolOptions = { kernelSize: 2, padding: 1, dilation: [3, 1], stride: 1 };
    const c = core.maxPool2dWithIndices(y.cpu, o);
    const g = core.maxPool2dWithIndices(y.gpu, o);
    await expectMatch(g.values, c.values, 'padding-only windows: values');
    await expectMatch(g.indices, c.indices, 'padding-only windows: indices');
    expect(Array.from(await g.indices.data()).every((i) => i === -1)).toBe(true);
    await expectGradMatch((a) => core.maxPool2d(a, { kernelSize: 2 }), x, 'small');
  });

  it('adaptiveAvgPool2d and adaptiveMaxPool2d (downsampling, upsampling, null sizes) and gradients', async () => {
    for (const [s, [shape, size]] of ADAPTIVE.entries()) {
      const x = pair(shape, 60 + s);
      const what = `${shape} -> ${JSON.stringify(size)}`;
      await expectMatch(
        core.adaptiveAvgPool2d(x.gpu, size),
        core.adaptiveAvgPool2d(x.cpu, size),
        `adaptiveAvg ${what}`,
      );
      await expectGradMatch((a) => core.adaptiveAvgPool2d(a, size), x, `adaptiveAvg ${what}`);
      await expectMatch(
        core.adaptiveMaxPool2d(x.gpu, size),
        core.adaptiveMaxPool2d(x.cpu, size),
        `adaptiveMax ${what}`,
      );
      await expectGradMatch((a) => core.adaptiveMaxPool2d(a, size), x, `adaptiveMax ${what}`);
    }
  });

  it('second-order: the gradient of maxPool2dGrad runs maxPool2dGather', async () => {
    const x = pair([1, 2, 5, 5], 70);
    const o: core.MaxPoolOptions = { kernelSize: 2, stride: 2, padding: 1 };
    const f = (a: Tensor) =>
      core.grad((b) => core.sum(core.mul(core.maxPool2d(b, o), core.maxPool2d(b, o))))(a)[0];
    await expectGradMatch(f, x, 'grad of grad');
  });

  it('reads inputs at an offset (a slice of a larger tensor)', async () => {
    const x = pair([3, 2, 7, 6], 90);
    const xs = (t: Tensor) => core.slice(t, [[1, 3]]);
    await expectMatch(
      core.avgPool2d(xs(x.gpu), { kernelSize: 3, padding: 1 }),
      core.avgPool2d(xs(x.cpu), { kernelSize: 3, padding: 1 }),
      'avgPool2d of a slice',
    );
    const g = core.maxPool2dWithIndices(xs(x.gpu), { kernelSize: 2 });
    const c = core.maxPool2dWithIndices(xs(x.cpu), { kernelSize: 2 });
    await expectMatch(g.values, c.values, 'maxPool2d of a slice: values');
    await expectMatch(g.indices, c.indices, 'maxPool2d of a slice: indices');
    await expectMatch(
      core.adaptiveAvgPool2d(xs(x.gpu), 4),
      core.adaptiveAvgPool2d(xs(x.cpu), 4),
      'adaptiveAvg',
    );
    await expectMatch(
      core.adaptiveMaxPool2d(xs(x.gpu), 4),
      core.adaptiveMaxPool2d(xs(x.cpu), 4),
      'adaptiveMax',
    );
  });

  it('leaks no buffers (forward and backward)', async () => {
    const before = gpuMemory().liveBuffers;
    const x = core.tensor(randomValues([1, 2, 6, 5], 80), { shape: [1, 2, 6, 5], backend: 'webgpu' });
    const outs = [
      core.avgPool2d(x, { kernelSize: 2 }),
      core.maxPool2d(x, { kernelSize: 3, padding: 1 }),
      core.adaptiveAvgPool2d(x, 3),
      core.adaptiveMaxPool2d(x, [2, 4]),
    ];
    await Promise.all(outs.map((t) => t.data()));
    const { value, grads } = core.valueAndGrad((a) =>
      core.sum(core.add(core.maxPool2d(a, { kernelSize: 2 }), core.avgPool2d(a, { kernelSize: 2 }))),
    )(x);
    await grads[0].data();
    for (const t of [...outs, value, ...grads, x]) t.dispose();
    expect(gpuMemory().liveBuffers).toBe(before);
  });
});
