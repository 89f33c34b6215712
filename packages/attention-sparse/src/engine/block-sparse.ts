import { DTypeError, fmtShape, isFloat, runOp, ShapeError, type Tensor, ValueError } from '@attnkit/core';
import { type BlockSparseAttrs, blockForwardOp } from './defs.js';

const OP = 'blockSparseAttention';

/**
 * A block-sparse attention pattern: which key blocks each query block attends to.
 *
 * `kvBlocks` is an int32 tensor `[batch or 1, heads or 1, ceil(nq / blockQ), maxBlocks]`: row
 * `kvBlocks[b, h, qb, :]` lists the key blocks (block `kb` holds keys `[kb * blockK, (kb + 1) * blockK)`, the last
 * block may be partial) that the queries of block `qb` (`[qb * blockQ, (qb + 1) * blockQ)`) attend to, distinct,
 * in any order, padded with `-1` at the end. Axes of size 1 are shared by every batch or head.
 */
export interface BlockLayout {
  /** Query rows per query block. */
  readonly blockQ: number;
  /** Keys per key block. */
  readonly blockK: number;
  /** The listed key blocks, int32 `[batch or 1, heads or 1, ceil(nq / blockQ), maxBlocks]`, `-1`-padded. */
  readonly kvBlocks: Tensor;
}

/** Options of {@link blockSparseAttention}. */
export interface BlockSparseOptions {
  /** Multiplies `q . k` (default `1 / sqrt(headDim)`). */
  scale?: number;
  /**
   * Element-level causality, aligned bottom-right (as for decoding with a cache): query `i` may attend key `j`
   * only when `j <= i + (nk - nq)`. With `nq == nk` this is the usual `j <= i`. Default false.
   */
  causal?: boolean;
  /**
   * Bool tensor broadcastable to `[batch, heads, nq, nk]` (at most 4 axes, aligned right): inside the listed
   * blocks, only elements where it is true are attended. With a layout that lists every block this is dense
   * masked attention (the fallback for patterns that are not block-shaped; see `layoutFromDenseMask`).
   */
  mask?: Tensor | null;
}

/** What {@link blockSparseAttention} returns. */
export interface BlockSparseResult {
  /** The attention output `[batch, nq, heads, valueDim]`. */
  out: Tensor;
  /**
   * Natural-log sum of `exp(score)` over each query's attended keys, `[batch, nq, heads]`; `-Infinity` for a
   * query that attends no key. Differentiable (for merging partial attentions by LSE).
   */
  lse: Tensor;
}

/**
 * Checks `q` `[batch, nq, heads, dim]`, `k` `[batch, nk, kvHeads, dim]`, `v` `[batch, nk, kvHeads, valueDim]`:
 * live, one float dtype, no empty axis, heads a multiple of kvHeads. Errors name `op` (the engine, or the method
 * that calls it, so a user sees the function they called).
 */
export function checkQkv(op: string, q: Tensor, k: Tensor, v: Tensor): void {
  const named = [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const;
  for (const [arg, t] of named) {
    t.assertAlive(op, arg);
    if (!isFloat(t.dtype)) throw new DTypeError(op, arg, 'a float32 or float64 tensor', t.dtype);
    if (t.dtype !== q.dtype) throw new DTypeError(op, arg, `${q.dtype} like q`, t.dtype);
    if (t.rank !== 4) {
      throw new ShapeError(op, arg, 'a 4-D tensor [batch, tokens, heads, dim]', fmtShape(t.shape));
    }
    if (t.shape.some((n) => n < 1)) throw new ShapeError(op, arg, 'no empty axis', fmtShape(t.shape));
  }
  if (k.shape[0] !== q.shape[0]) {
    throw new ShapeError(op, 'k', `batch ${q.shape[0]} like q ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
  if (v.shape[0] !== k.shape[0] || v.shape[1] !== k.shape[1] || v.shape[2] !== k.shape[2]) {
    throw new ShapeError(
      op,
      'v',
      `[${k.shape[0]}, ${k.shape[1]}, ${k.shape[2]}, valueDim] like k`,
      fmtShape(v.shape),
    );
  }
  if (q.shape[2] % k.shape[2] !== 0) {
    throw new ShapeError(op, 'k', `a number of heads dividing q's ${q.shape[2]}`, `${k.shape[2]} heads`);
  }
  if (k.shape[3] !== q.shape[3]) {
    throw new ShapeError(op, 'k', `headDim ${q.shape[3]} like q ${fmtShape(q.shape)}`, fmtShape(k.shape));
  }
}

/** Checks a block size. */
function checkBlock(arg: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new ValueError(OP, arg, 'a positive integer', String(n));
  }
  return n;
}

/**
 * Checks the layout's shape, and, where its values can be read synchronously (CPU), that every row lists
 * distinct key blocks in `[0, nkb)` followed only by `-1` padding. On a backend without synchronous reads
 * (WebGPU) the values are trusted; kernels skip entries outside `[0, nkb)`.
 */
function checkLayout(
  layout: BlockLayout,
  batch: number,
  heads: number,
  nq: number,
  nk: number,
): [number, number, number, number] {
  if (layout == null || typeof layout !== 'object') {
    throw new ValueError(OP, 'layout', 'an object { blockQ, blockK, kvBlocks }', String(layout));
  }
  const blockQ = checkBlock('layout.blockQ', layout.blockQ);
  const blockK = checkBlock('layout.blockK', layout.blockK);
  const t = layout.kvBlocks;
  if (t == null || (t as { __isTensor?: boolean }).__isTensor !== true) {
    throw new ValueError(OP, 'layout.kvBlocks', 'an int32 tensor', String(t));
  }
  t.assertAlive(OP, 'layout.kvBlocks');
  if (t.dtype !== 'int32') throw new DTypeError(OP, 'layout.kvBlocks', 'an int32 tensor', t.dtype);
  const nqb = Math.ceil(nq / blockQ);
  const nkb = Math.ceil(nk / blockK);
  const s = t.shape;
  if (
    t.rank !== 4 ||
    (s[0] !== 1 && s[0] !== batch) ||
    (s[1] !== 1 && s[1] !== heads) ||
    s[2] !== nqb ||
    s[3] < 1
  ) {
    throw new ShapeError(
      OP,
      'layout.kvBlocks',
      `[1 or ${batch}, 1 or ${heads}, ${nqb} (ceil(nq / blockQ)), maxBlocks >= 1]`,
      fmtShape(s),
    );
  }
  if (t.backend.readSync) {
    const data = t.dataSync();
    const maxBlocks = s[3];
    const seen = new Uint8Array(nkb);
    for (let row = 0; row < data.length / maxBlocks; row++) {
      seen.fill(0);
      let padded = false;
      for (let e = 0; e < maxBlocks; e++) {
        const kb = data[row * maxBlocks + e];
        const where = () => {
          const qb = row % nqb;
          const h = Math.floor(row / nqb) % s[1];
          const b = Math.floor(row / (nqb * s[1]));
          return `${kb} at [${b}, ${h}, ${qb}, ${e}]`;
        };
        if (kb === -1) {
          padded = true;
          continue;
        }
        if (kb < 0 || kb >= nkb) {
          throw new ValueError(OP, 'layout.kvBlocks', `key-block indices in [0, ${nkb}) or -1`, where());
        }
        if (padded)
          throw new ValueError(OP, 'layout.kvBlocks', 'rows with -1 padding only at the end', where());
        if (seen[kb]) throw new ValueError(OP, 'layout.kvBlocks', 'distinct key blocks in each row', where());
        seen[kb] = 1;
      }
    }
  }
  return [s[0], s[1], s[2], s[3]];
}

/** Checks the mask against `[batch, heads, nq, nk]`; returns its shape padded to four axes. */
function maskShape4(mask: Tensor, target: number[]): number[] {
  mask.assertAlive(OP, 'mask');
  if (mask.dtype !== 'bool') throw new DTypeError(OP, 'mask', 'a bool tensor', mask.dtype);
  const padded = [...new Array<number>(Math.max(0, 4 - mask.rank)).fill(1), ...mask.shape];
  if (mask.rank > 4 || padded.some((d, i) => d !== 1 && d !== target[i])) {
    throw new ShapeError(
      OP,
      'mask',
      `broadcastable to [batch, heads, nq, nk] = ${fmtShape(target)}`,
      fmtShape(mask.shape),
    );
  }
  return padded;
}

/**
 * Block-sparse attention: each query attends, with a softmax, only the keys of the key blocks its query block
 * lists in `layout` (and, inside them, what `causal` and `mask` allow). Layout as core's `sdpa`: `q`
 * `[batch, nq, heads, headDim]`, `k` `[batch, nk, kvHeads, headDim]`, `v` `[batch, nk, kvHeads, valueDim]`;
 * grouped-query attention when `kvHeads` divides `heads` (head `h` reads kv head `floor(h / (heads / kvHeads))`).
 *
 * A query with no allowed key gets `out = 0` and `lse = -Infinity`, and no gradient (PyTorch gives NaN).
 * Gradients flow to q, k and v through the `sparse.blockBackward` primitive. The CPU computes in float64 (the
 * oracle); the WebGPU kernels visit only the listed blocks, with an online softmax. A layout or mask on another
 * backend than q is copied to q's backend for the call. The layout's values are checked (distinct key blocks,
 * `-1` padding only at the end) where they can be read synchronously, i.e. on the CPU; a layout built directly
 * on WebGPU is trusted, its entries outside `[0, ceil(nk / blockK))` being skipped.
 *
 * @example
 * const layout = layoutFromBlockMask(blockMask, { blockQ: 64, blockK: 64 });
 * const { out, lse } = blockSparseAttention(q, k, v, layout, { causal: true });
 */
export function blockSparseAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  layout: BlockLayout,
  opts: BlockSparseOptions = {},
): BlockSparseResult {
  checkQkv(OP, q, k, v);
  const [batch, nq, heads, headDim] = q.shape;
  const nk = k.shape[1];
  const layoutShape = checkLayout(layout, batch, heads, nq, nk);
  const { mask = null, causal = false } = opts;
  if (typeof causal !== 'boolean') throw new ValueError(OP, 'causal', 'a boolean', String(causal));
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new ValueError(OP, 'scale', 'a finite number', String(scale));
  }
  const maskShape = mask != null ? maskShape4(mask, [batch, heads, nq, nk]) : null;
  const attrs: BlockSparseAttrs = {
    batch,
    nq,
    nk,
    heads,
    kvHeads: k.shape[2],
    headDim,
    valueDim: v.shape[3],
    blockQ: layout.blockQ,
    blockK: layout.blockK,
    scale,
    causal,
    hasMask: mask != null,
    maskShape,
    layoutShape,
  };
  // Patterns are usually built on the CPU: bring them to q's backend for the call.
  const moved: Tensor[] = [];
  const onQ = (t: Tensor) => {
    if (t.backend === q.backend) return t;
    const c = t.to(q.backend.name);
    moved.push(c);
    return c;
  };
  try {
    const inputs = [q, k, v, onQ(layout.kvBlocks), ...(mask != null ? [onQ(mask)] : [])];
    const [out, lse] = runOp(blockForwardOp, inputs, attrs);
    return { out, lse };
  } finally {
    for (const t of moved) t.dispose();
  }
}
