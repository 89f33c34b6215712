import { forwardBindings } from './bindings.js';
import { launchKernel, ROWS, simpleKvTiles, tileFor } from './common.js';
import type { ForwardKernel } from './variant.js';
import { listedKeyTiles, queryGrid, queryTileStart, THREAD_ROW } from './wgsl-walks.js';

// The simple forward of `sparse.blockForward` (see forward.ts for when it runs): flash-style attention over
// only the listed key blocks. One workgroup per (chunk of ROWS rows of one query block, head, batch), one thread
// per query row holding its query vector and output accumulator in registers. The workgroup walks the key blocks
// its query block lists (the same for all its threads); each block's keys and values are staged in workgroup
// memory in tiles and folded in with the online softmax (running max and sum per row). Causal workgroups skip
// blocks that start after their last row's limit. Rows with no allowed key end with out = 0 and lse = -Infinity.

const OP = 'sparse.blockForward';

/** Records the simple forward kernel writing `out` and `lse` (buffers of outputs already allocated). */
export const simpleForward: ForwardKernel = (kit, inputs, a, out, lse) => {
  const [q, k, v, kvBlocks] = inputs;
  const mask = a.hasMask ? inputs[4] : null;
  const T = tileFor(kit, a.headDim + a.valueDim, a.blockK);
  const chunks = Math.ceil(a.blockQ / ROWS);
  const bind = forwardBindings(kit, OP, inputs, mask, out, lse);
  const kv = simpleKvTiles(a, T, k, v);
  // Each tile: the row's scores, then the online softmax update of its running max, sum and output.
  const body = `if (valid) {
        var mt = neg_inf();
        for (var jj = 0u; jj < T; jj++) {
          let j = k0 + jj;
          var x = neg_inf();
          if (j < kEnd && allowed(b, h, i, j)) {
            var dot = 0.0;
            for (var c = 0u; c < D; c++) { dot += qv[c] * KS[jj * D + c]; }
            x = dot * SCALE;
          }
          s[jj] = x;
          mt = max(mt, x);
        }
        if (mt > neg_inf()) {
          let mn = max(m, mt);
          let alpha = select(exp(m - mn), 0.0, m == neg_inf());
          l *= alpha;
          for (var c = 0u; c < DV; c++) { acc[c] *= alpha; }
          for (var jj = 0u; jj < T; jj++) {
            if (s[jj] > neg_inf()) {
              let p = exp(s[jj] - mn);
              l += p;
              for (var c = 0u; c < DV; c++) { acc[c] += p * VS[jj * DV + c]; }
            }
          }
          m = mn;
        }
      }`;
  launchKernel(kit, OP, a, {
    name: 'sparseFwd',
    tensors: [q, k, v, kvBlocks, mask],
    tile: T,
    mask,
    bind,
    consts: { T, CH: chunks },
    shared: kv.shared,
    threads: ROWS,
    main: () => `${queryTileStart(`${ROWS}u`)}
  ${THREAD_ROW}
  var qv: array<f32, D>;
  for (var c = 0u; c < D; c++) { qv[c] = Q[${q.offset}u + qr * D + c]; }
  var acc: array<f32, DV>;
  var m = neg_inf();
  var l = 0.0;
  var s: array<f32, T>;
  ${listedKeyTiles(a, kvBlocks.offset, 'T', kv.stage, body)}
  if (valid) {
    let none = m == neg_inf();
    let inv = select(1.0 / l, 0.0, none);
    for (var c = 0u; c < DV; c++) { OUT[qr * DV + c] = acc[c] * inv; }
    LSE[qr] = select(m + log(l), neg_inf(), none);
  }`,
    groups: queryGrid(a, chunks),
  });
};
