import { concat, randomNormal, sdpa, slice, type Tensor, tensor } from '@attnkit/core';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { haloAttention, neighborhoodAttention } from '../src/index.js';
import { bruteMask } from './reference.js';

async function close(a: Tensor, b: Tensor, backend: string) {
  const x = Float64Array.from(await a.data());
  const y = Float64Array.from(await b.data());
  expect(x.length).toBe(y.length);
  return compareArrays(x, y, toleranceFor(backend)).bad;
}

// Properties of the op's definition, checked on the CPU oracle (test/webgpu compares the WGSL kernels with it).
describe.each(['cpu'])('%s', (backend) => {
  const rnd = (shape: number[], seed: number) => randomNormal(shape, { seed, backend });

  it.each([
    [[7], [1]],
    [[7], [4]],
    [
      [4, 5],
      [2, 5],
    ],
    [
      [3, 2, 4],
      [1, 2, 3],
    ],
  ])('kernel size = grid %j (any stride %j) equals dense attention', async (tokens, stride) => {
    const q = rnd([2, ...tokens, 2, 4], 1);
    const k = rnd([2, ...tokens, 1, 4], 2);
    const v = rnd([2, ...tokens, 1, 3], 3);
    const na = neighborhoodAttention(q, k, v, { kernelSize: tokens, stride });
    expect(await close(na, sdpa(q, k, v), backend)).toBe(0);
  });

  it.each([1, 3, 9])('1-D causal with k = n equals causal attention (stride %i)', async (s) => {
    const q = rnd([1, 9, 2, 4], 4);
    const k = rnd([1, 9, 2, 4], 5);
    const v = rnd([1, 9, 2, 4], 6);
    const na = neighborhoodAttention(q, k, v, { kernelSize: 9, stride: s, isCausal: true });
    expect(await close(na, sdpa(q, k, v, { causal: true }), backend)).toBe(0);
  });

  it('blocked (stride = k, k divides n) equals block-diagonal attention', async () => {
    const q = rnd([1, 12, 2, 4], 7);
    const k = rnd([1, 12, 2, 4], 8);
    const v = rnd([1, 12, 2, 4], 9);
    const mask = tensor(
      Array.from({ length: 144 }, (_, x) => Math.floor(x / 12 / 4) === Math.floor((x % 12) / 4)),
      { dtype: 'bool', shape: [12, 12], backend },
    );
    const na = neighborhoodAttention(q, k, v, { kernelSize: 4, stride: 4 });
    expect(await close(na, sdpa(q, k, v, { mask }), backend)).toBe(0);
  });

  it('extra keys equal one dense attention over the union of neighbors and extra keys', async () => {
    const tokens = [4, 5];
    const q = rnd([1, ...tokens, 2, 4], 10);
    const k = rnd([1, ...tokens, 1, 4], 11);
    const v = rnd([1, ...tokens, 1, 3], 12);
    const ek = rnd([1, 3, 1, 4], 13);
    const ev = rnd([1, 3, 1, 3], 14);
    const win = { kernelSize: [3, 2], dilation: [1, 2], stride: [1, 1], causal: [true, false] };
    const m = bruteMask(tokens, win);
    const mask = tensor(
      m.flatMap((row) => [...row, true, true, true]),
      { dtype: 'bool', shape: [20, 23], backend },
    );
    const flatK = concat([k.reshape([1, 20, 1, 4]), ek], 1);
    const flatV = concat([v.reshape([1, 20, 1, 3]), ev], 1);
    const dense = sdpa(q.reshape([1, 20, 2, 4]), flatK, flatV, { mask });
    for (const kernel of ['fused', 'unfused'] as const) {
      const na = neighborhoodAttention(q, k, v, {
        kernelSize: win.kernelSize,
        dilation: win.dilation,
        isCausal: win.causal,
        additionalKeys: ek,
        additionalValues: ev,
        kernel,
      });
      expect(await close(na, dense, backend)).toBe(0);
    }
  });

  it('dilated NA equals NA on each dilation sub-grid x[g::d]', async () => {
    const n = 11;
    const d = 3;
    const q = rnd([1, n, 1, 4], 15);
    const k = rnd([1, n, 1, 4], 16);
    const v = rnd([1, n, 1, 4], 17);
    const full = Float64Array.from(
      await neighborhoodAttention(q, k, v, { kernelSize: 3, dilation: d }).data(),
    );
    for (let g = 0; g < d; g++) {
      const idx = Array.from({ length: Math.ceil((n - g) / d) }, (_, i) => g + i * d);
      const pick = (x: Tensor) =>
        concat(
          idx.map((i) => slice(x, [null, [i, i + 1]])),
          1,
        );
      const sub = Float64Array.from(
        await neighborhoodAttention(pick(q), pick(k), pick(v), { kernelSize: 3 }).data(),
      );
      const expected = Float64Array.from(idx.flatMap((i) => [...full.slice(i * 4, i * 4 + 4)]));
      expect(compareArrays(sub, expected, toleranceFor(backend)).bad).toBe(0);
    }
  });

  describe('HaloNet', () => {
    it('equals GNA with k = b + 2h, s = b on interior blocks', async () => {
      const b = 2;
      const h = 1;
      const tokens = [8, 6];
      const q = rnd([1, ...tokens, 2, 4], 18);
      const k = rnd([1, ...tokens, 2, 4], 19);
      const v = rnd([1, ...tokens, 2, 4], 20);
      const halo = Float64Array.from(await haloAttention(q, k, v, { blockSize: b, haloSize: h }).data());
      const gna = Float64Array.from(
        await neighborhoodAttention(q, k, v, { kernelSize: b + 2 * h, stride: b }).data(),
      );
      const interior = (c: number, n: number) =>
        Math.floor(c / b) * b - h >= 0 && Math.floor(c / b) * b + b + h <= n;
      let rows = 0;
      let borderDiffers = false;
      for (let y = 0; y < tokens[0]; y++) {
        for (let x = 0; x < tokens[1]; x++) {
          const off = (y * tokens[1] + x) * 8;
          const a = halo.slice(off, off + 8);
          const e = gna.slice(off, off + 8);
          if (interior(y, tokens[0]) && interior(x, tokens[1])) {
            expect(compareArrays(a, e, toleranceFor(backend)).bad).toBe(0);
            rows++;
          } else if (compareArrays(a, e, toleranceFor(backend)).bad > 0) {
            borderDiffers = true;
          }
        }
      }
      expect(rows).toBe(8); // blocks 1..2 of 4 rows x block 1 of 3 columns: 4 x 2 tokens
      expect(borderDiffers).toBe(true); // zero padding versus GNA's inward shift: a deliberate difference
    });

    it('with h = 0 equals non-overlapping window (block-diagonal) attention', async () => {
      const q = rnd([1, 4, 6, 1, 4], 21);
      const k = rnd([1, 4, 6, 1, 4], 22);
      const v = rnd([1, 4, 6, 1, 4], 23);
      const halo = haloAttention(q, k, v, { blockSize: 2, haloSize: 0 });
      const blocked = neighborhoodAttention(q, k, v, { kernelSize: 2, stride: 2 });
      expect(await close(halo, blocked, backend)).toBe(0);
    });

    it('with grouped kv heads equals the same call with every kv head repeated for its group', async () => {
      const q = rnd([1, 6, 4, 4], 27);
      const k = rnd([1, 6, 2, 4], 28);
      const v = rnd([1, 6, 2, 3], 29);
      // Query heads 0, 1 read kv head 0; heads 2, 3 read kv head 1.
      const repeat = (x: Tensor) => {
        const [h0, h1] = [slice(x, [null, null, [0, 1]]), slice(x, [null, null, [1, 2]])];
        return concat([h0, h0, h1, h1], 2);
      };
      const o = { blockSize: 2, haloSize: 1 };
      expect(await close(haloAttention(q, k, v, o), haloAttention(q, repeat(k), repeat(v), o), backend)).toBe(
        0,
      );
    });

    it('with one block over the grid and h = 0 equals global attention', async () => {
      const q = rnd([2, 4, 4, 2, 4], 24);
      const k = rnd([2, 4, 4, 1, 4], 25);
      const v = rnd([2, 4, 4, 1, 4], 26);
      expect(await close(haloAttention(q, k, v, { blockSize: 4, haloSize: 0 }), sdpa(q, k, v), backend)).toBe(
        0,
      );
    });
  });
});
