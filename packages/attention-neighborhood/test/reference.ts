// A dense float64 oracle for the tests: softmax attention over every key with the brute-force NATTEN mask
// (the product of the per-axis reference masks), the relative bias by the spec's formula, GQA and extra keys.
// It shares nothing with src/ but the layout.
import type { Tensor } from '@attnkit/core';
import { referenceMask } from './brute-force.js';

/** Window parameters per axis, as plain arrays. */
export interface Win {
  kernelSize: number[];
  dilation: number[];
  stride: number[];
  causal: boolean[];
}

/** Row-major coordinates of flat index `x` in `tokens`. */
export function coordsOf(tokens: readonly number[], x: number): number[] {
  const c: number[] = [];
  for (let a = tokens.length - 1; a >= 0; a--) {
    c[a] = x % tokens[a];
    x = Math.floor(x / tokens[a]);
  }
  return c;
}

/** `mask[q][key]` over flat token indices: the product of the per-axis reference masks. */
export function bruteMask(tokens: readonly number[], w: Win): boolean[][] {
  const per = tokens.map((n, a) =>
    referenceMask(n, w.kernelSize[a], w.stride[a], w.dilation[a], w.causal[a]),
  );
  const total = tokens.reduce((x, y) => x * y, 1);
  const coords = Array.from({ length: total }, (_, i) => coordsOf(tokens, i));
  return coords.map((qc) => coords.map((kc) => kc.every((c, a) => per[a][qc[a]][c])));
}

/** Dense masked attention in float64: returns `out` `[B, N, H, Dv]` and `lse` `[B, N, H]` flat. */
export function denseReference(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  w: Win,
  o: { scale?: number; rpb?: Tensor; extraK?: Tensor; extraV?: Tensor } = {},
): { out: Float64Array; lse: Float64Array } {
  const tokens = q.shape.slice(1, -2);
  const [B, H, D] = [q.shape[0], q.shape[q.rank - 2], q.shape[q.rank - 1]];
  const KH = k.shape[k.rank - 2];
  const Dv = v.shape[v.rank - 1];
  const N = tokens.reduce((x, y) => x * y, 1);
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const Q = q.to('cpu').dataSync();
  const K = k.to('cpu').dataSync();
  const V = v.to('cpu').dataSync();
  const R = o.rpb?.to('cpu').dataSync();
  const EK = o.extraK?.to('cpu').dataSync();
  const EV = o.extraV?.to('cpu').dataSync();
  const E = o.extraK ? o.extraK.shape[1] : 0;
  const mask = bruteMask(tokens, w);
  const spans = w.kernelSize.map((x) => 2 * x - 1);
  const out = new Float64Array(B * N * H * Dv);
  const lse = new Float64Array(B * N * H);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++)
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / KH));
        const qo = ((b * N + i) * H + h) * D;
        const logits: number[] = [];
        const vals: number[] = [];
        const qc = coordsOf(tokens, i);
        for (let j = 0; j < N; j++) {
          if (!mask[i][j]) continue;
          const ko = ((b * N + j) * KH + kh) * D;
          let s = 0;
          for (let c = 0; c < D; c++) s += Q[qo + c] * K[ko + c];
          s *= scale;
          if (R) {
            const kc = coordsOf(tokens, j);
            let idx = h;
            for (let a = 0; a < tokens.length; a++) {
              idx = idx * spans[a] + (kc[a] - qc[a]) / w.dilation[a] + w.kernelSize[a] - 1;
            }
            s += R[idx];
          }
          logits.push(s);
          vals.push(((b * N + j) * KH + kh) * Dv);
        }
        for (let e = 0; e < E; e++) {
          const ko = ((b * E + e) * KH + kh) * D;
          let s = 0;
          for (let c = 0; c < D; c++) s += Q[qo + c] * EK![ko + c];
          logits.push(s * scale);
          vals.push(-1 - ((b * E + e) * KH + kh) * Dv);
        }
        const m = Math.max(...logits);
        let tot = 0;
        const p = logits.map((s) => {
          const x = Math.exp(s - m);
          tot += x;
          return x;
        });
        const oo = ((b * N + i) * H + h) * Dv;
        p.forEach((x, t) => {
          const src = vals[t] >= 0 ? V : EV!;
          const off = vals[t] >= 0 ? vals[t] : -1 - vals[t];
          for (let c = 0; c < Dv; c++) out[oo + c] += (x / tot) * src[off + c];
        });
        lse[(b * N + i) * H + h] = m + Math.log(tot);
      }
  return { out, lse };
}
