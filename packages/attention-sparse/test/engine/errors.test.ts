import { tensor, zeros } from '@attnkit/core';
import { describe, expect, it } from 'vitest';
import { blockSparseAttention, layoutFromBlockLists } from '../../src/engine/index.js';

// Bad input gives errors naming the op, the argument, what was expected and what came.

const q = zeros([1, 5, 2, 4], { backend: 'cpu' });
const k = zeros([1, 6, 1, 4], { backend: 'cpu' });
const v = zeros([1, 6, 1, 3], { backend: 'cpu' });
const sizes = { blockQ: 2, blockK: 3 };
const layout = layoutFromBlockLists([[[[0], [1], [0, 1]]]], sizes);
const bad = (rows: number[][]) => layoutFromBlockLists([[rows]], sizes);

describe('blockSparseAttention errors', () => {
  it('checks q, k and v', () => {
    expect(() => blockSparseAttention(zeros([5, 2, 4]), k, v, layout)).toThrow(
      /blockSparseAttention: q must be a 4-D tensor \[batch, tokens, heads, dim\], got \[5, 2, 4\]/,
    );
    expect(() => blockSparseAttention(q, zeros([1, 6, 3, 4]), zeros([1, 6, 3, 3]), layout)).toThrow(
      /blockSparseAttention: k must be a number of heads dividing q's 2, got 3 heads/,
    );
    expect(() => blockSparseAttention(q, k, zeros([1, 5, 1, 3]), layout)).toThrow(
      /blockSparseAttention: v must be/,
    );
    expect(() => blockSparseAttention(q, k, v.cast('int32'), layout)).toThrow(
      /blockSparseAttention: v must be a float32 or float64 tensor, got int32/,
    );
  });

  it('checks the layout', () => {
    expect(() => blockSparseAttention(q, k, v, bad([[0], [1]]))).toThrow(
      /blockSparseAttention: layout.kvBlocks must be \[1 or 1, 1 or 2, 3 \(ceil\(nq \/ blockQ\)\), maxBlocks >= 1\], got \[1, 1, 2, 1\]/,
    );
    expect(() => blockSparseAttention(q, k, v, bad([[0], [2], [0]]))).toThrow(
      /blockSparseAttention: layout.kvBlocks must be key-block indices in \[0, 2\) or -1, got 2 at \[0, 0, 1, 0\]/,
    );
    expect(() => blockSparseAttention(q, k, v, bad([[0, 0], [1], [0]]))).toThrow(
      /blockSparseAttention: layout.kvBlocks must be distinct key blocks in each row, got 0 at \[0, 0, 0, 1\]/,
    );
    expect(() => blockSparseAttention(q, k, v, bad([[-1, 1], [1], [0]]))).toThrow(
      /blockSparseAttention: layout.kvBlocks must be rows with -1 padding only at the end/,
    );
    expect(() => blockSparseAttention(q, k, v, { ...layout, blockQ: 1.5 })).toThrow(
      /blockSparseAttention: layout.blockQ must be a positive integer, got 1.5/,
    );
    expect(() =>
      blockSparseAttention(q, k, v, { ...layout, kvBlocks: layout.kvBlocks.cast('float32') }),
    ).toThrow(/blockSparseAttention: layout.kvBlocks must be an int32 tensor, got float32/);
  });

  it('checks the options', () => {
    expect(() => blockSparseAttention(q, k, v, layout, { mask: tensor([true, false]) })).toThrow(
      /blockSparseAttention: mask must be broadcastable to \[batch, heads, nq, nk\] = \[1, 2, 5, 6\], got \[2\]/,
    );
    expect(() => blockSparseAttention(q, k, v, layout, { mask: zeros([5, 6]) })).toThrow(
      /blockSparseAttention: mask must be a bool tensor, got float32/,
    );
    expect(() => blockSparseAttention(q, k, v, layout, { scale: Number.NaN })).toThrow(
      /blockSparseAttention: scale must be a finite number, got NaN/,
    );
    expect(() => blockSparseAttention(q, k, v, layout, { causal: 1 as unknown as boolean })).toThrow(
      /blockSparseAttention: causal must be a boolean, got 1/,
    );
  });
});
