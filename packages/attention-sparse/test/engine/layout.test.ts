import { tensor } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import {
  denseMaskFromLayout,
  layoutFromBlockLists,
  layoutFromBlockMask,
  layoutFromDenseMask,
  patternStats,
} from '../../src/engine/index.js';

const sizes = { blockQ: 2, blockK: 3 };

describe('layout tools', () => {
  it('layoutFromBlockMask lists the true blocks in ascending order, padded with -1', () => {
    const blockMask = tensor(
      [
        [true, false, true],
        [false, false, false],
        [true, true, true],
      ],
      { backend: 'cpu' },
    );
    const layout = layoutFromBlockMask(blockMask, sizes);
    expect(layout.blockQ).toBe(2);
    expect(layout.blockK).toBe(3);
    expect(layout.kvBlocks.dtype).toBe('int32');
    expect(layout.kvBlocks.shape).toEqual([1, 1, 3, 3]);
    expect([...layout.kvBlocks.dataSync()]).toEqual([0, 2, -1, -1, -1, -1, 0, 1, 2]);
  });

  it('layoutFromBlockMask keeps per-head rows and gives an all-empty mask one padding column', () => {
    const perHead = tensor([[[true, false]], [[false, true]]], { backend: 'cpu' }); // [heads 2, 1, 2]
    expect(layoutFromBlockMask(perHead, sizes).kvBlocks.shape).toEqual([1, 2, 1, 1]);
    expect([...layoutFromBlockMask(perHead, sizes).kvBlocks.dataSync()]).toEqual([0, 1]);
    const none = tensor([[false, false]], { backend: 'cpu' });
    expect([...layoutFromBlockMask(none, sizes).kvBlocks.dataSync()]).toEqual([-1]);
  });

  it('layoutFromBlockLists keeps row order and pads', () => {
    const layout = layoutFromBlockLists([[[[2, 0], [1]]]], sizes);
    expect(layout.kvBlocks.shape).toEqual([1, 1, 2, 2]);
    expect([...layout.kvBlocks.dataSync()]).toEqual([2, 0, 1, -1]);
    expect(() => layoutFromBlockLists([[[[0], [1]], [[0]]]], sizes)).toThrow(
      /layoutFromBlockLists: lists must be 2 query blocks in every head/,
    );
    expect(() => layoutFromBlockLists([[[[0]]]], { blockQ: 0, blockK: 1 })).toThrow(
      /layoutFromBlockLists: blockQ must be a positive integer, got 0/,
    );
  });

  it('denseMaskFromLayout expands blocks to elements (partial border blocks, causal bottom-right)', () => {
    // nq 3 (query blocks of 2: rows {0,1}, {2}), nk 4 (key blocks of 3: keys {0,1,2}, {3}).
    const layout = layoutFromBlockLists([[[[1], [0, 1]]]], sizes);
    const m = denseMaskFromLayout(layout, 3, 4);
    expect(m.shape).toEqual([1, 1, 3, 4]);
    expect([...m.dataSync()]).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
    // Causal with nk - nq = 1: query i sees keys j <= i + 1.
    const c = denseMaskFromLayout(layout, 3, 4, { causal: true });
    expect([...c.dataSync()]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(() => denseMaskFromLayout(layout, 5, 4)).toThrow(/denseMaskFromLayout: nq must be a token count/);
  });

  it('layoutFromDenseMask lists exactly the blocks touching an allowed element, and round-trips blocks', () => {
    const m: boolean[] = [];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 7; j++) m.push(i === j);
    const mask = tensor(m, { shape: [5, 7], dtype: 'bool', backend: 'cpu' });
    const { layout, mask: same } = layoutFromDenseMask(mask, sizes);
    expect(same).toBe(mask);
    // Diagonal of 5x7: rows {0,1} touch key block 0; {2,3} keys 2,3 -> blocks 0,1; {4} key 4 -> block 1.
    expect([...layout.kvBlocks.dataSync()]).toEqual([0, -1, 0, 1, 1, -1]);
    const back = layoutFromDenseMask(denseMaskFromLayout(layout, 5, 7), sizes).layout;
    expect([...back.kvBlocks.dataSync()]).toEqual([...layout.kvBlocks.dataSync()]);
  });

  it('patternStats: density of computed pairs and the FLOP-bound speedup 1/density', () => {
    // 4 query blocks x 4 key blocks of 2, diagonal only: density 1/4, speedup 4.
    const diag = layoutFromBlockLists([[[[0], [1], [2], [3]]]], { blockQ: 2, blockK: 2 });
    expect(patternStats(diag, 8, 8)).toEqual({ density: 0.25, flopBoundSpeedup: 4, blockPairs: 4 });
    // Partial border blocks count their real size: nq 3, nk 4, blocks 2x3; rows {0,1} x keys {3} + row {2} x all.
    const layout = layoutFromBlockLists([[[[1], [0, 1]]]], sizes);
    expect(patternStats(layout, 3, 4).density).toBeCloseTo((2 * 1 + 1 * 4) / 12, 12);
    // Causal drops blocks entirely above the diagonal: block-causal over 4 blocks listing all = 10 of 16 blocks.
    const all = layoutFromBlockLists([[Array.from({ length: 4 }, () => [0, 1, 2, 3])]], {
      blockQ: 2,
      blockK: 2,
    });
    expect(patternStats(all, 8, 8, { causal: true }).blockPairs).toBe(10);
    const empty = layoutFromBlockLists([[[[]]]], sizes);
    expect(patternStats(empty, 2, 3)).toEqual({ density: 0, flopBoundSpeedup: Infinity, blockPairs: 0 });
  });
});
