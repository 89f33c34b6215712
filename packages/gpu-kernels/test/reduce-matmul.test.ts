import type { Tensor } from '@attnkit/core';
import * as core from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { gemmTileFor, LARGE_TILE, MEDIUM_TILE } from '../src/kernels/gemm-tile.js';
import { expectMatch, hasWebGPU, pair } from './helpers.js';

const AXES: [number[], (number | number[] | undefined)[]][] = [
  [[7], [undefined, 0]],
  [
    [3, 5],
    [undefined, 0, 1, -1],
  ],
  [
    [2, 3, 67],
    [undefined, 0, 1, 2, [0, 2], [1, 2]],
  ],
  [
    [4, 1, 130],
    [2, [0, 1]],
  ],
];

describe.skipIf(!hasWebGPU)('reductions on WebGPU match the CPU', () => {
  const REDUCTIONS: Record<string, (x: Tensor, o?: core.ReduceOptions) => Tensor> = {
    sum: core.sum,
    max: core.max,
    min: core.min,
    logsumexp: core.logsumexp,
  };
  for (const [name, f] of Object.entries(REDUCTIONS)) {
    it(name, async () => {
      for (const [s, [shape, axesList]] of AXES.entries()) {
        const x = pair(shape, 50 + s);
        for (const axis of axesList) {
          for (const keepDims of [false, true]) {
            await expectMatch(
              f(x.gpu, { axis, keepDims }),
              f(x.cpu, { axis, keepDims }),
              `${name} ${shape} ${axis} ${keepDims}`,
            );
          }
        }
        if (name !== 'logsumexp') {
          const xi = pair(shape, 60 + s, 'int32', -50, 50);
          await expectMatch(f(xi.gpu, { axis: -1 }), f(xi.cpu, { axis: -1 }), `${name} int32 ${shape}`);
        }
      }
    });
  }

  it('sum of a bool tensor (int32 output) and mean', async () => {
    const b = pair([5, 9], 3, 'bool');
    await expectMatch(core.sum(b.gpu, { axis: 1 }), core.sum(b.cpu, { axis: 1 }), 'sum bool');
    const x = pair([6, 10], 4);
    await expectMatch(core.mean(x.gpu, { axis: 0 }), core.mean(x.cpu, { axis: 0 }), 'mean');
  });

  it('argmax and argmin: first index of the extremum, along any axis or flattened', async () => {
    for (const [s, shape] of [[9], [4, 70], [3, 5, 6]].entries()) {
      const x = pair(shape, 75 + s);
      // Few distinct integers, so ties are common and the first-index rule is exercised.
      const xi = pair(shape, 85 + s, 'int32', -2, 2);
      for (const f of [core.argmax, core.argmin]) {
        await expectMatch(f(x.gpu), f(x.cpu), `${f.name} ${shape} flat`);
        for (let axis = 0; axis < shape.length; axis++) {
          await expectMatch(f(x.gpu, { axis }), f(x.cpu, { axis }), `${f.name} ${shape} ${axis}`);
          await expectMatch(
            f(xi.gpu, { axis, keepDims: true }),
            f(xi.cpu, { axis, keepDims: true }),
            `${f.name} int ${shape} ${axis}`,
          );
        }
      }
    }
    const withNaN = core.tensor([1, Number.NaN, 5, Number.NaN], { backend: 'webgpu' });
    await expectMatch(
      core.argmax(withNaN),
      core.argmax(core.tensor([1, Number.NaN, 5, Number.NaN], { backend: 'cpu' })),
      'NaN',
    );
  });

  it('softmax and logSoftmax on every axis', async () => {
    for (const [s, shape] of [[5], [3, 70], [2, 5, 3], [1, 129]].entries()) {
      const x = pair(shape, 70 + s, 'float32', -6, 6);
      for (let axis = -shape.length; axis < shape.length; axis++) {
        await expectMatch(core.softmax(x.gpu, axis), core.softmax(x.cpu, axis), `softmax ${shape} ${axis}`);
        await expectMatch(
          core.logSoftmax(x.gpu, axis),
          core.logSoftmax(x.cpu, axis),
          `logSoftmax ${shape} ${axis}`,
        );
      }
    }
  });
});

describe.skipIf(!hasWebGPU)('matmul on WebGPU matches the CPU', () => {
  it('2-D shapes that are not multiples of the 32 x 32 x 16 tiles', async () => {
    for (const [s, [m, k, n]] of [
      [1, 1, 1],
      [3, 5, 7],
      [32, 16, 32],
      [33, 17, 65],
      [70, 40, 9],
    ].entries()) {
      const a = pair([m, k], 80 + s);
      const b = pair([k, n], 90 + s);
      await expectMatch(core.matmul(a.gpu, b.gpu), core.matmul(a.cpu, b.cpu), `matmul ${m}x${k}x${n}`);
    }
  });

  it('transposed views (transA / transB) without copies, and vectors', async () => {
    const a = pair([19, 33], 1); // used as A^T: [33, 19]
    const b = pair([21, 19], 2); // used as B^T: [19, 21]
    const c = pair([19, 21], 3);
    const T = core.transpose;
    await expectMatch(core.matmul(T(a.gpu), c.gpu), core.matmul(T(a.cpu), c.cpu), 'transA');
    await expectMatch(core.matmul(a.gpu, T(a.gpu)), core.matmul(a.cpu, T(a.cpu)), 'transB (a a^T)');
    await expectMatch(core.matmul(T(a.gpu), T(b.gpu)), core.matmul(T(a.cpu), T(b.cpu)), 'transA transB');
    const v = pair([19], 4);
    await expectMatch(core.matmul(T(a.gpu), v.gpu), core.matmul(T(a.cpu), v.cpu), 'matrix @ vector');
    await expectMatch(core.matmul(v.gpu, c.gpu), core.matmul(v.cpu, c.cpu), 'vector @ matrix');
  });

  it('the medium (64 x 64) and large (128 x 128) tiles, picked for big problems, on ragged edges', async () => {
    const T = core.transpose;
    // [batch, m, k, n]: enough workgroups (>= 256) to pick the medium tile, then the large one.
    for (const [s, [batch, m, k, n]] of [
      [64, 100, 19, 70],
      [43, 250, 13, 260],
    ].entries()) {
      expect(gemmTileFor(m, n, batch, 256)).toBe(s === 0 ? MEDIUM_TILE : LARGE_TILE);
      const a = pair([batch, m, k], 120 + s);
      const b = pair([batch, k, n], 130 + s);
      await expectMatch(core.matmul(a.gpu, b.gpu), core.matmul(a.cpu, b.cpu), `tile ${m}x${k}x${n}`);
      // Transposed storage changes the staging order of both operands.
      const at = pair([batch, k, m], 140 + s);
      const bt = pair([batch, n, k], 150 + s);
      await expectMatch(
        core.matmul(T(at.gpu), T(bt.gpu)),
        core.matmul(T(at.cpu), T(bt.cpu)),
        `tile ${m}x${k}x${n} transA transB`,
      );
      for (const t of [a, b, at, bt]) {
        t.cpu.dispose();
        t.gpu.dispose();
      }
    }
  });

  it('batched, with broadcasting batch axes', async () => {
    const a = pair([2, 3, 9, 13], 5);
    const b = pair([3, 13, 6], 6);
    await expectMatch(core.matmul(a.gpu, b.gpu), core.matmul(a.cpu, b.cpu), 'batch broadcast');
    const c = pair([2, 1, 6, 13], 7);
    await expectMatch(
      core.matmul(a.gpu, core.transpose(c.gpu)),
      core.matmul(a.cpu, core.transpose(c.cpu)),
      'batch broadcast transB',
    );
  });
});
