import { DTypeError, fmtShape, ShapeError, type Tensor, tensor, ValueError } from '@attnkit/core';
import type { BlockLayout } from './block-sparse.js';

// Tools that turn patterns into layouts and back. They run on the host (patterns are built on the CPU), so
// their tensor arguments must be readable synchronously; the layouts they return live on the CPU, and
// `blockSparseAttention` copies them to q's backend.

/** Block sizes of a layout. */
export interface BlockSizes {
  /** Query rows per query block. */
  blockQ: number;
  /** Keys per key block. */
  blockK: number;
}

function checkSizes(op: string, sizes: BlockSizes): void {
  for (const arg of ['blockQ', 'blockK'] as const) {
    const n = sizes?.[arg];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new ValueError(op, arg, 'a positive integer', String(n));
    }
  }
}

/** Reads a host tensor (bool mask) with its shape padded to 4-D; rank 2 to 4. */
function readMask(op: string, arg: string, t: Tensor): { data: ArrayLike<number>; shape: number[] } {
  t.assertAlive(op, arg);
  if (t.dtype !== 'bool') throw new DTypeError(op, arg, 'a bool tensor', t.dtype);
  if (t.rank < 2 || t.rank > 4) {
    throw new ShapeError(
      op,
      arg,
      'a tensor of 2 to 4 axes [[batch,] [heads,] rows, cols]',
      fmtShape(t.shape),
    );
  }
  if (!t.backend.readSync) {
    throw new ValueError(op, arg, 'a tensor on a backend with synchronous reads (cpu)', t.backend.name);
  }
  return { data: t.dataSync(), shape: [...new Array<number>(4 - t.rank).fill(1), ...t.shape] };
}

/**
 * Builds a layout from per-row lists of key blocks: `lists[b][h][qb]` are the key blocks of query block `qb`
 * (outer axes of length 1 are shared by every batch or head). Rows are padded with `-1` to the longest (at
 * least one entry); order is kept. Duplicates or bad indices are reported when the layout is used.
 *
 * @example
 * // One batch, heads shared, 2 query blocks: block 0 sees key block 0, block 1 sees key blocks 0 and 1.
 * const layout = layoutFromBlockLists([[[[0], [0, 1]]]], { blockQ: 16, blockK: 16 });
 */
export function layoutFromBlockLists(
  lists: readonly (readonly (readonly (readonly number[])[])[])[],
  sizes: BlockSizes,
): BlockLayout {
  const op = 'layoutFromBlockLists';
  checkSizes(op, sizes);
  const lb = lists.length;
  const lh = lists[0]?.length ?? 0;
  const nqb = lists[0]?.[0]?.length ?? 0;
  if (lb < 1 || lh < 1 || nqb < 1) {
    throw new ShapeError(
      op,
      'lists',
      'non-empty nested lists [batch][heads][queryBlocks]',
      `${lb}x${lh}x${nqb}`,
    );
  }
  let maxBlocks = 1;
  for (const per of lists) {
    if (per.length !== lh)
      throw new ShapeError(op, 'lists', `${lh} heads in every batch`, String(per.length));
    for (const rows of per) {
      if (rows.length !== nqb) {
        throw new ShapeError(op, 'lists', `${nqb} query blocks in every head`, String(rows.length));
      }
      for (const r of rows) maxBlocks = Math.max(maxBlocks, r.length);
    }
  }
  const data = new Int32Array(lb * lh * nqb * maxBlocks).fill(-1);
  for (let b = 0; b < lb; b++) {
    for (let h = 0; h < lh; h++) {
      for (let qb = 0; qb < nqb; qb++) {
        const r = lists[b][h][qb];
        const base = ((b * lh + h) * nqb + qb) * maxBlocks;
        for (let e = 0; e < r.length; e++) {
          if (!Number.isInteger(r[e]))
            throw new ValueError(op, 'lists', 'integer block indices', String(r[e]));
          data[base + e] = r[e];
        }
      }
    }
  }
  return {
    blockQ: sizes.blockQ,
    blockK: sizes.blockK,
    kvBlocks: tensor(data, { shape: [lb, lh, nqb, maxBlocks], dtype: 'int32', backend: 'cpu' }),
  };
}

/**
 * Builds a layout from a block mask: bool `[[batch,] [heads,] queryBlocks, keyBlocks]` (missing or size-1
 * leading axes are shared), true where a query block attends a key block. Each row lists its key blocks in
 * ascending order, padded with `-1` to the longest row (at least one entry). The layout is on the CPU.
 *
 * @example
 * const blockMask = tensor([[true, false], [true, true]]); // causal over 2 blocks
 * const layout = layoutFromBlockMask(blockMask, { blockQ: 64, blockK: 64 });
 */
export function layoutFromBlockMask(blockMask: Tensor, sizes: BlockSizes): BlockLayout {
  const op = 'layoutFromBlockMask';
  checkSizes(op, sizes);
  const { data, shape } = readMask(op, 'blockMask', blockMask);
  const [lb, lh, nqb, nkb] = shape;
  const lists: number[][][][] = [];
  for (let b = 0; b < lb; b++) {
    const per: number[][][] = [];
    for (let h = 0; h < lh; h++) {
      const rows: number[][] = [];
      for (let qb = 0; qb < nqb; qb++) {
        const row: number[] = [];
        const base = ((b * lh + h) * nqb + qb) * nkb;
        for (let kb = 0; kb < nkb; kb++) if (data[base + kb]) row.push(kb);
        rows.push(row);
      }
      per.push(rows);
    }
    lists.push(per);
  }
  return layoutFromBlockLists(lists, sizes);
}

/** What {@link layoutFromDenseMask} returns. */
export interface DenseMaskLayout {
  /** Every block holding at least one allowed element. */
  layout: BlockLayout;
  /** The element mask itself (the argument, not a copy), to pass as `mask` to `blockSparseAttention`. */
  mask: Tensor;
}

/**
 * The block-sparse form of an element mask (the dense-mask fallback for patterns that are not block-shaped):
 * bool `[[batch,] [heads,] nq, nk]` becomes a layout listing every block that holds at least one allowed
 * element, and the mask itself (returned as is, not copied) to pass as `mask` to `blockSparseAttention`, which
 * then computes exactly the masked dense attention while skipping the empty blocks.
 *
 * @example
 * const { layout, mask: m } = layoutFromDenseMask(mask, { blockQ: 32, blockK: 32 });
 * const { out } = blockSparseAttention(q, k, v, layout, { mask: m });
 */
export function layoutFromDenseMask(mask: Tensor, sizes: BlockSizes): DenseMaskLayout {
  const op = 'layoutFromDenseMask';
  checkSizes(op, sizes);
  const { data, shape } = readMask(op, 'mask', mask);
  const [lb, lh, nq, nk] = shape;
  const { blockQ, blockK } = sizes;
  const nqb = Math.ceil(nq / blockQ);
  const nkb = Math.ceil(nk / blockK);
  const blocks = new Uint8Array(lb * lh * nqb * nkb);
  for (let bh = 0; bh < lb * lh; bh++) {
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        if (data[(bh * nq + i) * nk + j]) {
          blocks[(bh * nqb + Math.floor(i / blockQ)) * nkb + Math.floor(j / blockK)] = 1;
        }
      }
    }
  }
  const blockMask = tensor(blocks, { shape: [lb, lh, nqb, nkb], dtype: 'bool', backend: 'cpu' });
  const layout = layoutFromBlockMask(blockMask, sizes);
  blockMask.dispose();
  return { layout, mask };
}

/** Reads a layout's block lists on the host. */
function readLayout(op: string, layout: BlockLayout): { data: ArrayLike<number>; shape: number[] } {
  checkSizes(op, layout);
  const t = layout.kvBlocks;
  t.assertAlive(op, 'layout.kvBlocks');
  if (t.dtype !== 'int32') throw new DTypeError(op, 'layout.kvBlocks', 'an int32 tensor', t.dtype);
  if (t.rank !== 4) {
    throw new ShapeError(
      op,
      'layout.kvBlocks',
      'a 4-D tensor [batch, heads, queryBlocks, maxBlocks]',
      fmtShape(t.shape),
    );
  }
  if (!t.backend.readSync) {
    throw new ValueError(
      op,
      'layout.kvBlocks',
      'a tensor on a backend with synchronous reads (cpu)',
      t.backend.name,
    );
  }
  return { data: t.dataSync(), shape: [...t.shape] };
}

/** Options of {@link denseMaskFromLayout} and {@link patternStats}. */
export interface PatternOptions {
  /** Apply `blockSparseAttention`'s causal rule (`j <= i + nk - nq`) as well. Default false. */
  causal?: boolean;
}

/**
 * The element mask a layout stands for: bool `[batch or 1, heads or 1, nq, nk]` on the CPU, true where query
 * `i` attends key `j` (its key block is listed for `i`'s query block, and the causal rule holds when asked).
 * For tests and pictures; `nq` must match the layout's number of query blocks.
 */
export function denseMaskFromLayout(
  layout: BlockLayout,
  nq: number,
  nk: number,
  opts: PatternOptions = {},
): Tensor {
  const op = 'denseMaskFromLayout';
  const { data, shape } = readLayout(op, layout);
  const [lb, lh, nqb, maxBlocks] = shape;
  checkTokens(op, nq, nk, layout, nqb);
  const { blockQ, blockK } = layout;
  const nkb = Math.ceil(nk / blockK);
  const out = new Uint8Array(lb * lh * nq * nk);
  for (let bh = 0; bh < lb * lh; bh++) {
    for (let i = 0; i < nq; i++) {
      const row = (bh * nqb + Math.floor(i / blockQ)) * maxBlocks;
      for (let e = 0; e < maxBlocks; e++) {
        const kb = data[row + e];
        if (kb < 0 || kb >= nkb) continue;
        for (let j = kb * blockK; j < Math.min(nk, (kb + 1) * blockK); j++) {
          if (opts.causal && j > i + nk - nq) continue;
          out[(bh * nq + i) * nk + j] = 1;
        }
      }
    }
  }
  return tensor(out, { shape: [lb, lh, nq, nk], dtype: 'bool', backend: 'cpu' });
}

function checkTokens(op: string, nq: number, nk: number, layout: BlockLayout, nqb: number): void {
  for (const [arg, n] of [
    ['nq', nq],
    ['nk', nk],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new ValueError(op, arg, 'a positive integer', String(n));
  }
  if (Math.ceil(nq / layout.blockQ) !== nqb) {
    throw new ShapeError(
      op,
      'nq',
      `a token count giving the layout's ${nqb} query blocks of ${layout.blockQ}`,
      String(nq),
    );
  }
}

/** What {@link patternStats} reports. */
export interface PatternStats {
  /**
   * Fraction of the `nq x nk` (query, key) pairs inside listed blocks, averaged over the layout's batches and
   * heads: the share of dense attention's work that a block-sparse kernel does. Partial border blocks count
   * their real size. Element masks and causality inside a listed block do not lower it (a kernel computes the
   * whole block), unless `causal` is set, which drops blocks lying entirely above the causal diagonal.
   */
  density: number;
  /**
   * The FLOP-bound speedup over dense (non-causal) attention, `1 / density` (the convention of NATTEN's FLOP
   * bound: `N^2 / sum of attended pairs`, counting whole blocks); `Infinity` for an empty pattern.
   */
  flopBoundSpeedup: number;
  /** Listed (query block, key block) pairs summed over the layout's batches and heads. */
  blockPairs: number;
}

/**
 * Density and FLOP-bound speedup of a layout over `nq` queries and `nk` keys (see {@link PatternStats}).
 *
 * @example
 * const { density, flopBoundSpeedup } = patternStats(layout, 1024, 1024);
 */
export function patternStats(
  layout: BlockLayout,
  nq: number,
  nk: number,
  opts: PatternOptions = {},
): PatternStats {
  const op = 'patternStats';
  const { data, shape } = readLayout(op, layout);
  const [lb, lh, nqb, maxBlocks] = shape;
  checkTokens(op, nq, nk, layout, nqb);
  const { blockQ, blockK } = layout;
  const nkb = Math.ceil(nk / blockK);
  let pairs = 0;
  let blockPairs = 0;
  for (let bh = 0; bh < lb * lh; bh++) {
    for (let qb = 0; qb < nqb; qb++) {
      const rows = Math.min(nq, (qb + 1) * blockQ) - qb * blockQ;
      const lastRow = Math.min(nq, (qb + 1) * blockQ) - 1;
      for (let e = 0; e < maxBlocks; e++) {
        const kb = data[(bh * nqb + qb) * maxBlocks + e];
        if (kb < 0 || kb >= nkb) continue;
        // A block whose first key lies after the last row's causal limit is never computed.
        if (opts.causal && kb * blockK > lastRow + nk - nq) continue;
        blockPairs++;
        pairs += rows * (Math.min(nk, (kb + 1) * blockK) - kb * blockK);
      }
    }
  }
  const density = pairs / (lb * lh * nq * nk);
  return { density, flopBoundSpeedup: density > 0 ? 1 / density : Number.POSITIVE_INFINITY, blockPairs };
}
