import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { dkdvBindings, dqBindings } from './bindings.js';
import { kvRow, launchKernel, qRow } from './common.js';
import {
  loadColumns,
  microAccumulate,
  microDots,
  oddStride,
  pickMicroTile,
  stageTiled as stage,
  storeColumns,
  THREAD_GROUPS,
  TILED_WG,
} from './micro-tile.js';
import type { DkDvKernel, DqKernel } from './variant.js';
import {
  keyGrid,
  keyTileStart,
  listedKeyTiles,
  listingQueryTiles,
  packedLseDelta,
  queryGrid,
  queryTileStart,
} from './wgsl-walks.js';

// The register-tiled dK/dV and dQ kernels of `sparse.blockBackward` (see backward.ts for the whole backward and
// for when they run). Both use workgroups of 128 threads (16 x 8) that stage tiles in workgroup memory and give
// each thread a micro-tile of rows (tr + 16u) and columns (tc + 8w), as the tiled forward does; rows in
// workgroup memory have odd strides against bank conflicts. The packed rows P hold [q, gOut, lse, delta] per
// query row, delta = gOut . out - gLse, so that ds = p (gOut . v - delta) with p = exp(scale q . k - lse).
// Sums run in a fixed order (no atomics), so results are bitwise repeatable.

const OP = 'sparse.blockBackward';

/**
 * What both kernels size alike: the packed row width W, the odd strides DP and DVP of staged q/k and gOut/v rows,
 * XD output columns per thread of dK or dQ, and the micro-tile (`rowsCap`, `colsCap`: the block sizes along its
 * rows and columns) whose arrays fit: rows and columns of both q/k and gOut/v staged, and `more` floats.
 */
function tiling(
  kit: WebGPUKernelKit,
  a: BlockSparseAttrs,
  rowsCap: number,
  colsCap: number,
  more: (rows: number, cols: number) => number,
): { W: number; DP: number; DVP: number; XD: number; ru: number; ku: number } {
  const DP = oddStride(a.headDim);
  const DVP = oddStride(a.valueDim);
  const { ru, ku } = pickMicroTile(
    kit,
    OP,
    rowsCap,
    colsCap,
    (rows, cols) => rows * (DP + DVP) + cols * (DP + DVP) + more(rows, cols),
  );
  return { W: a.headDim + a.valueDim + 2, DP, DVP, XD: Math.ceil(a.headDim / 8), ru, ku };
}

/**
 * WGSL: the thread's micro-tile of both products the backward needs, s = q . k (over D) and g = gOut . v (over
 * DV), from the staged tiles (rows DP and DVP apart); the tile's rows are keys (dK/dV) or queries (dQ), its
 * columns the others.
 */
function products(ku: number, rowsAreKeys: boolean): string {
  const qk = [
    { tile: 'QS', name: 'q' },
    { tile: 'KS', name: 'k' },
  ];
  const gv = [
    { tile: 'GS', name: 'g' },
    { tile: 'VS', name: 'v' },
  ];
  if (rowsAreKeys) {
    qk.reverse();
    gv.reverse();
  }
  const dots = (len: string, stride: string, [row, col]: typeof qk, out: string) =>
    microDots({
      len,
      rowTile: row.tile,
      rowStride: stride,
      rowVar: `${row.name}v`,
      colTile: col.tile,
      colStride: stride,
      colVar: `${col.name}c`,
      ku,
      out,
    });
  return `for (var x = 0u; x < RU * KU; x++) { s[x] = 0.0; g[x] = 0.0; }
      ${dots('D', 'DP', qk, 's')}
      ${dots('DV', 'DVP', gv, 'g')}`;
}

/**
 * dK and dV: one workgroup per (tile of BN keys of one key block, kv head, batch), keys and values resident in
 * workgroup memory; it walks the group's query heads and, through the transposed layout QL, the query blocks
 * that list its key block, in tiles of TQ queries. Thread (tr, tc) computes p and ds for keys tr + 16u and
 * queries tc + 8w, then accumulates dV += p gOut and dK += ds q for its keys and columns tc + 8x.
 */
export const tiledDkDv: DkDvKernel = (kit, a, ins, mask, packed, ql, dk, dv) => {
  const [, k, v] = ins;
  // PS and SS [BN, TQ + 1], LQ and DL [TQ].
  const { W, DP, DVP, XD, ru, ku } = tiling(
    kit,
    a,
    a.blockK,
    a.blockQ,
    (bn, tq) => 2 * bn * (tq + 1) + 2 * tq,
  );
  const BN = 16 * ru;
  const TQ = 8 * ku;
  const XV = Math.ceil(a.valueDim / 8);
  const chunks = Math.ceil(a.blockK / BN);
  const bind = dkdvBindings(kit, OP, ins, mask, packed, ql, dk, dv);
  // Each query tile: q and gOut rows, and the rows' lse and delta, staged.
  const stageQ = `${stage('QS', 'P', 'D', TQ, 'i0', 'qEnd', qRow, 0, 'W', 'DP')}
        ${stage('GS', 'P', 'DV', TQ, 'i0', 'qEnd', qRow, 'D', 'W', 'DVP')}
        if (lid.x < TQ) {
          let i = i0 + lid.x;
          ${packedLseDelta('i', 'qEnd')}
          LQ[lid.x] = lv;
          DL[lid.x] = dl;
        }`;
  const body = `// Scores k . q and gOut . v of the micro-tile (keys tr + 16u, queries tc + 8w).
        ${products(ku, true)}
        for (var u = 0u; u < RU; u++) {
          let r = tr + 16u * u;
          let j = first + r;
          for (var w = 0u; w < KU; w++) {
            let qq = tc + 8u * w;
            let i = i0 + qq;
            var p = 0.0;
            var ds = 0.0;
            if (j < keyEnd && i < qEnd && LQ[qq] > neg_inf() && allowed(b, h, i, j)) {
              p = exp(s[u * KU + w] * SCALE - LQ[qq]);
              ds = p * (g[u * KU + w] - DL[qq]);
            }
            PS[r * TQP + qq] = p;
            SS[r * TQP + qq] = ds;
          }
        }
        workgroupBarrier();
        // dV += p gOut and dK += ds q over the tile's queries.
        for (var ii = 0u; ii < TQ; ii++) {
          ${loadColumns('gv', 'XV', XV, 'GS', 'ii', 'DVP', 'DV')}
          ${loadColumns('qv', 'XD', XD, 'QS', 'ii', 'DP', 'D')}
          for (var u = 0u; u < RU; u++) {
            let r = tr + 16u * u;
            let p = PS[r * TQP + ii];
            let ds = SS[r * TQP + ii];
            for (var x = 0u; x < XV; x++) { dv[u * XV + x] += p * gv[x]; }
            for (var x = 0u; x < XD; x++) { dk[u * XD + x] += ds * qv[x]; }
          }
        }`;
  launchKernel(kit, OP, a, {
    name: 'sparseDkDvTiled',
    tensors: [...ins, mask],
    tile: BN * 1000 + TQ,
    mask,
    bind,
    consts: { BN, TQ, TQP: TQ + 1, RU: ru, KU: ku, XD, XV, CH: chunks, W, DP, DVP },
    shared: {
      KS: BN * DP,
      VS: BN * DVP,
      QS: TQ * DP,
      GS: TQ * DVP,
      PS: BN * (TQ + 1),
      SS: BN * (TQ + 1),
      LQ: TQ,
      DL: TQ,
    },
    threads: TILED_WG,
    main: () => `${keyTileStart('BN')}
  ${THREAD_GROUPS}
  ${stage('KS', 'K', 'D', BN, 'first', 'keyEnd', kvRow, k.offset, 'D', 'DP')}
  ${stage('VS', 'V', 'DV', BN, 'first', 'keyEnd', kvRow, v.offset, 'DV', 'DVP')}
  var dk: array<f32, ${ru * XD}>;
  var dv: array<f32, ${ru * XV}>;
  var s: array<f32, ${ru * ku}>;
  var g: array<f32, ${ru * ku}>;
  ${listingQueryTiles(a, 'TQ', stageQ, body)}
  for (var u = 0u; u < RU; u++) {
    let j = first + tr + 16u * u;
    if (j < keyEnd) {
      let kr = (b * NK + j) * KVH + kh;
      ${storeColumns('DK', 'kr', 'D', 'dk', 'XD', 'SCALE')}
      ${storeColumns('DVO', 'kr', 'DV', 'dv', 'XV')}
    }
  }`,
    groups: keyGrid(a, chunks),
  });
};

/**
 * dQ: one workgroup per (tile of BM rows of one query block, head, batch), the forward's grid, with the rows'
 * q, gOut, lse and delta staged once; it walks the listed key blocks in tiles of TK keys. Thread (tr, tc) computes
 * ds for rows tr + 16u and keys tc + 8w, then accumulates dQ += ds k for its rows and columns tc + 8x.
 */
export const tiledDq: DqKernel = (kit, a, ins, mask, packed, dqBuf) => {
  const [, k, v, kvBlocks] = ins;
  // SS [BM, TK + 1], LR and DL [BM].
  const { W, DP, DVP, XD, ru, ku } = tiling(kit, a, a.blockQ, a.blockK, (bm, tk) => bm * (tk + 1) + 2 * bm);
  const BM = 16 * ru;
  const TK = 8 * ku;
  const chunks = Math.ceil(a.blockQ / BM);
  const bind = dqBindings(kit, OP, ins, mask, packed, dqBuf);
  const stageKv = `${stage('KS', 'K', 'D', TK, 'k0', 'kEnd', kvRow, k.offset, 'D', 'DP')}
      ${stage('VS', 'V', 'DV', TK, 'k0', 'kEnd', kvRow, v.offset, 'DV', 'DVP')}`;
  const accumulate = microAccumulate({
    t: 'jj',
    count: 'TK',
    tile: 'KS',
    stride: 'DP',
    dim: 'D',
    colVar: 'kc',
    xu: 'XD',
    xuValue: XD,
    weights: 'SS',
    wStride: 'TKP',
    weightVar: 'ds',
    acc: 'dq',
  });
  const body = `${products(ku, false)}
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        let i = first + r;
        for (var w = 0u; w < KU; w++) {
          let jj = tc + 8u * w;
          let j = k0 + jj;
          var ds = 0.0;
          if (i < rowEnd && j < kEnd && LR[r] > neg_inf() && allowed(b, h, i, j)) {
            ds = exp(s[u * KU + w] * SCALE - LR[r]) * (g[u * KU + w] - DL[r]);
          }
          SS[r * TKP + jj] = ds;
        }
      }
      workgroupBarrier();
      ${accumulate}`;
  launchKernel(kit, OP, a, {
    name: 'sparseDqTiled',
    tensors: [...ins, mask],
    tile: BM * 1000 + TK,
    mask,
    bind,
    consts: { BM, TK, TKP: TK + 1, RU: ru, KU: ku, XD, CH: chunks, W, DP, DVP },
    shared: {
      QS: BM * DP,
      GS: BM * DVP,
      KS: TK * DP,
      VS: TK * DVP,
      SS: BM * (TK + 1),
      LR: BM,
      DL: BM,
    },
    threads: TILED_WG,
    main: () => `${queryTileStart('BM')}
  ${THREAD_GROUPS}
  ${stage('QS', 'P', 'D', BM, 'first', 'rowEnd', qRow, 0, 'W', 'DP')}
  ${stage('GS', 'P', 'DV', BM, 'first', 'rowEnd', qRow, 'D', 'W', 'DVP')}
  if (lid.x < BM) {
    let i = first + lid.x;
    ${packedLseDelta('i', 'rowEnd')}
    LR[lid.x] = lv;
    DL[lid.x] = dl;
  }
  var dq: array<f32, ${ru * XD}>;
  var s: array<f32, ${ru * ku}>;
  var g: array<f32, ${ru * ku}>;
  ${listedKeyTiles(a, kvBlocks.offset, 'TK', stageKv, body)}
  for (var u = 0u; u < RU; u++) {
    let i = first + tr + 16u * u;
    if (i < rowEnd) {
      let qr = (b * NQ + i) * H + h;
      ${storeColumns('DQ', 'qr', 'D', 'dq', 'XD', 'SCALE')}
    }
  }`,
    groups: queryGrid(a, chunks),
  });
};
