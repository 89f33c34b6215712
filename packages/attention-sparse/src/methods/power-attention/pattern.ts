// PowerAttention (arXiv 2503.03588): query block i reads key blocks at power-of-two distances, so that d
// stacked layers reach every earlier block within 2^d (binary expansion of the distance). No official code
// exists; the exact rule below is our decision from the spec's GUESS (see the README).
import { ValueError } from '@attnkit/core';
import { type BlockPattern, patternFromLists } from '../pattern.js';

/** Options of {@link powerAttentionPattern}. */
export interface PowerAttentionOptions {
  /** Tokens per block (queries and keys). */
  blockSize: number;
  /** Blocks of the local window, the own block included (default 1: only the own block). */
  localBlocks?: number;
  /** The first `sinkBlocks` blocks are read by every query block (attention sinks; default 0). */
  sinkBlocks?: number;
}

const OP = 'powerAttentionPattern';

/**
 * Whether query block `i` reads key block `j`: `j <= i` and (`i - j < localBlocks`, or `i - j` is a power of
 * two, or `j < sinkBlocks`). With the defaults a block reads itself and the blocks 1, 2, 4, 8, ... before
 * it: `floor(log2 i) + 2` blocks for `i >= 1`.
 */
export function powerBlockAllowed(i: number, j: number, localBlocks = 1, sinkBlocks = 0): boolean {
  if (j > i) return false;
  const d = i - j;
  return d < localBlocks || (d & (d - 1)) === 0 || j < sinkBlocks;
}

/**
 * The PowerAttention pattern of a causal sequence of `n` tokens (queries and keys), shared by every batch
 * item and head; causality inside the own block is applied per element.
 */
export function powerAttentionPattern(n: number, opts: PowerAttentionOptions): BlockPattern {
  const check = (arg: string, v: unknown, min: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
      throw new ValueError(OP, arg, `an integer >= ${min}`, String(v));
    }
  };
  check('n', n, 1);
  check('blockSize', opts.blockSize, 1);
  const local = opts.localBlocks ?? 1;
  const sink = opts.sinkBlocks ?? 0;
  check('localBlocks', local, 1);
  check('sinkBlocks', sink, 0);
  const nB = Math.ceil(n / opts.blockSize);
  return patternFromLists(
    OP,
    { nq: n, nk: n, blockQ: opts.blockSize, blockK: opts.blockSize, batch: 1, heads: 1, causal: true },
    (_b, _h, i) => {
      const out: number[] = [];
      for (let j = 0; j < nB; j++) if (powerBlockAllowed(i, j, local, sink)) out.push(j);
      return out;
    },
  );
}
