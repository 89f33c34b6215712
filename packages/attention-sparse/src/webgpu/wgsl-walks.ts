import type { BlockSparseAttrs } from '../engine/defs.js';

// The WGSL skeletons that the simple and the tiled kernels share: how a workgroup finds its rows or keys on the
// grid, and how it walks the key blocks its query block lists (forward, dQ) or the query blocks that list its
// key block (dK/dV) in tiles staged in workgroup memory. Only what a kernel computes per tile differs, so the
// kernels pass that in; every kernel sees the same names (b, h, kh, qb/kb, first, ..., k0/i0, kEnd/qEnd).

/** The entry point's header, with the builtins `wid` and `lid` every kernel uses. */
export function mainHeader(threads: number): string {
  return `@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {`;
}

/** Workgroups of a kernel over query rows: (`chunks` per query block, heads, batch); see {@link queryTileStart}. */
export function queryGrid(a: BlockSparseAttrs, chunks: number): [number, number, number] {
  return [Math.ceil(a.nq / a.blockQ) * chunks, a.heads, a.batch];
}

/** Workgroups of a kernel over keys: (`chunks` per key block, kv heads, batch); see {@link keyTileStart}. */
export function keyGrid(a: BlockSparseAttrs, chunks: number): [number, number, number] {
  return [Math.ceil(a.nk / a.blockK) * chunks, a.kvHeads, a.batch];
}

/**
 * Start of a kernel over query rows: workgroup (x: chunk `wid.x % CH` of query block `qb`, y: head, z: batch)
 * holds rows `[first, last]` of `rows` (a WGSL expression) below `rowEnd`, and returns at once past its block.
 */
export function queryTileStart(rows: string): string {
  return `let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  let qb = wid.x / CH;
  let first = qb * BLQ + (wid.x % CH) * ${rows};
  let rowEnd = min(NQ, (qb + 1u) * BLQ);
  if (first >= rowEnd) { return; }
  let last = min(rowEnd, first + ${rows}) - 1u;`;
}

/**
 * The thread's query row `i` in the simple kernels (one thread per row, after {@link queryTileStart}): `valid`
 * below `rowEnd`, and its row index `qr`, clamped so that threads past the end still load in bounds.
 */
export const THREAD_ROW = `let i = first + lid.x;
  let valid = i < rowEnd;
  let qr = (b * NQ + min(i, NQ - 1u)) * H + h;`;

/**
 * Start of a kernel over keys: workgroup (x: chunk `wid.x % CH` of key block `kb`, y: kv head, z: batch) holds
 * `keys` (a WGSL expression) keys from `first` below `keyEnd`, and returns at once past its block.
 */
export function keyTileStart(keys: string): string {
  return `let b = wid.z;
  let kh = wid.y;
  let kb = wid.x / CH;
  let first = kb * BLK + (wid.x % CH) * ${keys};
  let keyEnd = min(NK, (kb + 1u) * BLK);
  if (first >= keyEnd) { return; }`;
}

/**
 * The walk of a query-row kernel over the key blocks its query block lists in KB (at `kbOffset`), skipping
 * padding and, when causal, blocks that start after the last row's limit; each block in tiles of `tile` keys
 * `[k0, min(k0 + tile, kEnd))`: `stage` fills workgroup memory, a barrier, `body`, a barrier.
 */
export function listedKeyTiles(
  a: BlockSparseAttrs,
  kbOffset: number,
  tile: string,
  stage: string,
  body: string,
): string {
  const skip = a.causal ? 'if (i32(kb) * i32(BLK) > i32(last) + OFF) { continue; }' : '';
  return `let row = layout_row(b, h, qb);
  for (var e = 0u; e < MB; e++) {
    let kb = KB[${kbOffset}u + row + e];
    if (kb < 0i || kb >= i32(NKB)) { continue; }
    ${skip}
    let kEnd = min(NK, (u32(kb) + 1u) * BLK);
    for (var k0 = u32(kb) * BLK; k0 < kEnd; k0 += ${tile}) {
      ${stage}
      workgroupBarrier();
      ${body}
      workgroupBarrier();
    }
  }`;
}

/**
 * The walk of a key kernel over the query heads `h` of its GQA group and, through the transposed layout QL,
 * the query blocks that list its key block, in ascending order, skipping (when causal) blocks whose last row's
 * limit lies before the workgroup's first key; each block in tiles of `tile` queries `[i0, min(i0 + tile,
 * qEnd))`: `stage` fills workgroup memory, a barrier, `body`, a barrier. The fixed order keeps sums repeatable.
 */
export function listingQueryTiles(a: BlockSparseAttrs, tile: string, stage: string, body: string): string {
  const [lb, lh] = a.layoutShape;
  const skip = a.causal
    ? 'if (i32(min(NQ, (u32(qb) + 1u) * BLQ)) - 1i + OFF < i32(first)) { continue; }'
    : '';
  return `for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    let qlRow = ((${lb === 1 ? '0u' : 'b'} * ${lh}u + ${lh === 1 ? '0u' : 'h'}) * NKB + kb) * NQB;
    for (var e = 0u; e < NQB; e++) {
      let qb = QL[qlRow + e];
      if (qb < 0i) { break; }
      ${skip}
      let qEnd = min(NQ, (u32(qb) + 1u) * BLQ);
      for (var i0 = u32(qb) * BLQ; i0 < qEnd; i0 += ${tile}) {
        ${stage}
        workgroupBarrier();
        ${body}
        workgroupBarrier();
      }
    }
  }`;
}

/**
 * Reads lse and delta of query row `i` of head `h` from the backward's packed rows P (`W` floats each, the two
 * after q and gOut) into `lv` and `dl`; rows at or past `end` get -inf and 0 (they add nothing).
 */
export function packedLseDelta(i: string, end: string): string {
  return `var lv = neg_inf();
    var dl = 0.0;
    if (${i} < ${end}) {
      let p = ((b * NQ + ${i}) * H + h) * W + D + DV;
      lv = P[p];
      dl = P[p + 1u];
    }`;
}
