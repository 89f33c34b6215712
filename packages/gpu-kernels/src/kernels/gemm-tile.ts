/**
 * The register-blocked tile loop shared by the GEMM-shaped kernels (matmul, and conv2d as an implicit GEMM):
 * a workgroup of WG x WG threads computes a TM x TN block of the output, each thread an RB x RB sub-block,
 * staging TK-deep slices of both operands in workgroup memory. Keeping it in one place means a tuning change
 * (tile sizes, vector loads, subgroups) reaches every kernel built on it.
 */

/** Output rows per workgroup. */
export const TM = 32;
/** Output columns per workgroup. */
export const TN = 32;
/** Depth of one staged slice of the reduction axis. */
export const TK = 16;
/** Threads per workgroup side. */
export const WG = 8;
/** Output rows and columns per thread. */
export const RB = TM / WG;

/** WGSL declarations of the two workgroup tiles the loop fills. */
export const GEMM_TILES_WGSL = `var<workgroup> TileA: array<f32, ${TK * TM}>;
var<workgroup> TileB: array<f32, ${TK * TN}>;`;

/**
 * WGSL statements that declare `acc` (RB x RB per thread) and accumulate it over a reduction of length `k`.
 * `loadA(row, p)` and `loadB(p, col)` give WGSL expressions reading the operands (zero outside them). The
 * statements expect `row0`, `col0` (the block's origin) and `lid` (local invocation id) in scope.
 */
export function gemmMainLoop(
  k: number,
  loadA: (row: string, p: string) => string,
  loadB: (p: string, col: string) => string,
): string {
  return `let tid = lid.y * ${WG}u + lid.x;
  var acc: array<array<f32, ${RB}>, ${RB}>;
  for (var k0 = 0u; k0 < ${k}u; k0 += ${TK}u) {
    for (var q = 0u; q < ${(TM * TK) / (WG * WG)}u; q++) {
      let idx = tid + q * ${WG * WG}u;
      TileA[idx] = ${loadA(`row0 + idx % ${TM}u`, `k0 + idx / ${TM}u`)};
      TileB[idx] = ${loadB(`k0 + idx / ${TN}u`, `col0 + idx % ${TN}u`)};
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var av: array<f32, ${RB}>;
      var bv: array<f32, ${RB}>;
      for (var r = 0u; r < ${RB}u; r++) {
        av[r] = TileA[kk * ${TM}u + lid.y * ${RB}u + r];
        bv[r] = TileB[kk * ${TN}u + lid.x * ${RB}u + r];
      }
      for (var r = 0u; r < ${RB}u; r++) {
        for (var c = 0u; c < ${RB}u; c++) { acc[r][c] = fma(av[r], bv[c], acc[r][c]); }
      }
    }
    workgroupBarrier();
  }`;
}
