import { describe, expect, it } from 'vitest';
import {
  checkAttentionShape,
  formatWorkload,
  gatherQueryRows,
  landmarkQueries,
  sampleQueryRows,
  tokenCoords,
  tokenCount,
  tokenIndex,
} from '../../src/index.js';

describe('attention workloads', () => {
  it('converts between flat token indices and grid coordinates (row-major)', () => {
    const grid = [3, 4, 5];
    expect(tokenCount({ tokens: grid })).toBe(60);
    expect(tokenCoords(grid, 0)).toEqual([0, 0, 0]);
    expect(tokenCoords(grid, 59)).toEqual([2, 3, 4]);
    // 1*20 + 2*5 + 3 = 33
    expect(tokenCoords(grid, 33)).toEqual([1, 2, 3]);
    for (let i = 0; i < 60; i++) expect(tokenIndex(grid, tokenCoords(grid, i))).toBe(i);
  });

  it('names a corner, an edge and the centre of a grid', () => {
    expect(landmarkQueries([56, 56])).toEqual([
      { label: 'corner', index: 0 },
      { label: 'edge', index: 28 },
      { label: 'centre', index: 28 * 56 + 28 },
    ]);
    expect(landmarkQueries([4096]).map((q) => q.index)).toEqual([0, 1024, 2048]);
    expect(landmarkQueries([4, 6, 8]).map((q) => q.index)).toEqual([
      0,
      (2 * 6 + 0) * 8 + 4,
      (2 * 6 + 3) * 8 + 4,
    ]);
  });

  it('samples distinct sorted query rows, corners and landmarks first, reproducibly', () => {
    const rows = sampleQueryRows([56, 56], 24, 7);
    expect(rows).toHaveLength(24);
    expect(new Set(rows).size).toBe(24);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    for (const must of [0, 55, 55 * 56, 56 * 56 - 1, 28, 28 * 56 + 28]) expect(rows).toContain(must);
    expect(sampleQueryRows([56, 56], 24, 7)).toEqual(rows);
    expect(sampleQueryRows([56, 56], 24, 8)).not.toEqual(rows);
    expect(sampleQueryRows([5], 9)).toEqual([0, 1, 2, 3, 4]);
    expect(sampleQueryRows([100], 2)).toEqual([0, 99]);
    expect(() => sampleQueryRows([5], 0)).toThrow(/sampleQueryRows: count must be a positive integer, got 0/);
  });

  it('gathers query rows of a [batch, ...tokens, heads, dim] output', () => {
    // batch 2, tokens [2, 2], heads 1, dim 2: element value = its flat index.
    const values = Float32Array.from({ length: 16 }, (_, i) => i);
    const got = gatherQueryRows(values, [2, 2, 2, 1, 2], [3, 1]);
    expect([...got]).toEqual([6, 7, 2, 3, 14, 15, 10, 11]);
    expect(() => gatherQueryRows(values, [2, 2, 2, 1, 2], [4])).toThrow(
      /gatherQueryRows: rows\[0\] must be a token index in \[0, 4\), got 4/,
    );
    expect(() => gatherQueryRows(values, [16], [0])).toThrow(/gatherQueryRows: shape must be/);
  });

  it('formats workloads and rejects bad sizes', () => {
    expect(
      formatWorkload({ batch: 1, tokens: [56, 56], heads: 4, headDim: 32, params: { kernelSize: [7, 7] } }),
    ).toBe('B1 56x56 H4 d32 kernelSize=7x7');
    expect(() => checkAttentionShape('op', { batch: 1, tokens: [], heads: 1, headDim: 1 })).toThrow(
      /op: workload.tokens must be one to three positive integer sizes, got \[\]/,
    );
    expect(() => checkAttentionShape('op', { batch: 1, tokens: [2, 2, 2, 2], heads: 1, headDim: 1 })).toThrow(
      /workload.tokens/,
    );
    expect(() => checkAttentionShape('op', { batch: 1, tokens: [4], heads: 0, headDim: 1 })).toThrow(
      /op: workload.heads must be a positive integer, got 0/,
    );
    expect(() => checkAttentionShape('op', { batch: 1.5, tokens: [4], heads: 1, headDim: 1 })).toThrow(
      /workload.batch/,
    );
  });
});
