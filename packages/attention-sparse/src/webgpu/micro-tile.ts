import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import { stageCode, workgroupFloats } from './common.js';

// What the register-tiled kernels (forward-tiled.ts, backward-tiled.ts) share: 128 threads as 16 row groups x 8
// column groups, thread (tr, tc) owning rows tr + 16u (u < RU) and columns tc + 8w (w < KU) of a micro-tile, or
// output columns tc + 8x (x < XU); the tile-size choice, and the WGSL loops of micro-tile products.

/** Threads per workgroup of the tiled kernels: 16 row groups x 8 column groups. */
export const TILED_WG = 128;

/** WGSL: the thread's row group `tr` and column group `tc`. */
export const THREAD_GROUPS = `let tr = lid.x / 8u;
  let tc = lid.x % 8u;`;

/**
 * An odd row stride of at least `n` floats: the threads of a warp reading one column of several rows of a
 * workgroup array then hit different banks.
 */
export const oddStride = (n: number): number => n | 1;

/**
 * The largest micro-tile (ru rows x ku columns per thread: tiles of 16 ru rows and 8 ku columns) whose
 * workgroup arrays (`floatsFor(rows, cols)` floats) fit, with no tile much longer than its block (`rowsCap`,
 * `colsCap`). The most multiply-adds per staged value first (largest ru * ku), then taller tiles.
 */
export function pickMicroTile(
  kit: WebGPUKernelKit,
  op: string,
  rowsCap: number,
  colsCap: number,
  floatsFor: (rows: number, cols: number) => number,
): { ru: number; ku: number } {
  const floats = workgroupFloats(kit, op);
  const rus = [4, 2, 1].filter((ru) => ru === 1 || 16 * ru <= rowsCap + 8 * ru);
  const kus = [4, 2, 1].filter((ku) => ku === 1 || 8 * ku <= colsCap + 4 * ku);
  const pairs = rus.flatMap((ru) => kus.map((ku) => ({ ru, ku })));
  pairs.sort((x, y) => y.ru * y.ku - x.ru * x.ku || y.ru - x.ru);
  return pairs.find(({ ru, ku }) => floatsFor(16 * ru, 8 * ku) <= floats) ?? { ru: 1, ku: 1 };
}

/** {@link stageCode} with the tiled kernels' 128 threads: rows `stride` apart in `src`, `dstStride` in `dst`. */
export function stageTiled(
  dst: string,
  src: string,
  width: string,
  rows: number,
  r0: string,
  lim: string,
  row: (r: string) => string,
  off: number | string,
  stride: string,
  dstStride: string,
): string {
  return stageCode(dst, src, width, rows, r0, lim, row, off, stride, TILED_WG, dstStride);
}

/** Names in a {@link microDots} loop: `out[u * KU + w] += rowTile[row u, c] * colTile[column w, c]`. */
export interface MicroDots {
  /** Length of the dot products (WGSL). */
  len: string;
  /** Workgroup array of the micro-tile's rows. */
  rowTile: string;
  /** Floats between its rows. */
  rowStride: string;
  /** Name of the row value in the loop. */
  rowVar: string;
  /** Workgroup array of the micro-tile's columns (one row each). */
  colTile: string;
  /** Floats between its rows. */
  colStride: string;
  /** Name of the register array of column values. */
  colVar: string;
  /** Its length: columns per thread. */
  ku: number;
  /** Register array `[RU * KU]` the products add to. */
  out: string;
}

/** WGSL: adds the thread's RU x KU dot products of staged rows and columns into `out` (one pass over `len`). */
export function microDots(m: MicroDots): string {
  return `for (var c = 0u; c < ${m.len}; c++) {
        var ${m.colVar}: array<f32, ${m.ku}>;
        for (var w = 0u; w < KU; w++) { ${m.colVar}[w] = ${m.colTile}[(tc + 8u * w) * ${m.colStride} + c]; }
        for (var u = 0u; u < RU; u++) {
          let ${m.rowVar} = ${m.rowTile}[(tr + 16u * u) * ${m.rowStride} + c];
          for (var w = 0u; w < KU; w++) { ${m.out}[u * KU + w] += ${m.rowVar} * ${m.colVar}[w]; }
        }
      }`;
}

/**
 * WGSL: `colVar[x]` = column tc + 8x of row `row` of workgroup array `tile` (rows `stride` apart), 0 from column
 * `dim` on (`xu`: the WGSL count of x, `xuValue` its value).
 */
export function loadColumns(
  colVar: string,
  xu: string,
  xuValue: number,
  tile: string,
  row: string,
  stride: string,
  dim: string,
): string {
  return `var ${colVar}: array<f32, ${xuValue}>;
        for (var x = 0u; x < ${xu}; x++) {
          let c = tc + 8u * x;
          ${colVar}[x] = select(0.0, ${tile}[${row} * ${stride} + min(c, ${dim} - 1u)], c < ${dim});
        }`;
}

/** Names in a {@link microAccumulate} loop: `acc[u, x] += weights[row u, t] * tile[t, column x]` over `t`. */
export interface MicroAccumulate {
  /** The loop index over the tile's rows. */
  t: string;
  /** Its bound (WGSL). */
  count: string;
  /** Workgroup array `[count, stride]` whose columns below `dim` are read. */
  tile: string;
  /** Floats between its rows (WGSL). */
  stride: string;
  /** Columns it holds (WGSL). */
  dim: string;
  /** Name of the register array of the thread's columns of a tile row. */
  colVar: string;
  /** Its length as a WGSL constant. */
  xu: string;
  /** Its length. */
  xuValue: number;
  /** Workgroup array of the weights, one row per micro-tile row. */
  weights: string;
  /** Floats between its rows (WGSL). */
  wStride: string;
  /** Name of a weight in the loop. */
  weightVar: string;
  /** Register array `[RU * xu]` accumulated into. */
  acc: string;
}

/** WGSL: adds the thread's rows of `weights x tile` (output columns tc + 8x) into its accumulator. */
export function microAccumulate(m: MicroAccumulate): string {
  return `for (var ${m.t} = 0u; ${m.t} < ${m.count}; ${m.t}++) {
        ${loadColumns(m.colVar, m.xu, m.xuValue, m.tile, m.t, m.stride, m.dim)}
        for (var u = 0u; u < RU; u++) {
          let ${m.weightVar} = ${m.weights}[(tr + 16u * u) * ${m.wStride} + ${m.t}];
          for (var x = 0u; x < ${m.xu}; x++) { ${m.acc}[u * ${m.xu} + x] += ${m.weightVar} * ${m.colVar}[x]; }
        }
      }`;
}

/**
 * WGSL: writes the thread's output columns tc + 8x (`< dim`) of micro-tile row u from register array `acc`
 * (`xu` per row), times `factor` when given, to row `row` of `dst`.
 */
export function storeColumns(
  dst: string,
  row: string,
  dim: string,
  acc: string,
  xu: string,
  factor?: string,
): string {
  const scaled = factor ? ` * ${factor}` : '';
  return `for (var x = 0u; x < ${xu}; x++) {
        let c = tc + 8u * x;
        if (c < ${dim}) { ${dst}[${row} * ${dim} + c] = ${acc}[u * ${xu} + x]${scaled}; }
      }`;
}
