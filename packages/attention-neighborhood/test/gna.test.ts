import { describe, expect, it } from 'vitest';
import { gnaAnalysis } from '../src/index.js';
import { bruteMask, coordsOf, type Win } from './reference.js';

/**
 * Brute force over every (query, key) pair of the brute-force mask: tile ids are strings, per axis
 * `group:floor(groupIndex / tile)` (multi-dim, token-permuted) or `floor(flat / prod(tile))` (flatten).
 */
function brute(
  tokens: number[],
  win: Win,
  qTile: number[],
  kvTile: number[],
  tiling: 'multi-dim' | 'flatten',
) {
  const mask = bruteMask(tokens, win);
  const n = mask.length;
  const tileId = (x: number, t: number[]) =>
    tiling === 'flatten'
      ? String(Math.floor(x / t.reduce((a, b) => a * b, 1)))
      : coordsOf(tokens, x)
          .map((c, a) => `${c % win.dilation[a]}:${Math.floor(Math.floor(c / win.dilation[a]) / t[a])}`)
          .join('/');
  const qIds = Array.from({ length: n }, (_, i) => tileId(i, qTile));
  const kIds = Array.from({ length: n }, (_, i) => tileId(i, kvTile));
  const total = new Map<string, number>();
  const hit = new Map<string, number>();
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const key = `${qIds[i]}|${kIds[j]}`;
      total.set(key, (total.get(key) ?? 0) + 1);
      if (mask[i][j]) {
        hit.set(key, (hit.get(key) ?? 0) + 1);
        pairs++;
      }
    }
  }
  let dense = 0;
  for (const [key, c] of hit) if (c === total.get(key)) dense++;
  return {
    pairs,
    qTiles: new Set(qIds).size,
    kvTiles: new Set(kIds).size,
    visited: hit.size,
    masked: hit.size - dense,
  };
}

describe('gnaAnalysis', () => {
  it("reproduces NATTEN's documented perfectly block-sparse 3-D case and its FLOP bound", () => {
    const r = gnaAnalysis({
      tokens: [30, 48, 80],
      kernelSize: [18, 24, 24],
      stride: [16, 8, 8],
      qTile: [2, 8, 8],
      kvTile: [2, 8, 8],
    });
    expect(r.perfectlyBlockSparse).toBe(true);
    expect(r.maskedTiles).toBe(0);
    expect(r.flopSpeedup).toBeCloseTo((30 * 48 * 80) / (18 * 24 * 24), 10); // 11.1x (docs/profiler.md)
    expect(r.tileSpeedup).toBeCloseTo(r.flopSpeedup, 10); // nothing wasted when perfectly block-sparse
  });

  it('gives the FLOP bounds of the profiler table: 1-D 32K w2048 16x, 2-D 256^2 w80 10.24x', () => {
    expect(gnaAnalysis({ tokens: [32768], kernelSize: 2048, qTile: 128, kvTile: 128 }).flopSpeedup).toBe(16);
    const r = gnaAnalysis({ tokens: [256, 256], kernelSize: 80, qTile: [16, 16], kvTile: [16, 16] });
    expect(r.flopSpeedup).toBeCloseTo(10.24, 10);
    expect(r.perfectlyBlockSparse).toBe(false); // sliding windows cut through tiles
  });

  it('matches a brute-force count over every pair, both tilings, on random small problems', () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 60; trial++) {
      const rank = 1 + (trial % 3);
      const tokens = Array.from({ length: rank }, () => 2 + rand(rank === 1 ? 14 : 5));
      const kernelSize = tokens.map((n) => 2 + rand(n - 1));
      const dilation = tokens.map((n, a) => 1 + rand(Math.floor(n / kernelSize[a])));
      const stride = kernelSize.map((k) => 1 + rand(k));
      const causal = tokens.map(() => rand(3) === 0);
      const qTile = tokens.map(() => 1 + rand(4));
      const kvTile = tokens.map(() => 1 + rand(4));
      for (const tiling of ['multi-dim', 'flatten'] as const) {
        const r = gnaAnalysis({
          tokens,
          kernelSize,
          dilation,
          stride,
          isCausal: causal,
          qTile,
          kvTile,
          tiling,
        });
        const b = brute(tokens, { kernelSize, dilation, stride, causal }, qTile, kvTile, tiling);
        expect([r.attendedPairs, r.qTiles, r.kvTiles, r.visitedTiles, r.maskedTiles]).toEqual([
          b.pairs,
          b.qTiles,
          b.kvTiles,
          b.visited,
          b.masked,
        ]);
      }
    }
  });

  it('shows the cost of flattening a 2-D layout into 1-D tiles', () => {
    const p = { tokens: [32, 32], kernelSize: 8, stride: 8, qTile: [8, 8], kvTile: [8, 8] };
    const multi = gnaAnalysis(p);
    const flat = gnaAnalysis({ ...p, tiling: 'flatten' });
    expect(multi.perfectlyBlockSparse).toBe(true);
    expect(flat.tileSpeedup).toBeLessThan(multi.tileSpeedup);
  });

  it('rejects bad problems with clear errors', () => {
    expect(() => gnaAnalysis({ tokens: [8], kernelSize: 9, qTile: 2, kvTile: 2 })).toThrow(
      /gnaAnalysis: kernelSize \* dilation must be at most the token axis size 8/,
    );
    expect(() => gnaAnalysis({ tokens: [8], kernelSize: 3, qTile: 0, kvTile: 2 })).toThrow(
      /gnaAnalysis: qTile must be/,
    );
    expect(() => gnaAnalysis({ tokens: [], kernelSize: 3, qTile: 1, kvTile: 1 })).toThrow(
      /gnaAnalysis: tokens must be/,
    );
    expect(() =>
      gnaAnalysis({ tokens: [8], kernelSize: 3, qTile: 1, kvTile: 1, tiling: 'diagonal' as 'flatten' }),
    ).toThrow(/gnaAnalysis: tiling must be/);
  });
});
