import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { forwardBindings } from './bindings.js';
import { kvRow, launchKernel, qRow } from './common.js';
import {
  microAccumulate,
  microDots,
  oddStride,
  pickMicroTile,
  stageTiled as stage,
  storeColumns,
  THREAD_GROUPS,
  TILED_WG,
} from './micro-tile.js';
import type { ForwardKernel } from './variant.js';
import { listedKeyTiles, queryGrid, queryTileStart } from './wgsl-walks.js';

// The register-tiled forward of `sparse.blockForward` (see forward.ts for when it runs): flash-style attention
// over only the listed key blocks.
//
// One workgroup of 128 threads (16 x 8) per (tile of BM rows of one query block, head, batch). The query tile is
// staged once in workgroup memory. The workgroup walks the key blocks its query block lists (the same for all its
// threads), each in tiles of TK keys staged in workgroup memory, and for each tile:
// (a) scores: thread (tr, tc) computes rows tr + 16u and keys tc + 8w (a RU x KU micro-tile in registers, so
//     each staged value it loads feeds several multiply-adds), scales and masks them;
// (b) online softmax, in registers: the 8 threads of a row share their partial maxima (RM) and sums (RS) through
//     workgroup memory; each turns its scores into p = exp(s - new max), written to the tile PS, and computes the
//     factor that rescales what was accumulated before; thread tc = 0 keeps the row's running max MS and sum LS;
// (c) output: thread (tr, tc) rescales its accumulator (rows tr + 16u, value columns tc + 8x) and adds PS x V.
// Causal workgroups skip blocks that start after their last row's limit. Rows with no allowed key end with
// out = 0 and lse = -Infinity.

const OP = 'sparse.blockForward';

/**
 * The row and key tile sizes: the largest BM (rows, 16 x RU) and TK (keys, 8 x KU) that suit the block sizes
 * (no tile much longer than its block) and whose staged arrays fit in workgroup memory.
 */
function tiles(kit: WebGPUKernelKit, a: BlockSparseAttrs): { ru: number; ku: number } {
  const dp = oddStride(a.headDim);
  return pickMicroTile(
    kit,
    OP,
    a.blockQ,
    a.blockK,
    (bm, tk) => bm * dp + tk * (dp + a.valueDim) + bm * (tk + 1) + 18 * bm,
  );
}

/** Records the register-tiled forward kernel writing `out` and `lse` (buffers of outputs already allocated). */
export const tiledForward: ForwardKernel = (kit, inputs, a, out, lse) => {
  const [q, k, v, kvBlocks] = inputs;
  const mask = a.hasMask ? inputs[4] : null;
  const { ru, ku } = tiles(kit, a);
  const BM = 16 * ru;
  const TK = 8 * ku;
  const XU = Math.ceil(a.valueDim / 8);
  const DP = oddStride(a.headDim);
  const chunks = Math.ceil(a.blockQ / BM);
  const bind = forwardBindings(kit, OP, inputs, mask, out, lse);
  const stageKv = `${stage('KS', 'K', 'D', TK, 'k0', 'kEnd', kvRow, k.offset, 'D', 'DP')}
      ${stage('VS', 'V', 'DV', TK, 'k0', 'kEnd', kvRow, v.offset, 'DV', 'DV')}`;
  const scores = microDots({
    len: 'D',
    rowTile: 'QS',
    rowStride: 'DP',
    rowVar: 'qv',
    colTile: 'KS',
    colStride: 'DP',
    colVar: 'kc',
    ku,
    out: 's',
  });
  const accumulate = microAccumulate({
    t: 'jj',
    count: 'TK',
    tile: 'VS',
    stride: 'DV',
    dim: 'DV',
    colVar: 'vc',
    xu: 'XU',
    xuValue: XU,
    weights: 'PS',
    wStride: 'TKP',
    weightVar: 'p',
    acc: 'acc',
  });
  const body = `// (a) scores of the micro-tile.
      for (var x = 0u; x < RU * KU; x++) { s[x] = 0.0; }
      ${scores}
      for (var u = 0u; u < RU; u++) {
        let i = first + tr + 16u * u;
        var pm = neg_inf();
        for (var w = 0u; w < KU; w++) {
          let j = k0 + tc + 8u * w;
          var x = neg_inf();
          if (i < rowEnd && j < kEnd && allowed(b, h, i, j)) { x = s[u * KU + w] * SCALE; }
          s[u * KU + w] = x;
          pm = max(pm, x);
        }
        RM[(tr + 16u * u) * 8u + tc] = pm;
      }
      workgroupBarrier();
      // (b) online softmax: the row's new max from the 8 partial maxima, p into PS, partial sums into RS.
      var alpha: array<f32, ${ru}>;
      var mnew: array<f32, ${ru}>;
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        var mt = neg_inf();
        for (var t = 0u; t < 8u; t++) { mt = max(mt, RM[r * 8u + t]); }
        let mo = MS[r];
        let mn = max(mo, mt);
        // exp(-inf - -inf) is NaN: select() keeps such lanes out.
        alpha[u] = select(exp(mo - mn), 0.0, mo == neg_inf());
        mnew[u] = mn;
        var ps = 0.0;
        for (var w = 0u; w < KU; w++) {
          let x = s[u * KU + w];
          let p = select(exp(x - mn), 0.0, x == neg_inf());
          PS[r * TKP + tc + 8u * w] = p;
          ps += p;
        }
        RS[r * 8u + tc] = ps;
      }
      workgroupBarrier();
      // (c) rescale and accumulate P x V; thread tc = 0 of each row updates its running max and sum.
      for (var u = 0u; u < RU; u++) {
        let r = tr + 16u * u;
        for (var x = 0u; x < XU; x++) { acc[u * XU + x] *= alpha[u]; }
        if (tc == 0u) {
          var sum = 0.0;
          for (var t = 0u; t < 8u; t++) { sum += RS[r * 8u + t]; }
          LS[r] = LS[r] * alpha[u] + sum;
          MS[r] = mnew[u];
        }
      }
      ${accumulate}`;
  launchKernel(kit, OP, a, {
    name: 'sparseFwdTiled',
    tensors: [q, k, v, kvBlocks, mask],
    tile: BM * 1000 + TK,
    mask,
    bind,
    consts: { BM, TK, RU: ru, KU: ku, XU, CH: chunks, DP, TKP: TK + 1 },
    shared: {
      QS: BM * DP,
      KS: TK * DP,
      VS: TK * a.valueDim,
      PS: BM * (TK + 1),
      MS: BM,
      LS: BM,
      RM: BM * 8,
      RS: BM * 8,
    },
    threads: TILED_WG,
    main: () => `${queryTileStart('BM')}
  ${THREAD_GROUPS}
  ${stage('QS', 'Q', 'D', BM, 'first', 'rowEnd', qRow, q.offset, 'D', 'DP')}
  if (lid.x < BM) {
    MS[lid.x] = neg_inf();
    LS[lid.x] = 0.0;
  }
  // Rows whose query block lists nothing read MS and LS without passing another barrier.
  workgroupBarrier();
  var acc: array<f32, ${ru * XU}>;
  var s: array<f32, ${ru * ku}>;
  ${listedKeyTiles(a, kvBlocks.offset, 'TK', stageKv, body)}
  for (var u = 0u; u < RU; u++) {
    let r = tr + 16u * u;
    let i = first + r;
    if (i < rowEnd) {
      let qr = (b * NQ + i) * H + h;
      let ls = LS[r];
      let inv = select(1.0 / ls, 0.0, ls == 0.0);
      ${storeColumns('OUT', 'qr', 'DV', 'acc', 'XU', 'inv')}
      if (tc == 0u) { LSE[qr] = select(MS[r] + log(ls), neg_inf(), ls == 0.0); }
    }
  }`,
    groups: queryGrid(a, chunks),
  });
};
