import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gpuMemory } from '../src/index.js';
import { expectMatch, hasWebGPU, pair, randomValues, rng } from './helpers.js';

// Shapes and axes: odd sizes, lanes inside one block of 512 elements, and lanes of several blocks (1100 and
// 2600: the pass adding block totals), along the last, a middle and the first axis.
const CASES: [number[], number][] = [
  [[1], 0],
  [[7], 0],
  [[3, 5], 1],
  [[3, 5], 0],
  [[2, 13, 3], 1],
  [[513], 0],
  [[2, 1100], 1],
  [[2, 1100], -1],
  [[2600, 3], 0],
];

describe.skipIf(!hasWebGPU)('cumsum and flip on WebGPU match the CPU', () => {
  it('cumsum float32, forward and reverse', async () => {
    for (const [k, [shape, axis]] of CASES.entries()) {
      const { cpu, gpu } = pair(shape, 300 + k, 'float32', -1, 1);
      for (const reverse of [false, true]) {
        await expectMatch(
          core.cumsum(gpu, axis, { reverse }),
          core.cumsum(cpu, axis, { reverse }),
          `cumsum ${shape} axis ${axis} reverse ${reverse}`,
        );
      }
    }
  });

  it('cumsum int32 (exact) and bool', async () => {
    for (const [k, [shape, axis]] of CASES.entries()) {
      const { cpu, gpu } = pair(shape, 400 + k, 'int32', -50, 50);
      for (const reverse of [false, true]) {
        const g = core.cumsum(gpu, axis, { reverse });
        const c = core.cumsum(cpu, axis, { reverse });
        expect(g.dtype).toBe('int32');
        expect(Array.from(await g.data()), `int32 ${shape} ${axis} ${reverse}`).toEqual(
          Array.from(await c.data()),
        );
      }
    }
    const b = pair([4, 9], 7, 'bool');
    await expectMatch(core.cumsum(b.gpu, 1), core.cumsum(b.cpu, 1), 'bool cumsum');
  });

  it('cumprod float32 (values near 1) and int32, and its gradient with zeros in x', async () => {
    for (const [k, [shape, axis]] of CASES.entries()) {
      const { cpu, gpu } = pair(shape, 450 + k, 'float32', 0.995, 1.005);
      await expectMatch(core.cumprod(gpu, axis), core.cumprod(cpu, axis), `cumprod ${shape} axis ${axis}`);
    }
    const i = pair([3, 9], 470, 'int32', -2, 3);
    await expectMatch(core.cumprod(i.gpu, 1), core.cumprod(i.cpu, 1), 'int32 cumprod');
    // Zeros in x: the gradient must stay finite and exact (no division).
    const v = randomValues([4, 7], 471, 'float32', 0.5, 1.5);
    for (const z of [2, 9, 20, 27]) v[z] = 0;
    const x = {
      cpu: core.tensor(v, { shape: [4, 7], backend: 'cpu' }),
      gpu: core.tensor(v, { shape: [4, 7], backend: 'webgpu' }),
    };
    const w = pair([4, 7], 472);
    for (const axis of [0, 1]) {
      const f = (ww: Tensor) => (t: Tensor) => core.sum(core.mul(core.cumprod(t, axis), ww));
      const g = core.valueAndGrad(f(w.gpu))(x.gpu);
      const c = core.valueAndGrad(f(w.cpu))(x.cpu);
      await expectMatch(g.value, c.value, `cumprod value axis ${axis}`);
      await expectMatch(g.grads[0], c.grads[0], `cumprodGrad axis ${axis}`);
    }
  });

  it('cumsum over a lane of several levels of blocks (> 512 * 512 elements)', async () => {
    const { cpu, gpu } = pair([270000], 9, 'int32', 0, 3);
    expect(Array.from(await core.cumsum(gpu, 0).data())).toEqual(
      Array.from(await core.cumsum(cpu, 0).data()),
    );
    expect(Array.from(await core.cumsum(gpu, 0, { reverse: true }).data())).toEqual(
      Array.from(await core.cumsum(cpu, 0, { reverse: true }).data()),
    );
  });

  it('cumsum of a view with an offset and of a transposed view', async () => {
    const { cpu, gpu } = pair([6, 7], 11);
    const sl = (t: Tensor) => core.slice(t, [[2, 6], null]);
    await expectMatch(core.cumsum(sl(gpu), 1), core.cumsum(sl(cpu), 1), 'sliced');
    await expectMatch(core.cumsum(core.transpose(gpu), 1), core.cumsum(core.transpose(cpu), 1), 'transposed');
  });

  it('flip on one, several and no axes, every dtype', async () => {
    const x = pair([3, 4, 5], 12);
    for (const axes of [[0], [2], [-1, 0], [0, 1, 2], []]) {
      await expectMatch(core.flip(x.gpu, axes), core.flip(x.cpu, axes), `flip ${axes}`);
    }
    const i = pair([5, 1, 3], 13, 'int32', -9, 9);
    await expectMatch(core.flip(i.gpu, [0, 1]), core.flip(i.cpu, [0, 1]), 'int32 flip');
    const b = pair([7], 14, 'bool');
    await expectMatch(core.flip(b.gpu, 0), core.flip(b.cpu, 0), 'bool flip');
    await expectMatch(core.flip(core.transpose(x.gpu), 1), core.flip(core.transpose(x.cpu), 1), 'flip view');
  });

  it('gradients of cumsum and flip through valueAndGrad match the CPU', async () => {
    const { cpu, gpu } = pair([3, 600], 15, 'float32', -1, 1);
    const w = pair([3, 600], 16, 'float32', -1, 1);
    for (const reverse of [false, true]) {
      const f = (ww: Tensor) => (v: Tensor) =>
        core.sum(core.mul(core.flip(core.cumsum(v, 1, { reverse }), 0), ww));
      const g = core.valueAndGrad(f(w.gpu))(gpu);
      const c = core.valueAndGrad(f(w.cpu))(cpu);
      await expectMatch(g.value, c.value, `value reverse ${reverse}`);
      await expectMatch(g.grads[0], c.grads[0], `grad reverse ${reverse}`);
    }
  });

  it('does not leak buffers', async () => {
    const { gpu } = pair([2, 1500], 17);
    await core.cumsum(gpu, 1).data(); // warm up: pipelines and pool entries
    const before = gpuMemory();
    for (let r = 0; r < 3; r++) {
      const y = core.cumsum(gpu, 1, { reverse: r === 1 });
      const z = core.flip(y, 0);
      await z.data();
      y.dispose();
      z.dispose();
    }
    const after = gpuMemory();
    expect(after.liveBuffers).toBe(before.liveBuffers);
  });
});

/** Float values with ties (a few distinct values), NaN and infinities mixed in, as a CPU/WebGPU pair. */
function tricky(shape: number[], seed: number) {
  const v = randomValues(shape, seed, 'float32', 0, 1);
  const pool = [0, 1, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0];
  const r = rng(seed + 1);
  for (let i = 0; i < v.length; i++) v[i] = r() < 0.5 ? pool[Math.floor(r() * pool.length)] : v[i];
  return {
    cpu: core.tensor(v, { shape, backend: 'cpu' }),
    gpu: core.tensor(v, { shape, backend: 'webgpu' }),
  };
}

const SORT_CASES: [number[], number][] = [
  [[1], 0],
  [[7], 0],
  [[3, 5], 1],
  [[3, 5], 0],
  [[2, 9, 3], 1],
  [[2, 70], -1],
];

describe.skipIf(!hasWebGPU)(
  'argsort and topk on WebGPU match the CPU (NaN largest, ties lower index first)',
  () => {
    it('argsort ascending and descending, float32 with ties and NaN, int32', async () => {
      for (const [k, [shape, axis]] of SORT_CASES.entries()) {
        const f = tricky(shape, 1400 + k);
        const i = pair(shape, 1420 + k, 'int32', -4, 4);
        for (const descending of [false, true]) {
          for (const [what, x] of [
            ['float32', f],
            ['int32', i],
          ] as const) {
            await expectMatch(
              core.argsort(x.gpu, { axis, descending }),
              core.argsort(x.cpu, { axis, descending }),
              `argsort ${what} ${shape} ${axis} ${descending}`,
            );
          }
        }
      }
    });

    it('topk largest and smallest, sorted and not, values and indices', async () => {
      for (const [c, [shape, axis]] of SORT_CASES.entries()) {
        const x = tricky(shape, 1500 + c);
        const n = shape[axis < 0 ? axis + shape.length : axis];
        for (const k of [1, Math.ceil(n / 2), n]) {
          for (const largest of [true, false]) {
            for (const sorted of [true, false]) {
              const g = core.topk(x.gpu, k, { axis, largest, sorted });
              const cc = core.topk(x.cpu, k, { axis, largest, sorted });
              const what = `topk ${shape} ${axis} k=${k} ${largest} ${sorted}`;
              await expectMatch(g.indices, cc.indices, `${what} indices`);
              await expectMatch(g.values, cc.values, `${what} values`);
            }
          }
        }
      }
    });

    it('sort values are differentiable on WebGPU as on the CPU', async () => {
      const x = pair([3, 11], 1600);
      const w = pair([3, 4], 1601);
      const f = (ww: Tensor) => (v: Tensor) => core.sum(core.mul(core.topk(v, 4).values, ww));
      const g = core.valueAndGrad(f(w.gpu))(x.gpu);
      const c = core.valueAndGrad(f(w.cpu))(x.cpu);
      await expectMatch(g.grads[0], c.grads[0], 'topk grad');
    });

    it('does not leak buffers', async () => {
      const x = pair([4, 13], 1700);
      const run = async () => {
        const a = core.argsort(x.gpu);
        const b = core.topk(x.gpu, 5, { sorted: false });
        await a.data();
        await b.indices.data();
        for (const t of [a, b.indices, b.values]) t.dispose();
      };
      await run();
      const before = gpuMemory();
      for (let k = 0; k < 3; k++) await run();
      expect(gpuMemory().liveBuffers).toBe(before.liveBuffers);
    });
  },
);
