// CPU kernels of the unfused triple: `neighborhood.qk` (logits per neighbor slot), `neighborhood.av` (weights
// times the neighbors' values) and `neighborhood.scatter` (av's transpose: each slot's contribution added to
// its key). Plain loops over (query, slot), float64 accumulation, masked slots skipped.
import { cpuData, registerKernel } from '@attnkit/core';
import { fillNeighbors } from '../../window/window.js';
import type { NeighborhoodAttrs, NeighborhoodScatterAttrs } from '../defs.js';
import { dimsOf, dot, geometryOf, output } from './layout.js';

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.qk',
  backend: 'cpu',
  run: ([q, k, rpb], a) => {
    const { batch, tokens, heads, dim: d } = dimsOf(q);
    const g = geometryOf(tokens, a);
    const kvHeads = k.shape[k.rank - 2];
    const group = heads / kvHeads;
    const Q = cpuData(q);
    const K = cpuData(k);
    const R = a.hasRpb ? cpuData(rpb) : null;
    const K_ = g.numSlots;
    const out = new Float64Array(batch * g.numTokens * heads * K_);
    const keys = new Int32Array(K_);
    const bias = new Int32Array(K_);
    for (let i = 0; i < g.numTokens; i++) {
      fillNeighbors(g, i, keys, bias);
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < heads; h++) {
          const qr = (b * g.numTokens + i) * heads + h;
          for (let j = 0; j < K_; j++) {
            const m = keys[j];
            if (m < 0) {
              out[qr * K_ + j] = Number.NEGATIVE_INFINITY;
              continue;
            }
            const kr = (b * g.numTokens + m) * kvHeads + Math.floor(h / group);
            out[qr * K_ + j] = a.scale * dot(Q, qr * d, K, kr * d, d) + (R ? R[h * g.biasSize + bias[j]] : 0);
          }
        }
      }
    }
    return [output(out, q.dtype, [...q.shape.slice(0, -1), K_])];
  },
});

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.av',
  backend: 'cpu',
  run: ([w, v], a) => {
    const { batch, tokens, heads } = dimsOf(w);
    const g = geometryOf(tokens, a);
    const kvHeads = v.shape[v.rank - 2];
    const dv = v.shape[v.rank - 1];
    const group = heads / kvHeads;
    const W = cpuData(w);
    const V = cpuData(v);
    const K_ = g.numSlots;
    const out = new Float64Array(batch * g.numTokens * heads * dv);
    const keys = new Int32Array(K_);
    for (let i = 0; i < g.numTokens; i++) {
      fillNeighbors(g, i, keys);
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < heads; h++) {
          const qr = (b * g.numTokens + i) * heads + h;
          for (let j = 0; j < K_; j++) {
            if (keys[j] < 0) continue;
            const p = W[qr * K_ + j];
            const vr = ((b * g.numTokens + keys[j]) * kvHeads + Math.floor(h / group)) * dv;
            for (let c = 0; c < dv; c++) out[qr * dv + c] += p * V[vr + c];
          }
        }
      }
    }
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
    const group = heads / a.kvHeads;
    const W = cpuData(w);
    const X = cpuData(x);
    const K_ = g.numSlots;
    const y = new Float64Array(batch * g.numTokens * a.kvHeads * d);
    const keys = new Int32Array(K_);
    for (let i = 0; i < g.numTokens; i++) {
      fillNeighbors(g, i, keys);
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < heads; h++) {
          const qr = (b * g.numTokens + i) * heads + h;
          for (let j = 0; j < K_; j++) {
            if (keys[j] < 0) continue;
            const p = W[qr * K_ + j];
            const yr = ((b * g.numTokens + keys[j]) * a.kvHeads + Math.floor(h / group)) * d;
            for (let c = 0; c < d; c++) y[yr + c] += p * X[qr * d + c];
          }
        }
      }
    }
    return [output(y, w.dtype, [batch, ...tokens, a.kvHeads, d])];
  },
});
