// CPU kernels of the unfused triple: `neighborhood.qk` (logits per neighbor slot), `neighborhood.av` (weights
// times the neighbors' values) and `neighborhood.scatter` (av's transpose: each slot's contribution added to
// its key). Plain loops over (query, slot), float64 accumulation, masked slots skipped.
import { cpuData, registerKernel } from '@attnkit/core';
import type { WindowGeometry } from '../../window/window.js';
import { fillNeighbors } from '../../window/window.js';
import type { NeighborhoodAttrs, NeighborhoodScatterAttrs } from '../defs.js';
import { dimsOf, dot, forEachQueryRow, geometryOf, output } from './layout.js';

/**
 * Calls `pair(qr, j, kr, h, bias)` for every query row `qr` (head `h`) and neighbor slot `j` whose key row is
 * `kr` (`bias`: the slot's relative-bias index), and `masked(qr, j)` for the masked slots; one order for all three
 * kernels, token-major as everywhere on the CPU path.
 */
function forEachPair(
  g: WindowGeometry,
  batch: number,
  heads: number,
  kvHeads: number,
  pair: (qr: number, j: number, kr: number, h: number, bias: number) => void,
  masked: (qr: number, j: number) => void = () => {},
): void {
  const keys = new Int32Array(g.numSlots);
  const bias = new Int32Array(g.numSlots);
  forEachQueryRow(
    g.numTokens,
    batch,
    heads,
    heads / kvHeads,
    (i) => fillNeighbors(g, i, keys, bias),
    (b, h, qr, kh) => {
      for (let j = 0; j < g.numSlots; j++) {
        if (keys[j] < 0) masked(qr, j);
        else pair(qr, j, (b * g.numTokens + keys[j]) * kvHeads + kh, h, bias[j]);
      }
    },
  );
}

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.qk',
  backend: 'cpu',
  run: ([q, k, rpb], a) => {
    const { batch, tokens, heads, dim: d } = dimsOf(q);
    const g = geometryOf(tokens, a);
    const Q = cpuData(q);
    const K = cpuData(k);
    const R = a.hasRpb ? cpuData(rpb) : null;
    const K_ = g.numSlots;
    const out = new Float64Array(batch * g.numTokens * heads * K_);
    forEachPair(
      g,
      batch,
      heads,
      k.shape[k.rank - 2],
      (qr, j, kr, h, bias) => {
        out[qr * K_ + j] = a.scale * dot(Q, qr * d, K, kr * d, d) + (R ? R[h * g.biasSize + bias] : 0);
      },
      (qr, j) => {
        out[qr * K_ + j] = Number.NEGATIVE_INFINITY;
      },
    );
    return [output(out, q.dtype, [...q.shape.slice(0, -1), K_])];
  },
});

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.av',
  backend: 'cpu',
  run: ([w, v], a) => {
    const { batch, tokens, heads } = dimsOf(w);
    const g = geometryOf(tokens, a);
    const dv = v.shape[v.rank - 1];
    const W = cpuData(w);
    const V = cpuData(v);
    const out = new Float64Array(batch * g.numTokens * heads * dv);
    forEachPair(g, batch, heads, v.shape[v.rank - 2], (qr, j, vr) => {
      const p = W[qr * g.numSlots + j];
      for (let c = 0; c < dv; c++) out[qr * dv + c] += p * V[vr * dv + c];
    });
    return [output(out, w.dtype, [...w.shape.slice(0, -1), dv])];
  },
});

registerKernel<NeighborhoodScatterAttrs>({
  op: 'neighborhood.scatter',
  backend: 'cpu',
  run: ([w, x], a) => {
    const { batch, tokens, heads } = dimsOf(w);
    const g = geometryOf(tokens, a);
    const d = x.shape[x.rank - 1];
    const W = cpuData(w);
    const X = cpuData(x);
    const y = new Float64Array(batch * g.numTokens * a.kvHeads * d);
    forEachPair(g, batch, heads, a.kvHeads, (qr, j, yr) => {
      const p = W[qr * g.numSlots + j];
      for (let c = 0; c < d; c++) y[yr * d + c] += p * X[qr * d + c];
    });
    return [output(y, w.dtype, [batch, ...tokens, a.kvHeads, d])];
  },
});
