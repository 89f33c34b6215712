// CPU kernel of `neighborhood.forward`: for each query row, the logits over its neighbors and the extra keys,
// one softmax in float64 (maximum subtracted), the weighted sum of values, and the log-sum-exp.
import { registerKernel } from '@attnkit/core';
import type { NeighborhoodAttrs } from '../defs.js';
import { forEachQueryRow, output } from './layout.js';
import { fusedRows } from './logits.js';

registerKernel<NeighborhoodAttrs>({
  op: 'neighborhood.forward',
  backend: 'cpu',
  run: ([q, k, v, ...rest], a) => {
    const r = fusedRows(q, k, v, rest, a);
    const { batch, heads } = r.q;
    const { numSlots, numTokens } = r.geometry;
    const dv = r.valueDim;
    const group = heads / r.kvHeads;
    const out = new Float64Array(batch * numTokens * heads * dv);
    const lse = new Float64Array(batch * numTokens * heads);
    const s = new Float64Array(numSlots + a.numExtra);
    forEachQueryRow(numTokens, batch, heads, group, r.neighbors, (b, h, qr, kh) => {
      // Every query attends at least itself (the window always contains it), so max is finite.
      const max = r.logits(b, h, qr, s);
      let total = 0;
      const o = qr * dv;
      for (let j = 0; j < s.length; j++) {
        if (s[j] === Number.NEGATIVE_INFINITY) continue;
        const p = Math.exp(s[j] - max);
        total += p;
        const vr = j < numSlots ? r.kvRow(b, r.keys[j], kh) * dv : r.extraRow(b, j - numSlots, kh) * dv;
        const V = j < numSlots ? r.V : r.extraV!;
        for (let c = 0; c < dv; c++) out[o + c] += p * V[vr + c];
      }
      for (let c = 0; c < dv; c++) out[o + c] /= total;
      lse[qr] = max + Math.log(total);
    });
    const lead = q.shape.slice(0, -1);
    return [output(out, q.dtype, [...lead, dv]), output(lse, q.dtype, lead)];
  },
});
