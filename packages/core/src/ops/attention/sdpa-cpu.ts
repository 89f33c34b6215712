import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { TypedArray } from '../../dtype.js';
import { broadcastStrides, sizeOf } from '../../shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { SdpaAttrs, SdpaBackwardAttrs } from './sdpa.js';

/** Reads the inputs the two kernels share, and scores one (query, key) pair. */
function setup(q: Tensor, k: Tensor, v: Tensor, extra: Tensor[], a: SdpaAttrs) {
  const target = [a.batch, a.heads, a.nq, a.nk];
  const mask = a.maskShape ? cpuData(extra[0]) : null;
  const bias = a.biasShape ? cpuData(extra[a.maskShape ? 1 : 0]) : null;
  const ms = a.maskShape ? broadcastStrides(a.maskShape, target) : [0, 0, 0, 0];
  const bs = a.biasShape ? broadcastStrides(a.biasShape, target) : [0, 0, 0, 0];
  const Q = cpuData(q);
  const K = cpuData(k);
  const group = a.heads / a.kvHeads;
  const { headDim: d, scale } = a;
  const biasIndex = (b: number, h: number, i: number, j: number) =>
    b * bs[0] + h * bs[1] + i * bs[2] + j * bs[3];
  return {
    Q,
    K,
    V: cpuData(v),
    /** Index of key `j` of kv head `kh` in `k`'s rows (times headDim) and `v`'s rows (times valueDim). */
    kvRow: (b: number, j: number, kh: number) => (b * a.nk + j) * a.kvHeads + kh,
    /** Index of query `i` of head `h` in `q`'s rows, `out`'s rows and `lse`. */
    qRow: (b: number, i: number, h: number) => (b * a.nq + i) * a.heads + h,
    kvHead: (h: number) => Math.floor(h / group),
    /** Index of (b, h, i, j) in the bias (and in its gradient). */
    biasIndex,
    /** The score of (query row `qr`, key row `kr`), or -Infinity when the mask or causality forbids it. */
    score(b: number, h: number, i: number, j: number, qr: number, kr: number): number {
      if (a.causal && j > i) return Number.NEGATIVE_INFINITY;
      if (mask && !mask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]) return Number.NEGATIVE_INFINITY;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += Q[qr * d + c] * K[kr * d + c];
      return dot * scale + (bias ? bias[biasIndex(b, h, i, j)] : 0);
    },
  };
}

registerKernel<SdpaAttrs>({
  op: 'sdpa',
  backend: 'cpu',
  run: ([q, k, v, ...extra], a) => {
    const { V, kvRow, qRow, kvHead, score } = setup(q, k, v, extra, a);
    const dv = a.valueDim;
    const out = cpuAlloc(q.dtype, sizeOf(q.shape.slice(0, -1)) * dv);
    const lse = cpuAlloc(q.dtype, sizeOf(q.shape.slice(0, -1)));
    const s = new Float64Array(a.nk);
    const acc = new Float64Array(dv);
    for (let b = 0; b < a.batch; b++) {
      for (let i = 0; i < a.nq; i++) {
        for (let h = 0; h < a.heads; h++) {
          const qr = qRow(b, i, h);
          const kh = kvHead(h);
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < a.nk; j++) {
            s[j] = score(b, h, i, j, qr, kvRow(b, j, kh));
            if (s[j] > m) m = s[j];
          }
          if (m === Number.NEGATIVE_INFINITY) {
            // No key attended: output 0 (already zero) and lse -Infinity, a defined value instead of NaN.
            lse[qr] = m;
            continue;
          }
          let l = 0;
          acc.fill(0);
          for (let j = 0; j < a.nk; j++) {
            if (s[j] === Number.NEGATIVE_INFINITY) continue;
            const p = Math.exp(s[j] - m);
            l += p;
            const vr = kvRow(b, j, kh) * dv;
            for (let c = 0; c < dv; c++) acc[c] += p * V[vr + c];
          }
          for (let c = 0; c < dv; c++) out[qr * dv + c] = acc[c] / l;
          lse[qr] = m + Math.log(l);
        }
      }
    }
    return [cpuTensor(out, [...q.shape.slice(0, -1), dv]), cpuTensor(lse, q.shape.slice(0, -1))];
  },
});

/** Rounds a float64 accumulator into a new array of `like`'s dtype. */
function round(acc: Float64Array, like: Tensor): TypedArray {
  const r = cpuAlloc(like.dtype, acc.length);
  r.set(acc);
  return r;
}

registerKernel<SdpaBackwardAttrs>({
  op: 'sdpaBackward',
  backend: 'cpu',
  run: ([q, k, v, o, lse, gOut, gLse, ...extra], a) => {
    const { Q, K, V, kvRow, qRow, kvHead, biasIndex, score } = setup(q, k, v, extra, a);
    const { headDim: d, valueDim: dv, scale } = a;
    const O = cpuData(o);
    const L = cpuData(lse);
    const GO = cpuData(gOut);
    const GL = cpuData(gLse);
    const dq = new Float64Array(q.size);
    const dk = new Float64Array(k.size);
    const dvAcc = new Float64Array(v.size);
    const db = a.biasGrad && a.biasShape ? new Float64Array(sizeOf(a.biasShape)) : null;
    for (let b = 0; b < a.batch; b++) {
      for (let i = 0; i < a.nq; i++) {
        for (let h = 0; h < a.heads; h++) {
          const qr = qRow(b, i, h);
          const lseI = L[qr];
          if (lseI === Number.NEGATIVE_INFINITY) continue; // attends nothing: every gradient is 0
          const kh = kvHead(h);
          // With p = softmax(s): ds_j = p_j (dO . v_j - dO . out + gLse), since d lse / d s_j = p_j.
          let rowDot = 0;
          for (let c = 0; c < dv; c++) rowDot += GO[qr * dv + c] * O[qr * dv + c];
          const gl = GL[qr];
          for (let j = 0; j < a.nk; j++) {
            const kr = kvRow(b, j, kh);
            const sj = score(b, h, i, j, qr, kr);
            if (sj === Number.NEGATIVE_INFINITY) continue;
            const p = Math.exp(sj - lseI);
            let dp = 0;
            for (let c = 0; c < dv; c++) {
              dp += GO[qr * dv + c] * V[kr * dv + c];
              dvAcc[kr * dv + c] += p * GO[qr * dv + c];
            }
            const ds = p * (dp - rowDot + gl);
            for (let c = 0; c < d; c++) {
              dq[qr * d + c] += scale * ds * K[kr * d + c];
              dk[kr * d + c] += scale * ds * Q[qr * d + c];
            }
            if (db) db[biasIndex(b, h, i, j)] += ds;
          }
        }
      }
    }
    const grads = [
      cpuTensor(round(dq, q), q.shape),
      cpuTensor(round(dk, k), k.shape),
      cpuTensor(round(dvAcc, v), v.shape),
    ];
    if (db && a.biasShape) grads.push(cpuTensor(round(db, q), a.biasShape));
    return grads;
  },
});
