// CPU kernels of linear.decayCausal and its backward: the recurrences in float64, one (batch, head) at a time.
// They are the oracle the chunked WGSL kernels are tested against; the quadratic form (decay-causal-reference.ts)
// is the independent formula they are tested against in turn.
import { cpuData, cpuTensor, registerKernel, type Tensor, type TypedArray } from '@attnkit/core';
import type { DecayCausalAttrs } from './decay-causal.js';

/** A float64 accumulator rounded once into an array of `like`'s dtype. */
function rounded(acc: Float64Array, like: Tensor): TypedArray {
  if (like.dtype === 'float64') return acc;
  return Float32Array.from(acc);
}

registerKernel<DecayCausalAttrs>({
  op: 'linear.decayCausal',
  backend: 'cpu',
  run: ([q, k, v], { decay }) => {
    const [batch, n, heads, dk] = q.shape;
    const dv = v.shape[3];
    const Q = cpuData(q);
    const K = cpuData(k);
    const V = cpuData(v);
    const out = new Float64Array(batch * n * heads * dv);
    const S = new Float64Array(dk * dv); // S[c * dv + e] = sum_s lambda^(t-s) k_s[c] v_s[e]
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const lambda = Math.exp(-decay[h]);
        S.fill(0);
        for (let t = 0; t < n; t++) {
          const row = (b * n + t) * heads + h;
          const kq = row * dk;
          const vo = row * dv;
          for (let c = 0; c < dk; c++) {
            const kc = K[kq + c];
            const qc = Q[kq + c];
            for (let e = 0; e < dv; e++) {
              const idx = c * dv + e;
              S[idx] = lambda * S[idx] + kc * V[vo + e];
              out[vo + e] += qc * S[idx];
            }
          }
        }
      }
    }
    return [cpuTensor(rounded(out, q), [batch, n, heads, dv])];
  },
});

registerKernel<DecayCausalAttrs>({
  op: 'linear.decayCausalBackward',
  backend: 'cpu',
  run: ([q, k, v, dO], { decay }) => {
    const [batch, n, heads, dk] = q.shape;
    const dv = v.shape[3];
    const Q = cpuData(q);
    const K = cpuData(k);
    const V = cpuData(v);
    const G = cpuData(dO);
    const dq = new Float64Array(q.size);
    const dkAcc = new Float64Array(k.size);
    const dvAcc = new Float64Array(v.size);
    const S = new Float64Array(dk * dv);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const lambda = Math.exp(-decay[h]);
        // Forward in time: dq_t = S_t dO_t with the forward state S_t = lambda S_{t-1} + k_t v_t^T.
        S.fill(0);
        for (let t = 0; t < n; t++) {
          const row = (b * n + t) * heads + h;
          for (let c = 0; c < dk; c++) {
            const kc = K[row * dk + c];
            let acc = 0;
            for (let e = 0; e < dv; e++) {
              const idx = c * dv + e;
              S[idx] = lambda * S[idx] + kc * V[row * dv + e];
              acc += S[idx] * G[row * dv + e];
            }
            dq[row * dk + c] = acc;
          }
        }
        // Backward in time: R_s = lambda R_{s+1} + q_s dO_s^T; dk_s = R_s v_s and dv_s = R_s^T k_s.
        S.fill(0);
        for (let t = n - 1; t >= 0; t--) {
          const row = (b * n + t) * heads + h;
          for (let c = 0; c < dk; c++) {
            const qc = Q[row * dk + c];
            const kc = K[row * dk + c];
            let acc = 0;
            for (let e = 0; e < dv; e++) {
              const idx = c * dv + e;
              S[idx] = lambda * S[idx] + qc * G[row * dv + e];
              acc += S[idx] * V[row * dv + e];
              dvAcc[row * dv + e] += S[idx] * kc;
            }
            dkAcc[row * dk + c] = acc;
          }
        }
      }
    }
    return [
      cpuTensor(rounded(dq, q), q.shape),
      cpuTensor(rounded(dkAcc, k), k.shape),
      cpuTensor(rounded(dvAcc, v), v.shape),
    ];
  },
});
