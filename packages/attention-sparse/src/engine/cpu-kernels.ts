import { cpuData, cpuTensor, registerKernel, type Tensor, type TypedArray } from '@attnkit/core';
import type { BlockSparseAttrs } from './defs.js';
import { maskStrides } from './mask-strides.js';

// The CPU oracle of the block-sparse engine: dense masked softmax attention, float64, in which a key is allowed
// only when its block is listed for the query's block (and the causal rule and the element mask allow it).
// Written as plain loops over every (query, key) pair so that it is obviously right; the WGSL kernels are
// tested against it.

/** A float64 accumulator rounded into a new array of `like`'s dtype (float32 or float64). */
function rounded(acc: Float64Array, like: Tensor): TypedArray {
  const r = like.dtype === 'float64' ? new Float64Array(acc.length) : new Float32Array(acc.length);
  r.set(acc);
  return r;
}

/**
 * What the two kernels share: the data, and `allowedKeys(b, h, i)`, the 0/1 mask over keys of query `i` of
 * head `h` in batch `b`, built from the listed blocks, causality and the element mask.
 */
function setup(inputs: Tensor[], a: BlockSparseAttrs) {
  const [q, k, v, kvBlocks] = inputs;
  const mask = a.hasMask ? cpuData(inputs[inputs.length - 1]) : null;
  const ms = a.maskShape ? maskStrides(a.maskShape) : [0, 0, 0, 0];
  const blocks = cpuData(kvBlocks);
  const [lb, lh, nqb, maxBlocks] = a.layoutShape;
  const nkb = Math.ceil(a.nk / a.blockK);
  const allowed = new Uint8Array(a.nk);
  return {
    Q: cpuData(q),
    K: cpuData(k),
    V: cpuData(v),
    group: a.heads / a.kvHeads,
    allowedKeys(b: number, h: number, i: number): Uint8Array {
      allowed.fill(0);
      const qb = Math.floor(i / a.blockQ);
      const row = (((lb === 1 ? 0 : b) * lh + (lh === 1 ? 0 : h)) * nqb + qb) * maxBlocks;
      for (let e = 0; e < maxBlocks; e++) {
        const kb = blocks[row + e];
        if (kb < 0 || kb >= nkb) continue; // padding (the public function rejects other out-of-range entries)
        for (let j = kb * a.blockK; j < Math.min(a.nk, (kb + 1) * a.blockK); j++) {
          if (a.causal && j > i + a.nk - a.nq) continue;
          if (mask && !mask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]) continue;
          allowed[j] = 1;
        }
      }
      return allowed;
    },
  };
}

registerKernel<BlockSparseAttrs>({
  op: 'sparse.blockForward',
  backend: 'cpu',
  run: (inputs, a) => {
    const q = inputs[0];
    const { Q, K, V, group, allowedKeys } = setup(inputs, a);
    const { headDim: d, valueDim: dv } = a;
    const rows = a.batch * a.nq * a.heads;
    const out = new Float64Array(rows * dv);
    const lse = new Float64Array(rows);
    const s = new Float64Array(a.nk);
    for (let b = 0; b < a.batch; b++) {
      for (let i = 0; i < a.nq; i++) {
        for (let h = 0; h < a.heads; h++) {
          const qr = (b * a.nq + i) * a.heads + h;
          const kh = Math.floor(h / group);
          const allowed = allowedKeys(b, h, i);
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < a.nk; j++) {
            if (!allowed[j]) continue;
            const kr = (b * a.nk + j) * a.kvHeads + kh;
            let dot = 0;
            for (let c = 0; c < d; c++) dot += Q[qr * d + c] * K[kr * d + c];
            s[j] = dot * a.scale;
            if (s[j] > m) m = s[j];
          }
          if (m === Number.NEGATIVE_INFINITY) {
            // No allowed key: out stays 0 and lse is -Infinity (defined, instead of NaN).
            lse[qr] = m;
            continue;
          }
          let l = 0;
          for (let j = 0; j < a.nk; j++) {
            if (!allowed[j]) continue;
            const p = Math.exp(s[j] - m);
            l += p;
            const vr = ((b * a.nk + j) * a.kvHeads + kh) * dv;
            for (let c = 0; c < dv; c++) out[qr * dv + c] += p * V[vr + c];
          }
          for (let c = 0; c < dv; c++) out[qr * dv + c] /= l;
          lse[qr] = m + Math.log(l);
        }
      }
    }
    return [
      cpuTensor(rounded(out, q), [a.batch, a.nq, a.heads, dv]),
      cpuTensor(rounded(lse, q), [a.batch, a.nq, a.heads]),
    ];
  },
});

registerKernel<BlockSparseAttrs>({
  op: 'sparse.blockBackward',
  backend: 'cpu',
  run: (inputs, a) => {
    const [q, k, v, , o, lse, gOut, gLse] = inputs;
    const { Q, K, V, group, allowedKeys } = setup(inputs, a);
    const { headDim: d, valueDim: dv, scale } = a;
    const O = cpuData(o);
    const L = cpuData(lse);
    const GO = cpuData(gOut);
    const GL = cpuData(gLse);
    const dq = new Float64Array(q.size);
    const dk = new Float64Array(k.size);
    const dvAcc = new Float64Array(v.size);
    for (let b = 0; b < a.batch; b++) {
      for (let i = 0; i < a.nq; i++) {
        for (let h = 0; h < a.heads; h++) {
          const qr = (b * a.nq + i) * a.heads + h;
          const lseI = L[qr];
          if (lseI === Number.NEGATIVE_INFINITY) continue; // attends nothing: no gradient
          const kh = Math.floor(h / group);
          const allowed = allowedKeys(b, h, i);
          // ds_j = p_j (gOut . v_j - gOut . out + gLse), since d lse / d s_j = p_j.
          let rowDot = 0;
          for (let c = 0; c < dv; c++) rowDot += GO[qr * dv + c] * O[qr * dv + c];
          for (let j = 0; j < a.nk; j++) {
            if (!allowed[j]) continue;
            const kr = (b * a.nk + j) * a.kvHeads + kh;
            let dot = 0;
            for (let c = 0; c < d; c++) dot += Q[qr * d + c] * K[kr * d + c];
            const p = Math.exp(dot * scale - lseI);
            let dp = 0;
            for (let c = 0; c < dv; c++) {
              dp += GO[qr * dv + c] * V[kr * dv + c];
              dvAcc[kr * dv + c] += p * GO[qr * dv + c];
            }
            const ds = p * (dp - rowDot + GL[qr]);
            for (let c = 0; c < d; c++) {
              dq[qr * d + c] += scale * ds * K[kr * d + c];
              dk[kr * d + c] += scale * ds * Q[qr * d + c];
            }
          }
        }
      }
    }
    return [
      cpuTensor(rounded(dq, q), q.shape),
      cpuTensor(rounded(dk, k), k.shape),
      cpuTensor(rounded(dvAcc, v), v.shape),
    ];
  },
});
