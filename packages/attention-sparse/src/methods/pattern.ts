// The host-side form of a block-sparse pattern, shared by every method: plain typed arrays built on the CPU
// from the method's rule (and, for content-based methods, from the input values), turned into the engine's
// layout tensors only when attention runs. Tests compare it with dense masks built independently.
import { ValueError } from '@attnkit/core';

/**
 * An element mask inside the listed blocks: `data` laid out `shape = [batch, heads, nq, nk]` where each axis
 * is 1 (broadcast) or the full size; 1 = may attend.
 */
export interface ElementMask {
  /** `[batch or 1, heads or 1, nq or 1, nk]`. */
  readonly shape: readonly [number, number, number, number];
  /** 0/1 per element, row-major over `shape`. */
  readonly data: Uint8Array;
}

/**
 * A block-sparse attention pattern on the host: for each (batch, head, query block) the key blocks it reads,
 * ascending, padded with -1. `batch`/`heads` are 1 when the pattern is shared by every batch item / head.
 */
export interface BlockPattern {
  /** Query tokens. */
  readonly nq: number;
  /** Key tokens. */
  readonly nk: number;
  /** Query tokens per query block (the last block may be partial). */
  readonly blockQ: number;
  /** Key tokens per key block (the last block may be partial). */
  readonly blockK: number;
  /** 1 (shared) or the batch size. */
  readonly batch: number;
  /** 1 (shared) or the number of query heads. */
  readonly heads: number;
  /** Width of each list (the longest list; at least 1). */
  readonly maxBlocks: number;
  /** `[batch, heads, ceil(nq / blockQ), maxBlocks]` key-block indices, ascending, -1 padded. */
  readonly kvBlocks: Int32Array;
  /** Element-level causality: key `j` only for query `i` with `j <= i + (nk - nq)`. */
  readonly causal: boolean;
  /** Optional element mask applied inside the listed blocks. */
  readonly mask?: ElementMask;
}

/** Number of query blocks of `p`. */
export const queryBlocks = (p: Pick<BlockPattern, 'nq' | 'blockQ'>): number => Math.ceil(p.nq / p.blockQ);

/** Number of key blocks of `p`. */
export const keyBlocks = (p: Pick<BlockPattern, 'nk' | 'blockK'>): number => Math.ceil(p.nk / p.blockK);

/** What {@link patternFromLists} needs besides the lists. */
export interface PatternShape {
  /** Query tokens. */
  nq: number;
  /** Key tokens. */
  nk: number;
  /** Query tokens per block. */
  blockQ: number;
  /** Key tokens per block. */
  blockK: number;
  /** 1 (shared) or the batch size. */
  batch: number;
  /** 1 (shared) or the number of heads. */
  heads: number;
  /** Element-level causality (see {@link BlockPattern.causal}). */
  causal: boolean;
  /** Optional element mask. */
  mask?: ElementMask;
}

/**
 * Builds a {@link BlockPattern} from a function listing the key blocks of each (batch, head, query block);
 * duplicates are dropped, lists are sorted, and out-of-range indices are an error (they would be a bug of
 * the method's rule).
 */
export function patternFromLists(
  op: string,
  s: PatternShape,
  list: (b: number, h: number, qb: number) => Iterable<number>,
): BlockPattern {
  const nQB = Math.ceil(s.nq / s.blockQ);
  const nKB = Math.ceil(s.nk / s.blockK);
  const lists: number[][] = [];
  let maxBlocks = 1;
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      for (let qb = 0; qb < nQB; qb++) {
        const set = [...new Set(list(b, h, qb))].sort((x, y) => x - y);
        for (const kb of set) {
          if (!(Number.isInteger(kb) && kb >= 0 && kb < nKB)) {
            throw new ValueError(op, 'key block', `an integer in [0, ${nKB})`, String(kb));
          }
        }
        lists.push(set);
        maxBlocks = Math.max(maxBlocks, set.length);
      }
    }
  }
  const kvBlocks = new Int32Array(lists.length * maxBlocks).fill(-1);
  lists.forEach((l, r) => kvBlocks.set(l, r * maxBlocks));
  return { ...s, maxBlocks, kvBlocks };
}

/** A pattern from a 0/1 block mask laid out `[batch, heads, nQB, nKB]` (see {@link patternFromLists}). */
export function patternFromBlockMask(op: string, s: PatternShape, blockMask: Uint8Array): BlockPattern {
  const nQB = Math.ceil(s.nq / s.blockQ);
  const nKB = Math.ceil(s.nk / s.blockK);
  return patternFromLists(op, s, (b, h, qb) => {
    const row = ((b * s.heads + h) * nQB + qb) * nKB;
    const out: number[] = [];
    for (let kb = 0; kb < nKB; kb++) if (blockMask[row + kb]) out.push(kb);
    return out;
  });
}

/** The key blocks listed for (b, h, qb), with broadcast over shared batch/head axes. */
export function listedBlocks(p: BlockPattern, b: number, h: number, qb: number): number[] {
  const row =
    (((p.batch === 1 ? 0 : b) * p.heads + (p.heads === 1 ? 0 : h)) * queryBlocks(p) + qb) * p.maxBlocks;
  const out: number[] = [];
  for (let m = 0; m < p.maxBlocks && p.kvBlocks[row + m] >= 0; m++) out.push(p.kvBlocks[row + m]);
  return out;
}

/** Whether the element mask of `p` (if any) allows (b, h, i, j). */
function maskAllows(m: ElementMask | undefined, b: number, h: number, i: number, j: number): boolean {
  if (!m) return true;
  const [mb, mh, mq, mk] = m.shape;
  const idx = (((mb === 1 ? 0 : b) * mh + (mh === 1 ? 0 : h)) * mq + (mq === 1 ? 0 : i)) * mk + j;
  return m.data[idx] === 1;
}

/**
 * The dense 0/1 mask `[nq, nk]` that `p` means for batch item `b` and head `h`: listed blocks, element mask
 * and causality together. For tests (against independent constructions) and for pictures.
 */
export function denseMaskOf(p: BlockPattern, b = 0, h = 0): Uint8Array {
  const out = new Uint8Array(p.nq * p.nk);
  const shift = p.nk - p.nq;
  for (let qb = 0; qb < queryBlocks(p); qb++) {
    const blocks = listedBlocks(p, b, h, qb);
    for (let i = qb * p.blockQ; i < Math.min(p.nq, (qb + 1) * p.blockQ); i++) {
      for (const kb of blocks) {
        for (let j = kb * p.blockK; j < Math.min(p.nk, (kb + 1) * p.blockK); j++) {
          if (p.causal && j > i + shift) continue;
          if (maskAllows(p.mask, b, h, i, j)) out[i * p.nk + j] = 1;
        }
      }
    }
  }
  return out;
}

/** The 0/1 block mask `[nQB, nKB]` of (b, h): which block pairs are computed. */
export function blockMaskOf(p: BlockPattern, b = 0, h = 0): Uint8Array {
  const nKB = keyBlocks(p);
  const out = new Uint8Array(queryBlocks(p) * nKB);
  for (let qb = 0; qb < queryBlocks(p); qb++)
    for (const kb of listedBlocks(p, b, h, qb)) out[qb * nKB + kb] = 1;
  return out;
}

/**
 * Fraction of block pairs computed, averaged over the pattern's batch items and heads: the engine's work
 * relative to dense attention (the FLOP-bound speedup over dense is its inverse).
 */
export function blockDensity(p: BlockPattern): number {
  let listed = 0;
  for (let i = 0; i < p.kvBlocks.length; i++) if (p.kvBlocks[i] >= 0) listed++;
  return listed / (p.batch * p.heads * queryBlocks(p) * keyBlocks(p));
}

/**
 * A text picture of the block mask of (b, h): one character per block pair, `#` computed, `.` skipped,
 * query blocks down, key blocks across. `maxSide` subsamples larger masks (a cell shows `#` if any pair in
 * it is computed).
 */
export function patternPicture(
  p: BlockPattern,
  opts: { b?: number; h?: number; maxSide?: number } = {},
): string {
  const bm = blockMaskOf(p, opts.b ?? 0, opts.h ?? 0);
  const rows = queryBlocks(p);
  const cols = keyBlocks(p);
  const maxSide = opts.maxSide ?? 64;
  const fr = Math.ceil(rows / maxSide);
  const fc = Math.ceil(cols / maxSide);
  const lines: string[] = [];
  for (let r = 0; r < rows; r += fr) {
    let line = '';
    for (let c = 0; c < cols; c += fc) {
      let any = false;
      for (let rr = r; rr < Math.min(rows, r + fr) && !any; rr++) {
        for (let cc = c; cc < Math.min(cols, c + fc) && !any; cc++) any = bm[rr * cols + cc] === 1;
      }
      line += any ? '#' : '.';
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/**
 * A text picture of a 0/1 matrix `[rows, cols]` (row-major), at most `maxSide` characters a side: each cell
 * covers a rectangle of entries and shows `#` when at least half of them are 1, `+` when some are, `.` when
 * none. Used for the README's pattern pictures.
 */
export function maskPicture(mask: ArrayLike<number>, rows: number, cols: number, maxSide = 32): string {
  const fr = Math.ceil(rows / maxSide);
  const fc = Math.ceil(cols / maxSide);
  const lines: string[] = [];
  for (let r = 0; r < rows; r += fr) {
    let line = '';
    for (let c = 0; c < cols; c += fc) {
      let on = 0;
      let all = 0;
      for (let rr = r; rr < Math.min(rows, r + fr); rr++) {
        for (let cc = c; cc < Math.min(cols, c + fc); cc++) {
          on += mask[rr * cols + cc] ? 1 : 0;
          all++;
        }
      }
      line += on === 0 ? '.' : 2 * on >= all ? '#' : '+';
    }
    lines.push(line);
  }
  return lines.join('\n');
}
