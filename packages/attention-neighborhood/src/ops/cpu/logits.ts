// The logits of one query row over its neighbor slots and the extra keys, shared by the fused forward and
// backward CPU kernels so that both see exactly the same scores.
import { cpuData, type Tensor, type TypedArray } from '@attnkit/core';
import { fillNeighbors, type WindowGeometry } from '../../window/window.js';
import type { NeighborhoodAttrs } from '../defs.js';
import { type Dims, dimsOf, dot, geometryOf } from './layout.js';

/** The fused ops' inputs, read once, and a function filling one row of logits. */
export interface FusedRows {
  q: Dims;
  kvHeads: number;
  valueDim: number;
  geometry: WindowGeometry;
  Q: TypedArray;
  K: TypedArray;
  V: TypedArray;
  rpb: TypedArray | null;
  extraK: TypedArray | null;
  extraV: TypedArray | null;
  /** Neighbor slots (flat key token, -1 if masked) of the query last passed to `neighbors`. */
  keys: Int32Array;
  /** Bias indices of the query last passed to `neighbors`. */
  bias: Int32Array;
  /** Loads the neighbor and bias slots of the query at flat token `i`. */
  neighbors(i: number): void;
  /**
   * Fills `s` (length `numSlots + numExtra`) with the logits of query row `qr` (head `h`, batch `b`) for the
   * neighbors last loaded: masked slots -Infinity. Returns the maximum.
   */
  logits(b: number, h: number, qr: number, s: Float64Array): number;
  /** Row of key token `m` (batch `b`, kv head `kh`) in k and v. */
  kvRow(b: number, m: number, kh: number): number;
  /** Row of extra key `e` (batch `b`, kv head `kh`) in extraK and extraV. */
  extraRow(b: number, e: number, kh: number): number;
}

/** Reads `[q, k, v, (rpb), (extraK, extraV)]` (after any other inputs have been split off). */
export function fusedRows(q: Tensor, k: Tensor, v: Tensor, rest: Tensor[], a: NeighborhoodAttrs): FusedRows {
  const qd = dimsOf(q);
  const kvHeads = k.shape[k.rank - 2];
  const geometry = geometryOf(qd.tokens, a);
  const Q = cpuData(q);
  const K = cpuData(k);
  const rpb = a.hasRpb ? cpuData(rest[0]) : null;
  const extraK = a.numExtra > 0 ? cpuData(rest[a.hasRpb ? 1 : 0]) : null;
  const extraV = a.numExtra > 0 ? cpuData(rest[a.hasRpb ? 2 : 1]) : null;
  const keys = new Int32Array(geometry.numSlots);
  const bias = new Int32Array(geometry.numSlots);
  const { numSlots, numTokens, biasSize } = geometry;
  const d = qd.dim;
  const kvRow = (b: number, m: number, kh: number) => (b * numTokens + m) * kvHeads + kh;
  const extraRow = (b: number, e: number, kh: number) => (b * a.numExtra + e) * kvHeads + kh;
  const group = qd.heads / kvHeads;
  return {
    q: qd,
    kvHeads,
    valueDim: v.shape[v.rank - 1],
    geometry,
    Q,
    K,
    V: cpuData(v),
    rpb,
    extraK,
    extraV,
    keys,
    bias,
    neighbors: (i) => fillNeighbors(geometry, i, keys, bias),
    kvRow,
    extraRow,
    logits(b, h, qr, s) {
      const kh = Math.floor(h / group);
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < numSlots; j++) {
        const m = keys[j];
        if (m < 0) {
          s[j] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let x = a.scale * dot(Q, qr * d, K, kvRow(b, m, kh) * d, d);
        if (rpb) x += rpb[h * biasSize + bias[j]];
        s[j] = x;
        if (x > max) max = x;
      }
      for (let e = 0; e < a.numExtra; e++) {
        const x = a.scale * dot(Q, qr * d, extraK!, extraRow(b, e, kh) * d, d);
        s[numSlots + e] = x;
        if (x > max) max = x;
      }
      return max;
    },
  };
}
