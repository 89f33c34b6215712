/**
 * The register-blocked tile loop shared by the GEMM-shaped kernels (matmul, and conv2d as an implicit GEMM):
 * a workgroup of wgx x wgy threads computes a tm x tn block of the output, each thread rm x rn outputs,
 * staging tk-deep slices of both operands in workgroup memory. Keeping it in one place means a tuning change
 * (tile sizes, load order, subgroups) reaches every kernel built on it.
 *
 * Tiles are held as vec4s, and a thread's outputs come in runs of 4 rows and 4 columns (rows
 * `u * 4 * wgy + 4 * lid.y + t`, columns `w * 4 * wgx + 4 * lid.x + t`): each step of the reduction reads its
 * operands with one 16-byte shared load per 4 values, so the inner loop is bound by multiply-adds rather than by
 * shared-memory loads, and neighbouring threads read neighbouring vec4s.
 */

/** A tile configuration. */
export interface GemmTile {
  /** Output rows per workgroup. */
  readonly tm: number;
  /** Output columns per workgroup. */
  readonly tn: number;
  /** Depth of one staged slice of the reduction axis. */
  readonly tk: number;
  /** Threads per workgroup along columns. */
  readonly wgx: number;
  /** Threads per workgroup along rows. */
  readonly wgy: number;
}

/** 32 x 32 outputs by 64 threads, 4 x 4 each: small problems, where more workgroups beat bigger tiles. */
export const SMALL_TILE: GemmTile = { tm: 32, tn: 32, tk: 16, wgx: 8, wgy: 8 };
/** 64 x 64 by 256 threads, 4 x 4 each (the shape of the platform probe's kernel). */
export const MEDIUM_TILE: GemmTile = { tm: 64, tn: 64, tk: 16, wgx: 16, wgy: 16 };
/** 128 x 128 by 256 threads, 8 x 8 each: the most reuse per loaded word, for large problems. */
export const LARGE_TILE: GemmTile = { tm: 128, tn: 128, tk: 8, wgx: 16, wgy: 16 };

/**
 * The tile for an m x n output (per batch item, `count` of them): the largest whose workgroups still fill a
 * big GPU (a few hundred of them), within the adapter's invocation limit.
 */
export function gemmTileFor(m: number, n: number, count: number, maxInvocations: number): GemmTile {
  const groups = (t: GemmTile) => Math.ceil(m / t.tm) * Math.ceil(n / t.tn) * count;
  for (const t of [LARGE_TILE, MEDIUM_TILE]) {
    if (t.wgx * t.wgy <= maxInvocations && m >= t.tm && n >= t.tn && groups(t) >= 256) return t;
  }
  return SMALL_TILE;
}

/** A stable cache-key fragment of a tile. */
export const tileKey = (t: GemmTile) => `${t.tm}x${t.tn}x${t.tk}/${t.wgx}x${t.wgy}`;

/** Row stride of a staged tile in floats: padded by 4, so column-wise stores hit distinct banks. */
const stride = (w: number) => w + 4;

/** WGSL declarations of the two workgroup tiles the loop fills (vec4s, rows of `stride / 4`). */
export function gemmTilesWgsl(t: GemmTile): string {
  return `var<workgroup> TileA: array<vec4<f32>, ${(t.tk * stride(t.tm)) / 4}>;
var<workgroup> TileB: array<vec4<f32>, ${(t.tk * stride(t.tn)) / 4}>;`;
}

/** How the loop walks an operand while staging it: along the reduction axis (`k`) or along rows/columns. */
export interface GemmLoadOrder {
  /**
   * Consecutive threads load consecutive reduction indices of A (right when A is stored row-major, `[m, k]`,
   * so the reads coalesce). Default: consecutive rows (A stored `[k, m]`, or gathered).
   */
  aAlongK?: boolean;
  /** Consecutive threads load consecutive reduction indices of B (B stored `[n, k]`). Default: columns. */
  bAlongK?: boolean;
}

/**
 * WGSL statements that declare `acc` (rm rows of rn / 4 vec4s per thread, rm = tm / wgy, rn = tn / wgx) and
 * accumulate it over a reduction of length `k`. `loadA(row, p)` and `loadB(p, col)` give WGSL expressions
 * reading the operands (zero outside them). The statements expect `row0`, `col0` (the block's origin) and `lid`
 * in scope.
 */
export function gemmMainLoop(
  t: GemmTile,
  k: number,
  loadA: (row: string, p: string) => string,
  loadB: (p: string, col: string) => string,
  order: GemmLoadOrder = {},
): string {
  const threads = t.wgx * t.wgy;
  const rm = t.tm / t.wgy;
  const rn4 = t.tn / t.wgx / 4;
  const sa = stride(t.tm);
  const sb = stride(t.tn);
  // Index pairs (row-or-col, p) of the element a thread stages, for either walking order.
  const aIdx = order.aAlongK ? [`idx / ${t.tk}u`, `idx % ${t.tk}u`] : [`idx % ${t.tm}u`, `idx / ${t.tm}u`];
  const bIdx = order.bAlongK ? [`idx / ${t.tk}u`, `idx % ${t.tk}u`] : [`idx % ${t.tn}u`, `idx / ${t.tn}u`];
  return `let tid = lid.y * ${t.wgx}u + lid.x;
  var acc: array<array<vec4<f32>, ${rn4}>, ${rm}>;
  for (var k0 = 0u; k0 < ${k}u; k0 += ${t.tk}u) {
    for (var q = 0u; q < ${(t.tm * t.tk) / threads}u; q++) {
      let idx = tid + q * ${threads}u;
      let ar = ${aIdx[0]};
      let ap = ${aIdx[1]};
      TileA[ap * ${sa / 4}u + ar / 4u][ar % 4u] = ${loadA(`row0 + ar`, `k0 + ap`)};
    }
    for (var q = 0u; q < ${(t.tn * t.tk) / threads}u; q++) {
      let idx = tid + q * ${threads}u;
      let bc = ${bIdx[0]};
      let bp = ${bIdx[1]};
      TileB[bp * ${sb / 4}u + bc / 4u][bc % 4u] = ${loadB(`k0 + bp`, `col0 + bc`)};
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${t.tk}u; kk++) {
      var bv: array<vec4<f32>, ${rn4}>;
      for (var w = 0u; w < ${rn4}u; w++) { bv[w] = TileB[kk * ${sb / 4}u + w * ${t.wgx}u + lid.x]; }
      for (var u = 0u; u < ${rm / 4}u; u++) {
        let av = TileA[kk * ${sa / 4}u + u * ${t.wgy}u + lid.y];
        for (var e = 0u; e < 4u; e++) {
          let a = av[e];
          for (var w = 0u; w < ${rn4}u; w++) { acc[u * 4u + e][w] = fma(vec4<f32>(a), bv[w], acc[u * 4u + e][w]); }
        }
      }
    }
    workgroupBarrier();
  }`;
}

/**
 * WGSL that visits a thread's outputs: `store(row, col, value)` gives the statements for output `(row, col)`
 * (bounds are the caller's to check), with `row`/`col` WGSL expressions and `value` the accumulator.
 */
export function gemmStore(t: GemmTile, store: (row: string, col: string, value: string) => string): string {
  const rm = t.tm / t.wgy;
  const rn4 = t.tn / t.wgx / 4;
  return `for (var r = 0u; r < ${rm}u; r++) {
    let orow = row0 + (r / 4u) * ${4 * t.wgy}u + lid.y * 4u + r % 4u;
    for (var w = 0u; w < ${rn4}u; w++) {
      for (var e = 0u; e < 4u; e++) {
        let ocol = col0 + w * ${4 * t.wgx}u + lid.x * 4u + e;
        ${store('orow', 'ocol', 'acc[r][w][e]')}
      }
    }
  }`;
}
