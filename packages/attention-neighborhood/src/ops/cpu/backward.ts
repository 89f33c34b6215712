// CPU kernel of `neighborhood.backward`: recomputes each row's probabilities from the saved lse
// (`p_j = exp(s_j - lse)`), then `ds_j = p_j (dOut . v_j - dOut . out)` and accumulates every gradient in
// float64 in a fixed order (deterministic).
import { cpuData, registerKernel, type Tensor } from '@attnkit/core';
import type { NeighborhoodAttrs } from '../defs.js';
import { dot, forEachQueryRow, output } from './layout.js';
import { fusedRows } from './logits.js';

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.backward',
  backend: 'cpu',
  run: ([q, k, v, o, lse, dOut, ...rest], a) => {
    const r = fusedRows(q, k, v, rest, a);
    const { batch, heads, dim: d } = r.q;
    const { numSlots, numTokens, biasSize } = r.geometry;
    const dv = r.valueDim;
    const group = heads / r.kvHeads;
    const O = cpuData(o);
    const L = cpuData(lse);
    const G = cpuData(dOut);
    const dq = new Float64Array(q.size);
    const dk = new Float64Array(k.size);
    const dvAcc = new Float64Array(v.size);
    const dRpb = a.hasRpb ? new Float64Array(rest[0].size) : null;
    const extraK = a.numExtra > 0 ? rest[a.hasRpb ? 1 : 0] : null;
    const extraV = a.numExtra > 0 ? rest[a.hasRpb ? 2 : 1] : null;
    const dExtraK = extraK ? new Float64Array(extraK.size) : null;
    const dExtraV = extraV ? new Float64Array(extraV.size) : null;
    const s = new Float64Array(numSlots + a.numExtra);
    forEachQueryRow(numTokens, batch, heads, group, r.neighbors, (b, h, qr, kh) => {
      r.logits(b, h, qr, s);
      const rowDot = dot(G, qr * dv, O, qr * dv, dv);
      for (let j = 0; j < s.length; j++) {
        if (s[j] === Number.NEGATIVE_INFINITY) continue;
        const p = Math.exp(s[j] - L[qr]);
        const neighbor = j < numSlots;
        const row = neighbor ? r.kvRow(b, r.keys[j], kh) : r.extraRow(b, j - numSlots, kh);
        const Kt = neighbor ? r.K : r.extraK!;
        const Vt = neighbor ? r.V : r.extraV!;
        const dK = neighbor ? dk : dExtraK!;
        const dV = neighbor ? dvAcc : dExtraV!;
        const ds = p * (dot(G, qr * dv, Vt, row * dv, dv) - rowDot);
        for (let c = 0; c < dv; c++) dV[row * dv + c] += p * G[qr * dv + c];
        for (let c = 0; c < d; c++) {
          dq[qr * d + c] += a.scale * ds * Kt[row * d + c];
          dK[row * d + c] += a.scale * ds * r.Q[qr * d + c];
        }
        if (dRpb && neighbor) dRpb[h * biasSize + r.bias[j]] += ds;
      }
    });
    const grads: Tensor[] = [
      output(dq, q.dtype, q.shape),
      output(dk, q.dtype, k.shape),
      output(dvAcc, q.dtype, v.shape),
    ];
    if (dRpb) grads.push(output(dRpb, q.dtype, rest[0].shape));
    if (dExtraK && dExtraV) {
      grads.push(output(dExtraK, q.dtype, extraK!.shape), output(dExtraV, q.dtype, extraV!.shape));
    }
    return grads;
  },
});
