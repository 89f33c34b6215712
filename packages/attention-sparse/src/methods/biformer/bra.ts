// BiFormer's bi-level routing attention (rayleizhu/BiFormer, spec section 3), functional form. Regions of an
// image become contiguous key blocks by reordering tokens region-major; region affinity from mean-pooled q
// and k (all heads together) picks the top-k regions per query region, shared by every head; the engine
// then attends only those regions. Local context enhancement adds a depthwise conv of V.
import {
  add,
  conv2d,
  einsum,
  fmtShape,
  indexSelect,
  mul,
  noGrad,
  permute,
  reshape,
  ShapeError,
  type Tensor,
  tensor,
  tidy,
  topk,
  ValueError,
} from '@attnkit/core';
import { type BlockLayout, blockSparseAttention } from '../../engine/index.js';
import { checkQkv, chunkMeans } from '../select.js';
import { vmobaPartition } from '../vmoba/partition.js';

/** Options of {@link biformerAttention}. */
export interface BiformerOptions {
  /** Regions per side S (`n_win`): the grid is cut into S x S regions; H and W must be multiples of S. */
  nWin: number;
  /** Routed regions per query region; negative or `>= S^2` means all regions (stage 4's `topk = -2`). */
  topk: number;
  /**
   * Use BiFormer's `dim^-0.5` scale (`dim = heads * headDim`, the quirk kept for its checkpoints) in the
   * router and in the attention (default true). False uses `headDim^-0.5`.
   */
  dimScale?: boolean;
  /** An explicit scale for both (overrides `dimScale`). */
  scale?: number;
  /**
   * Local context enhancement: a depthwise conv `[dim, 1, k, k]` (odd k, padding k/2) with optional bias
   * `[dim]`, applied to the V map and added to the output.
   */
  lce?: {
    /** The depthwise kernel, `[heads * valueDim, 1, k, k]`. */
    weight: Tensor;
    /** Its bias, `[heads * valueDim]`. */
    bias?: Tensor | null;
  };
}

const OP = 'biformerAttention';

/** The region-major reordering of an `h x w` grid cut into `nWin x nWin` regions. */
export function biformerRegions(
  h: number,
  w: number,
  nWin: number,
): {
  /** Token order grouped by region (region-major), as flat grid indices. */
  perm: Int32Array;
  /** The inverse permutation. */
  inverse: Int32Array;
  /** Tokens per region. */
  regionTokens: number;
} {
  if (!(Number.isInteger(nWin) && nWin >= 1))
    throw new ValueError(OP, 'nWin', 'an integer >= 1', String(nWin));
  if (h % nWin !== 0 || w % nWin !== 0) {
    throw new ValueError(OP, 'nWin', `a divisor of the grid's height ${h} and width ${w}`, String(nWin));
  }
  const p = vmobaPartition([1, h, w], [h / nWin, w / nWin]);
  return { perm: p.perm, inverse: p.inverse, regionTokens: p.chunkTokens };
}

/** The scale BRA uses for `dim = heads * headDim`. */
function braScale(o: BiformerOptions, heads: number, headDim: number): number {
  return o.scale ?? ((o.dimScale ?? true) ? (heads * headDim) ** -0.5 : headDim ** -0.5);
}

/**
 * The routing of BRA as an engine layout over region-major tokens (`blockQ = blockK = tokens per region`,
 * kvBlocks `[batch, 1, S^2, topk]`: one list per query region, shared by the heads). `qr`, `kr` are
 * region-major `[batch, S^2 * regionTokens, heads, headDim]`. Computed without gradient (BiFormer's default
 * `diff_routing = False`).
 */
export function biformerLayout(
  qr: Tensor,
  kr: Tensor,
  regionTokens: number,
  opts: BiformerOptions,
): BlockLayout {
  const [b, n, heads, hd] = qr.shape;
  const regions = n / regionTokens;
  const k = opts.topk < 0 || opts.topk >= regions ? regions : opts.topk;
  if (!(Number.isInteger(k) && k >= 1))
    throw new ValueError(OP, 'topk', 'a positive integer or a negative one (all)', String(opts.topk));
  const kvBlocks = noGrad(() =>
    tidy(() => {
      const qm = reshape(chunkMeans(qr, regionTokens), [b, regions, heads * hd]);
      const km = reshape(chunkMeans(kr, regionTokens), [b, regions, heads * hd]);
      const affinity = einsum('brc,bsc->brs', mul(qm, braScale(opts, heads, hd)), km);
      return reshape(topk(affinity, k).indices, [b, 1, regions, k]);
    }),
  );
  return { blockQ: regionTokens, blockK: regionTokens, kvBlocks };
}

/**
 * Bi-level routing attention: `q`, `k`, `v` `[batch, height, width, heads, headDim]` (v may have another
 * last size). Each query region attends the tokens of its `topk` routed regions (routing from region means,
 * shared by heads, no gradient through it), plus, with `lce`, a depthwise conv of V. Returns
 * `[batch, height, width, heads, valueDim]`. Differentiable in q, k, v and the LCE weights.
 *
 * @example
 * const y = biformerAttention(q, k, v, { nWin: 7, topk: 4 });
 */
export function biformerAttention(q: Tensor, k: Tensor, v: Tensor, opts: BiformerOptions): Tensor {
  for (const [arg, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 5)
      throw new ShapeError(OP, arg, 'a 5-D tensor [batch, height, width, heads, dim]', fmtShape(t.shape));
    if (
      t.shape[0] !== q.shape[0] ||
      t.shape[1] !== q.shape[1] ||
      t.shape[2] !== q.shape[2] ||
      t.shape[3] !== q.shape[3]
    ) {
      throw new ShapeError(OP, arg, `[${q.shape.slice(0, 4).join(', ')}, dim] like q`, fmtShape(t.shape));
    }
  }
  const [b, h, w, heads, hd] = q.shape;
  const { perm, inverse, regionTokens } = biformerRegions(h, w, opts.nWin);
  const backend = q.backend.name;
  return tidy(() => {
    const order = (t: Tensor) =>
      indexSelect(reshape(t, [b, h * w, heads, t.shape[4]]), 1, tensor(perm, { dtype: 'int32', backend }));
    const [qr, kr, vr] = [order(q), order(k), order(v)];
    checkQkv(OP, qr, kr, vr);
    const layout = biformerLayout(qr, kr, regionTokens, opts);
    const { out } = blockSparseAttention(qr, kr, vr, layout, { scale: braScale(opts, heads, hd) });
    const back = indexSelect(out, 1, tensor(inverse, { dtype: 'int32', backend }));
    const y = reshape(back, [b, h, w, heads, v.shape[4]]);
    return opts.lce ? add(y, localContext(v, opts.lce)) : y;
  });
}

/**
 * BiFormer's local context enhancement: a depthwise conv of the V map (`[batch, height, width, heads,
 * valueDim]`, channels `heads * valueDim`), zero padded to keep the size, in V's layout.
 */
export function localContext(v: Tensor, lce: { weight: Tensor; bias?: Tensor | null }): Tensor {
  const [b, h, w, heads, vd] = v.shape;
  const c = heads * vd;
  const wt = lce.weight;
  if (
    wt.rank !== 4 ||
    wt.shape[0] !== c ||
    wt.shape[1] !== 1 ||
    wt.shape[2] % 2 !== 1 ||
    wt.shape[2] !== wt.shape[3]
  ) {
    throw new ShapeError(OP, 'lce.weight', `[${c}, 1, k, k] with odd k`, fmtShape(wt.shape));
  }
  return tidy(() => {
    const map = permute(reshape(v, [b, h, w, c]), [0, 3, 1, 2]);
    const y = conv2d(map, wt, lce.bias ?? null, { padding: (wt.shape[2] - 1) / 2, groups: c });
    return reshape(permute(y, [0, 2, 3, 1]), [b, h, w, heads, vd]);
  });
}
