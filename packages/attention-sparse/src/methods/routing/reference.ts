// A float64 loop reference of routing attention on CPU inputs, written from the spec rather than from the
// engine: given the cluster member lists, one softmax per cluster over its keys, the mean over the clusters a
// query sits in. The member lists are the routing decision (see `clusterMembers`), passed in so that the
// reference checks the attention of exactly the clusters the op used.
import type { Tensor } from '@attnkit/core';

/** Host form of routing attention's weights: what {@link routingWeights} returns. */
export interface RoutingWeights {
  /** The weights of query `i` (batch `b`, head `h`) over every key; all zeros when it sits in no cluster. */
  weights(b: number, h: number, i: number): Float64Array;
}

/**
 * Routing attention's weights from CPU tensors `q`, `k` `[batch, n, heads, dim]` and the member lists
 * (int32 `[batch, heads, clusters, window]`) of the queries and of the keys: each query attends its clusters'
 * keys (`key <= query` when causal) with scale `dim^-0.5`, and its weights are the mean over its clusters.
 */
export function routingWeights(
  q: Tensor,
  k: Tensor,
  queryMembers: Tensor,
  keyMembers: Tensor,
  causal: boolean,
): RoutingWeights {
  const [, n, h, d] = q.shape;
  const [, , c, w] = queryMembers.shape;
  const qd = q.dataSync();
  const kd = k.dataSync();
  const qm = queryMembers.dataSync();
  const km = keyMembers.dataSync();
  const list = (m: ArrayLike<number>, b: number, hh: number, cc: number) =>
    Array.from({ length: w }, (_, e) => m[((b * h + hh) * c + cc) * w + e]);
  const dot = (b: number, i: number, j: number, hh: number) => {
    let s = 0;
    for (let e = 0; e < d; e++) s += qd[((b * n + i) * h + hh) * d + e] * kd[((b * n + j) * h + hh) * d + e];
    return s / Math.sqrt(d);
  };
  // Callers ask for one query's weight of every key in turn: keep the last query's row.
  let lastKey = '';
  let last = new Float64Array(0);
  return {
    weights(b, hh, i) {
      const key = `${b},${hh},${i}`;
      if (key === lastKey) return last;
      const out = new Float64Array(n);
      let count = 0;
      for (let cc = 0; cc < c; cc++) {
        if (!list(qm, b, hh, cc).includes(i)) continue;
        count++;
        const keys = list(km, b, hh, cc).filter((j) => !causal || j <= i);
        if (keys.length === 0) continue;
        const logits = keys.map((j) => dot(b, i, j, hh));
        const mx = Math.max(...logits);
        const ex = logits.map((l) => Math.exp(l - mx));
        const z = ex.reduce((a, x) => a + x, 0);
        keys.forEach((j, m) => {
          out[j] += ex[m] / z;
        });
      }
      if (count > 0) for (let j = 0; j < n; j++) out[j] /= count;
      lastKey = key;
      last = out;
      return out;
    },
  };
}
