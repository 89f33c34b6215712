// The HaloNet primitive and its backward: attributes, op definitions and CPU kernels (plain float64 loops over
// each query's window; padded positions are logit-0, value-0 keys).
import { cpuData, defineOp, type OpDef, registerKernel, runOp, type Tensor } from '@attnkit/core';
import { output } from '../ops/cpu/layout.js';
import { haloKeys } from './window.js';

/** Attributes of `neighborhood.halo` and `neighborhood.haloBackward`. */
export interface HaloAttrs {
  /** Block size per token axis. */
  blockSize: number[];
  /** Halo per token axis. */
  halo: number[];
  /** Logits are `scale * q . k`. */
  scale: number;
}

/** `neighborhood.haloBackward`: inputs `[q, k, v, out, lse, dOut]`, outputs `[dq, dk, dv]`. */
export const haloBackwardOp: OpDef<HaloAttrs> = defineOp<HaloAttrs>({ name: 'neighborhood.haloBackward' });

/**
 * `neighborhood.halo`: inputs `[q, k, v]` (`[batch, ...tokens, heads|kvHeads, dim]`), outputs `[out, lse]`.
 * Its gradient (of `out`) runs `neighborhood.haloBackward`.
 */
export const haloOp: OpDef<HaloAttrs> = defineOp<HaloAttrs>({
  name: 'neighborhood.halo',
  vjp: ([gOut], [q, k, v], [out, lse], a) => runOp(haloBackwardOp, [q, k, v, out, lse, gOut!], a),
});

/** Reads the inputs and yields, per query row, its window and logits. */
function rows(q: Tensor, k: Tensor, v: Tensor, a: HaloAttrs) {
  const tokens = q.shape.slice(1, -2);
  const batch = q.shape[0];
  const heads = q.shape[q.rank - 2];
  const d = q.shape[q.rank - 1];
  const kvHeads = k.shape[k.rank - 2];
  const dv = v.shape[v.rank - 1];
  const n = tokens.reduce((x, y) => x * y, 1);
  const slots = a.blockSize.reduce((x, b, i) => x * (b + 2 * a.halo[i]), 1);
  const Q = cpuData(q);
  const K = cpuData(k);
  return {
    tokens,
    batch,
    heads,
    d,
    dv,
    n,
    slots,
    Q,
    K,
    V: cpuData(v),
    kvRow: (b: number, m: number, h: number) => (b * n + m) * kvHeads + Math.floor(h / (heads / kvHeads)),
    /** Logits of query row `qr` over `keys` into `s` (0 for padding); returns the maximum. */
    logits(b: number, h: number, qr: number, keys: Int32Array, s: Float64Array): number {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < keys.length; j++) {
        let x = 0;
        if (keys[j] >= 0) {
          const kr = (b * n + keys[j]) * kvHeads + Math.floor(h / (heads / kvHeads));
          for (let c = 0; c < d; c++) x += Q[qr * d + c] * K[kr * d + c];
          x *= a.scale;
        }
        s[j] = x;
        if (x > max) max = x;
      }
      return max;
    },
  };
}

registerKernel<HaloAttrs>({
  op: 'neighborhood.halo',
  backend: 'cpu',
  run: ([q, k, v], a) => {
    const r = rows(q, k, v, a);
    const out = new Float64Array(r.batch * r.n * r.heads * r.dv);
    const lse = new Float64Array(r.batch * r.n * r.heads);
    const s = new Float64Array(r.slots);
    for (let i = 0; i < r.n; i++) {
      const keys = haloKeys(r.tokens, a, i);
      for (let b = 0; b < r.batch; b++) {
        for (let h = 0; h < r.heads; h++) {
          const qr = (b * r.n + i) * r.heads + h;
          const max = r.logits(b, h, qr, keys, s);
          let total = 0;
          for (let j = 0; j < keys.length; j++) {
            const p = Math.exp(s[j] - max);
            total += p;
            if (keys[j] < 0) continue; // padding: value 0
            const vr = r.kvRow(b, keys[j], h) * r.dv;
            for (let c = 0; c < r.dv; c++) out[qr * r.dv + c] += p * r.V[vr + c];
          }
          for (let c = 0; c < r.dv; c++) out[qr * r.dv + c] /= total;
          lse[qr] = max + Math.log(total);
        }
      }
    }
    const lead = q.shape.slice(0, -1);
    return [output(out, q.dtype, [...lead, r.dv]), output(lse, q.dtype, lead)];
  },
});

registerKernel<HaloAttrs>({
  op: 'neighborhood.haloBackward',
  backend: 'cpu',
  run: ([q, k, v, o, lse, dOut], a) => {
    const r = rows(q, k, v, a);
    const O = cpuData(o);
    const L = cpuData(lse);
    const G = cpuData(dOut);
    const dq = new Float64Array(q.size);
    const dk = new Float64Array(k.size);
    const dvAcc = new Float64Array(v.size);
    const s = new Float64Array(r.slots);
    const { d, dv } = r;
    for (let i = 0; i < r.n; i++) {
      const keys = haloKeys(r.tokens, a, i);
      for (let b = 0; b < r.batch; b++) {
        for (let h = 0; h < r.heads; h++) {
          const qr = (b * r.n + i) * r.heads + h;
          r.logits(b, h, qr, keys, s);
          let rowDot = 0;
          for (let c = 0; c < dv; c++) rowDot += G[qr * dv + c] * O[qr * dv + c];
          for (let j = 0; j < keys.length; j++) {
            if (keys[j] < 0) continue; // padding has no inputs to differentiate
            const p = Math.exp(s[j] - L[qr]);
            const kr = r.kvRow(b, keys[j], h);
            let dp = 0;
            for (let c = 0; c < dv; c++) {
              dp += G[qr * dv + c] * r.V[kr * dv + c];
              dvAcc[kr * dv + c] += p * G[qr * dv + c];
            }
            const ds = p * (dp - rowDot);
            for (let c = 0; c < d; c++) {
              dq[qr * d + c] += a.scale * ds * r.K[kr * d + c];
              dk[kr * d + c] += a.scale * ds * r.Q[qr * d + c];
            }
          }
        }
      }
    }
    return [output(dq, q.dtype, q.shape), output(dk, q.dtype, k.shape), output(dvAcc, q.dtype, v.shape)];
  },
});
