// Routing Transformer (Roy et al. 2021; google-research routing_transformer and lucidrains' port; spec
// section 4): queries and keys are routed to k-means clusters; each cluster takes its w nearest queries and
// w nearest keys (balanced), sorted by position, and attention runs within each cluster. Gathered clusters
// are consecutive blocks of w tokens, so the engine runs them as a block-diagonal layout; outputs are
// scattered back and averaged over the clusters a token sits in.
import {
  cast,
  contiguous,
  div,
  einsum,
  expand,
  fmtShape,
  gather,
  ge,
  layerNorm,
  maximum,
  noGrad,
  ones,
  permute,
  reshape,
  ShapeError,
  scatterAdd,
  sort,
  type Tensor,
  tensor,
  tidy,
  topk,
  ValueError,
  zeros,
} from '@attnkit/core';
import { blockSparseAttention } from '../../engine/index.js';
import { checkInt, checkQkv, expandKvHeads } from '../select.js';

/** Options of {@link routingAttention}. */
export interface RoutingOptions {
  /** Cluster centroids `[heads, clusters, headDim]` (e.g. a {@link RoutingAttention} module's `means`). */
  centroids: Tensor;
  /** Members per cluster w (`attention_window`): the w items nearest each centroid. */
  window: number;
  /** Causal by true positions (default true): a query attends a key of its cluster only if `key <= query`. */
  causal?: boolean;
  /**
   * Route keys with the queries' clusters (`share_qk`, for a shared q/k projection). Causal attention then
   * needs no element mask; without it, causal routing builds a `(clusters * window)^2` mask per batch and
   * head (refused above 2^26 elements in all).
   */
  shareQK?: boolean;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

const OP = 'routingAttention';
/** Largest causal element mask (elements) built for separately routed queries and keys. */
const MAX_MASK = 2 ** 26;

/**
 * The w members of each cluster: int32 `[batch, heads, clusters, w]`, positions ascending, the w items with
 * the largest `<layerNorm(x), mu_c>` (an item may sit in several clusters or in none). No gradient.
 */
export function clusterMembers(x: Tensor, centroids: Tensor, window: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const xn = layerNorm(x, [x.shape[3]]);
      const scores = einsum('bnhd,hcd->bhcn', xn, cast(centroids, x.dtype));
      const { indices } = topk(scores, window);
      // Sort each member list by position (float32 holds token indices exactly below 2^24).
      return cast(sort(cast(indices, 'float32')).values, 'int32');
    }),
  );
}

/**
 * Routing attention: `q` `[batch, n, heads, dim]`, `k`/`v` `[batch, n, kvHeads, .]`. Each cluster's w nearest
 * queries attend its w nearest keys (causal by true positions when asked); a query's output is the mean over
 * the clusters it sits in, 0 when it sits in none. Routing uses layer-normed copies of q and k and is not
 * differentiated; attention uses q and k themselves. Differentiable in q, k, v.
 *
 * @example
 * const y = routingAttention(q, k, v, { centroids: router.means, window: 64 });
 */
export function routingAttention(q: Tensor, k: Tensor, v: Tensor, opts: RoutingOptions): Tensor {
  checkQkv(OP, q, k, v);
  const [b, n, heads, d] = q.shape;
  if (k.shape[1] !== n) throw new ValueError(OP, 'k', `${n} tokens like q`, String(k.shape[1]));
  const mu = opts.centroids;
  mu.assertAlive(OP, 'centroids');
  if (mu.rank !== 3 || mu.shape[0] !== heads || mu.shape[2] !== d) {
    throw new ShapeError(OP, 'centroids', `[${heads}, clusters, ${d}]`, fmtShape(mu.shape));
  }
  const c = mu.shape[1];
  const w = checkInt(OP, 'window', opts.window);
  if (w > n) throw new ValueError(OP, 'window', `at most the sequence length ${n}`, String(w));
  const causal = opts.causal ?? true;
  if (causal && !opts.shareQK && b * heads * (c * w) ** 2 > MAX_MASK) {
    throw new ValueError(
      OP,
      'shareQK',
      `true for causal routing of ${b * heads} x ${c * w} gathered tokens (the separate-routing causal mask would hold ${b * heads * (c * w) ** 2} elements, over ${MAX_MASK})`,
      'false',
    );
  }
  const backend = q.backend.name;
  return tidy(() => {
    const kh = expandKvHeads(k, heads);
    const vh = expandKvHeads(v, heads);
    const qIdx = clusterMembers(q, mu, w);
    const kIdx = opts.shareQK ? qIdx : clusterMembers(kh, mu, w);
    // [b, heads, c, w] -> [b, c * w, heads]: cluster-major token lists, one per head.
    const lists = (idx: Tensor) => reshape(permute(idx, [0, 2, 3, 1]), [b, c * w, heads, 1]);
    const pick = (x: Tensor, idx: Tensor) =>
      gather(x, 1, contiguous(expand(lists(idx), [b, c * w, heads, x.shape[3]])));
    const [qg, kg, vg] = [pick(q, qIdx), pick(kh, kIdx), pick(vh, kIdx)];
    const diag = tensor(
      Int32Array.from({ length: c }, (_, i) => i),
      { shape: [1, 1, c, 1], dtype: 'int32', backend },
    );
    const layout = { blockQ: w, blockK: w, kvBlocks: diag };
    // With shared lists, causal by window position within a cluster is causal by true position; otherwise
    // compare the true positions (only the diagonal blocks of this mask are ever read).
    const mask =
      causal && !opts.shareQK
        ? ge(reshape(qIdx, [b, heads, c * w, 1]), reshape(kIdx, [b, heads, 1, c * w]))
        : null;
    const { out } = blockSparseAttention(qg, kg, vg, layout, {
      scale: opts.scale ?? d ** -0.5,
      causal: causal && !!opts.shareQK,
      mask,
    });
    const dv = v.shape[3];
    const idxV = contiguous(expand(lists(qIdx), [b, c * w, heads, dv]));
    const total = scatterAdd(zeros([b, n, heads, dv], { backend, dtype: q.dtype }), 1, idxV, out);
    const count = scatterAdd(
      zeros([b, n, heads, 1], { backend, dtype: q.dtype }),
      1,
      lists(qIdx),
      ones([b, c * w, heads, 1], { backend, dtype: q.dtype }),
    );
    return div(total, maximum(count, 1));
  });
}
