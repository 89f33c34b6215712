// VMoBA (KwaiVGI/VMoBA, spec 6.2): non-causal mixture of block attention for video. Tokens are reordered by
// a 1D/2D/3D partition so that chunks are contiguous; each query token attends its own chunk plus chunks
// chosen from gates <q_t, mean of the chunk's keys> by top-k (per query or per head globally) or by a
// cumulative-similarity threshold. Selection runs on the inputs' backend without gradient.
import {
  cast,
  cumsum,
  div,
  einsum,
  fmtShape,
  ge,
  gt,
  indexSelect,
  logicalAnd,
  logicalOr,
  lt,
  max,
  maximum,
  min,
  noGrad,
  reshape,
  ShapeError,
  scatter,
  sort,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
  topk,
  ValueError,
  where,
  zeros,
} from '@attnkit/core';
import { type BlockLayout, blockSparseAttention } from '../../engine/index.js';
import { boolGrid, checkQkv, chunkMeans, expandKvHeads, listsFromSelection } from '../select.js';
import { type VmobaPartition, vmobaPartition } from './partition.js';

/** How VMoBA picks the chunks of each query (besides its own chunk, always attended). */
export type VmobaSelection =
  | {
      /** Top-k by gate. */
      mode: 'topk';
      /** Chunks per query, own chunk included (the own chunk's gate is raised to +Infinity first). */
      k: number;
      /**
       * `'query_head'` (default): the k best chunks per (head, query). `'head_global'`: the best `k * n`
       * (query, chunk) pairs per head over all queries, the paper's global block selection. `'overall'`: the
       * best `k * heads * n` (head, query, chunk) triples of each batch item.
       */
      scope?: 'query_head' | 'head_global' | 'overall';
    }
  | {
      /** Cumulative-similarity threshold (VMoBA's default, per (head, query)). */
      mode: 'threshold';
      /** Share of the total normalised similarity to cover, own chunk counted first (code default 0.25). */
      tau: number;
    };

/** Options of {@link vmobaAttention}. */
export interface VmobaOptions {
  /** The token reordering and chunking (see {@link vmobaPartition}). */
  partition: VmobaPartition;
  /** How chunks are selected. */
  select: VmobaSelection;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

const OP = 'vmobaAttention';
/** Guards the min-max normalisation against a row of equal gates (then every chunk is kept). */
const EPS = 1e-6;

/**
 * The selection mask `[batch, heads, n, nChunks]` (bool) of reordered queries `q` over the chunks of
 * reordered keys `k`, per `sel`; the own chunk is always true. Exported for tests and pictures.
 */
export function vmobaSelection(q: Tensor, k: Tensor, chunkTokens: number, sel: VmobaSelection): Tensor {
  const n = q.shape[1];
  const nc = Math.ceil(k.shape[1] / chunkTokens);
  const backend = q.backend.name;
  return noGrad(() =>
    tidy(() => {
      const gate = einsum('bthd,bchd->bhtc', q, expandKvHeads(chunkMeans(k, chunkTokens), q.shape[2]));
      const own = boolGrid(n, nc, backend, (t, c) => c === Math.floor(t / chunkTokens));
      if (sel.mode === 'topk') {
        const kk = Math.min(sel.k, nc);
        const g = where(own, Number.POSITIVE_INFINITY, gate);
        if ((sel.scope ?? 'query_head') === 'query_head') {
          const { indices } = topk(g, kk);
          return gt(scatter(zeros(g.shape, { backend }), 3, indices, 1), 0);
        }
        const [b, h] = g.shape;
        const overall = sel.scope === 'overall';
        const flat = overall ? reshape(g, [b, 1, h * n * nc]) : reshape(g, [b, h, n * nc]);
        const per = overall ? h * n : n;
        const { indices } = topk(flat, Math.min(kk * per, per * nc));
        const chosen = gt(scatter(zeros(flat.shape, { backend }), 2, indices, 1), 0);
        return logicalOr(reshape(chosen, g.shape), own);
      }
      // Threshold: min-max normalise per (head, query); the own chunk covers g_self / total first; the
      // other chunks are taken by decreasing gate until the covered share reaches tau (at least one).
      const lo = min(gate, { axis: -1, keepDims: true });
      const hi = max(gate, { axis: -1, keepDims: true });
      const gn = div(sub(gate, lo), maximum(sub(hi, lo), EPS));
      const total = maximum(sum(gn, { axis: -1, keepDims: true }), EPS);
      const self = sum(where(own, gn, 0), { axis: -1, keepDims: true });
      const remain = maximum(sub(sel.tau, div(self, total)), 0);
      // Others sorted descending; the own chunk gets -1 so it sorts last and is never taken here.
      const others = where(own, -1, gn);
      const sorted = sort(others, { axis: -1, descending: true });
      const ratio = div(cumsum(maximum(sorted.values, 0), -1), total);
      // Keep sorted position m when m == 0 or the share before it is still below `remain`.
      const before = sub(ratio, div(maximum(sorted.values, 0), total));
      const pos = boolGrid(1, nc, backend, (_r, c) => c === 0);
      const keep = logicalOr(pos, lt(before, remain));
      const valid = ge(sorted.values, 0);
      const keepSorted = cast(logicalAnd(keep, valid), 'float32');
      const back = scatter(zeros(gate.shape, { backend }), 3, sorted.indices, keepSorted);
      return logicalOr(gt(back, 0), own);
    }),
  );
}

/**
 * VMoBA's layout on reordered tokens: `blockQ = 1`, `blockK = chunkTokens`, one row of chosen chunks per
 * (batch, head, query), computed on q's backend. `q`/`k` must already be reordered.
 */
export function vmobaLayout(q: Tensor, k: Tensor, chunkTokens: number, sel: VmobaSelection): BlockLayout {
  const nc = Math.ceil(k.shape[1] / chunkTokens);
  const kvBlocks = noGrad(() =>
    tidy(() => {
      const s = vmobaSelection(q, k, chunkTokens, sel);
      return listsFromSelection(
        s,
        sel.mode === 'topk' && (sel.scope ?? 'query_head') === 'query_head' ? Math.min(sel.k, nc) : nc,
      );
    }),
  );
  return { blockQ: 1, blockK: chunkTokens, kvBlocks };
}

function checkSelection(sel: VmobaSelection): void {
  if (sel?.mode === 'topk') {
    if (!(Number.isInteger(sel.k) && sel.k >= 1))
      throw new ValueError(OP, 'select.k', 'an integer >= 1', String(sel.k));
    if (sel.scope !== undefined && !['query_head', 'head_global', 'overall'].includes(sel.scope)) {
      throw new ValueError(OP, 'select.scope', "'query_head', 'head_global' or 'overall'", String(sel.scope));
    }
  } else if (sel?.mode === 'threshold') {
    if (!(typeof sel.tau === 'number' && sel.tau >= 0 && sel.tau <= 1)) {
      throw new ValueError(OP, 'select.tau', 'a number in [0, 1]', String(sel.tau));
    }
  } else {
    throw new ValueError(
      OP,
      'select.mode',
      "'topk' or 'threshold'",
      String((sel as { mode?: unknown })?.mode),
    );
  }
}

/**
 * VMoBA attention (non-causal) over a video: `q`, `k`, `v` `[batch, frames, height, width, heads, .]` (k/v
 * may have fewer heads, grouped-query). Tokens are reordered by `opts.partition`, attended through the
 * engine with per-query chunk selection, and put back in place. Differentiable in q, k, v (not through the
 * selection).
 *
 * @example
 * const y = vmobaAttention(q, k, v, { partition: [2, 2], select: { mode: 'threshold', tau: 0.25 } });
 */
export function vmobaAttention(q: Tensor, k: Tensor, v: Tensor, opts: VmobaOptions): Tensor {
  for (const [arg, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 6)
      throw new ShapeError(
        OP,
        arg,
        'a 6-D tensor [batch, frames, height, width, heads, dim]',
        fmtShape(t.shape),
      );
  }
  checkSelection(opts.select);
  const grid = [q.shape[1], q.shape[2], q.shape[3]] as const;
  if (k.shape[1] !== grid[0] || k.shape[2] !== grid[1] || k.shape[3] !== grid[2]) {
    throw new ShapeError(OP, 'k', `the video grid ${grid.join('x')} of q`, fmtShape(k.shape));
  }
  const plan = vmobaPartition(grid, opts.partition);
  const backend = q.backend.name;
  return tidy(() => {
    const flat = (t: Tensor) => reshape(t, [t.shape[0], plan.perm.length, t.shape[4], t.shape[5]]);
    const order = (t: Tensor) =>
      plan.identity ? flat(t) : indexSelect(flat(t), 1, tensor(plan.perm, { dtype: 'int32', backend }));
    const [qr, kr, vr] = [order(q), order(k), order(v)];
    checkQkv(OP, qr, kr, vr);
    const layout = vmobaLayout(qr, kr, plan.chunkTokens, opts.select);
    const { out } = blockSparseAttention(qr, kr, vr, layout, { scale: opts.scale });
    const back = plan.identity ? out : indexSelect(out, 1, tensor(plan.inverse, { dtype: 'int32', backend }));
    return reshape(back, [...q.shape.slice(0, 5), v.shape[5]]);
  });
}
