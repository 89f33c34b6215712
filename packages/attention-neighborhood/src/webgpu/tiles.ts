// How the fused kernels cut the token grid into workgroups. A workgroup takes a box of tokens of one dilation
// group per axis (consecutive in group coordinates), so the keys its queries see (or, in the dK/dV kernel, the
// queries its keys are seen by) form one box too: the haloed tile, staged chunk by chunk in workgroup memory.
import type { Tensor } from '@attnkit/core';
import { kitOf } from './bindings.js';
import type { Geometry } from './geometry.js';

/** The tuning of the fused kernels. */
export interface FusedTuning {
  /** Threads of a fused workgroup, one per token of its tile (a multiple of 32). */
  threads: number;
  /**
   * Most rows staged per chunk (fewer when the head dims would overflow workgroup memory): 64 rows of d32 keys
   * and values take 18 KiB, which leaves room for several workgroups per multiprocessor.
   */
  maxChunk: number;
}

const DEFAULT_TUNING: FusedTuning = { threads: 64, maxChunk: 64 };
let tuning: FusedTuning = { ...DEFAULT_TUNING };

/**
 * Sets the tuning of the fused kernels (the GPU benchmark sweeps it; pipelines are cached per tuning), or
 * restores the defaults when called without arguments. Not part of the package's API.
 */
export function setFusedTuning(t: Partial<FusedTuning> = {}): void {
  tuning = { ...DEFAULT_TUNING, ...t };
}
/** Largest head dims: each thread keeps vectors of these sizes in registers. */
export const MAX_DIM = 256;

function pow2ceil(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** The tile shape (tokens per axis, group coordinates) and the number of tiles per axis. */
export interface Tiling {
  /** Threads per workgroup. */
  threads: number;
  tile: [number, number, number];
  counts: [number, number, number];
  /** Workgroups along x: the product of `counts`. */
  total: number;
}

/**
 * Tiles of at most `threads` tokens (see {@link FusedTuning}): the last axis first (32 wide on 2-D and 3-D grids, so a 32-wide
 * SIMD group shares its window on the other axes), then the others. Each dilation group gets its own tiles.
 */
export function tilingOf(g: Geometry): Tiling {
  const m = g.axes.map((a) => Math.ceil(a.n / a.d));
  const multi = m[0] * m[1] > 1;
  const threads = tuning.threads;
  const t2 = Math.min(pow2ceil(m[2]), multi ? 32 : threads);
  const t1 = Math.min(pow2ceil(m[1]), threads / t2);
  const t0 = Math.min(pow2ceil(m[0]), threads / (t2 * t1));
  const tile: [number, number, number] = [t0, t1, t2];
  const counts = g.axes.map((a, i) => a.d * Math.ceil(m[i] / tile[i])) as [number, number, number];
  return { threads, tile, counts, total: counts[0] * counts[1] * counts[2] };
}

/**
 * Rows of `perRow` floats (padded strides included) staged per chunk, within the device's workgroup memory
 * (each row also takes one u32 of the row-token array, see {@link chunkDecls}).
 */
export function chunkRows(t: Tensor, op: string, perRow: number): number {
  const words = Math.floor(kitOf(t).info(op).maxComputeWorkgroupStorageSize / 4);
  return Math.max(1, Math.min(tuning.maxChunk, Math.floor(words / (perRow + 1))));
}

/** Whether the grid of `total` tiles by `heads` by `batch` workgroups fits the device. */
export function gridFits(t: Tensor, op: string, total: number, heads: number, batch: number): boolean {
  const max = kitOf(t).info(op).maxComputeWorkgroupsPerDimension;
  return total <= max && heads <= max && batch <= max;
}

/**
 * WGSL for the start of a fused kernel's entry point: the workgroup's tile (`g0..g2` dilation groups, `base0..`
 * first group coordinates, `ng0..` group lengths; the whole workgroup returns when its tile is empty), and this
 * thread's token (`ip0..` group coordinates clamped into the grid, `valid` when inside, `tok` its flat index).
 */
export function tileCode(t: Tiling): string {
  const [t0, t1, t2] = t.tile;
  const [, n1, n2] = t.counts;
  return /* wgsl */ `
  let tx2 = wid.x % ${n2}u;
  let tx1 = (wid.x / ${n2}u) % ${n1}u;
  let tx0 = wid.x / ${n2 * n1}u;
  let g0 = tx0 % DL0;
  let g1 = tx1 % DL1;
  let g2 = tx2 % DL2;
  let base0 = (tx0 / DL0) * ${t0}u;
  let base1 = (tx1 / DL1) * ${t1}u;
  let base2 = (tx2 / DL2) * ${t2}u;
  let ng0 = group_len(N0, DL0, g0);
  let ng1 = group_len(N1, DL1, g1);
  let ng2 = group_len(N2, DL2, g2);
  if (base0 >= ng0 || base1 >= ng1 || base2 >= ng2) { return; }
  let last0 = min(base0 + ${t0 - 1}u, ng0 - 1u);
  let last1 = min(base1 + ${t1 - 1}u, ng1 - 1u);
  let last2 = min(base2 + ${t2 - 1}u, ng2 - 1u);
  let ip0 = base0 + lid.x / ${t2 * t1}u;
  let ip1 = base1 + (lid.x / ${t2}u) % ${t1}u;
  let ip2 = base2 + lid.x % ${t2}u;
  let valid = ip0 <= last0 && ip1 <= last1 && ip2 <= last2;
  let cp0 = min(ip0, last0);
  let cp1 = min(ip1, last1);
  let cp2 = min(ip2, last2);
  let tok = token_of(cp0 * DL0 + g0, cp1 * DL1 + g1, cp2 * DL2 + g2);`;
}

/** WGSL that decodes chunk row `kk` into the token `st` it holds (chunk corner `o_a`, extents `e_a`). */
const CHUNK_TOKEN = /* wgsl */ `let x2 = kk % e2;
          let x1 = (kk / e2) % e1;
          let x0 = kk / (e2 * e1);
          let st = token_of((o0 + x0) * DL0 + g0, (o1 + x1) * DL1 + g1, (o2 + x2) * DL2 + g2);`;

/**
 * WGSL declarations of a fused kernel: `THREADS` (its workgroup size) and the workgroup array of the chunk rows'
 * tokens that {@link chunkLoops} fills.
 */
export function chunkDecls(rows: number, t: Tiling): string {
  return `const THREADS = ${t.threads}u;\nvar<workgroup> RT: array<u32, ${rows}>;`;
}

/**
 * WGSL of the loops over the chunks of the box `[lo_a, hi_a]` (group coordinates, uniform values) of at most
 * `rows` tokens each: inside, `o0..o2` is the chunk's first corner and `e0..e2` its extent; `stage` fills the
 * workgroup arrays (threads share the work, token `(o_a + x_a) * DL_a + g_a`, chunk row
 * `(x0 * e1 + x1) * e2 + x2`), then `body` runs between barriers.
 */
export function chunkLoops(rows: number, stage: string, body: string): string {
  return /* wgsl */ `
  let len0 = hi0 + 1u - lo0;
  let len1 = hi1 + 1u - lo1;
  let len2 = hi2 + 1u - lo2;
  // (at least 1 each: an empty box, lo > hi on some axis, runs no chunk)
  let c2 = max(1u, min(len2, ${rows}u));
  let c1 = max(1u, min(len1, ${rows}u / c2));
  let c0 = max(1u, min(len0, ${rows}u / (c2 * c1)));
  let nc0 = (len0 + c0 - 1u) / c0;
  let nc1 = (len1 + c1 - 1u) / c1;
  let nc2 = (len2 + c2 - 1u) / c2;
  let chunks = select(nc0 * nc1 * nc2, 0u, lo0 > hi0 || lo1 > hi1 || lo2 > hi2);
  for (var ci = 0u; ci < chunks; ci++) {
    let o2 = lo2 + (ci % nc2) * c2;
    let o1 = lo1 + ((ci / nc2) % nc1) * c1;
    let o0 = lo0 + (ci / (nc2 * nc1)) * c0;
    let e0 = min(c0, hi0 + 1u - o0);
    let e1 = min(c1, hi1 + 1u - o1);
    let e2 = min(c2, hi2 + 1u - o2);
    let cnt = e0 * e1 * e2;
    // the token of each chunk row, decoded once per row (the staging loops below run per vec4)
    for (var kk = lid.x; kk < cnt; kk += THREADS) {
      ${CHUNK_TOKEN}
      RT[kk] = st;
    }
    workgroupBarrier();
    ${stage}
    workgroupBarrier();
    ${body}
    workgroupBarrier();
  }`;
}

/** The number of vec4 that hold `n` floats (the fused kernels keep head vectors as vec4, zero-padded). */
export function quads(n: number): number {
  return Math.ceil(n / 4);
}

/**
 * The row stride (in vec4) of a staged workgroup array of rows of `width` vec4: odd, so that the threads of a
 * SIMD group reading the same column of different rows hit different memory banks.
 */
export function paddedStride(width: number): number {
  return width % 2 === 0 ? width + 1 : width;
}

/**
 * WGSL expression: the vec4 of floats `src[rowStart + 4 col + i]`, i < 4, with 0 for the components past
 * `width` floats of the row (the index is then clamped into the buffer, never read out of bounds).
 */
export function load4(src: string, rowStart: string, col: string, width: number): string {
  const comp = (i: number) => {
    const idx = `${rowStart} + 4u * ${col} + ${i}u`;
    return width % 4 === 0
      ? `${src}[${idx}]`
      : `select(0.0, ${src}[min(${idx}, arrayLength(&${src}) - 1u)], 4u * ${col} + ${i}u < ${width}u)`;
  };
  return `vec4<f32>(${[0, 1, 2, 3].map(comp).join(', ')})`;
}

/** WGSL statements storing the components of vec4 `val` that fall within `width` floats at `dst[rowStart + 4 col + i]`. */
export function store4(dst: string, rowStart: string, col: string, val: string, width: number): string {
  if (width % 4 === 0) {
    return `{ let v4 = ${val}; ${[0, 1, 2, 3].map((i) => `${dst}[${rowStart} + 4u * ${col} + ${i}u] = v4[${i}];`).join(' ')} }`;
  }
  return `{ let v4 = ${val}; for (var i = 0u; i < 4u; i++) { if (4u * ${col} + i < ${width}u) { ${dst}[${rowStart} + 4u * ${col} + i] = v4[i]; } } }`;
}

/**
 * WGSL that stages `width` floats per chunk row as vec4 into workgroup array `dst` (rows `stride` vec4 apart)
 * from `src`, where chunk row `kk` is token `st` and starts at `rowStart('st')` in `src`; the workgroup's
 * threads share the work.
 */
export function stageRows(
  dst: string,
  src: string,
  width: number,
  rowStart: (tok: string) => string,
  stride: string,
): string {
  const w4 = quads(width);
  return /* wgsl */ `for (var x = lid.x; x < cnt * ${w4}u; x += THREADS) {
          let kk = x / ${w4}u;
          let c4 = x % ${w4}u;
          let st = RT[kk];
          ${dst}[kk * ${stride} + c4] = ${load4(src, rowStart('st'), 'c4', width)};
        }`;
}

/** WGSL that runs `body` once per chunk row `kk` (token `st`), the workgroup's threads sharing the rows. */
export function stageScalars(body: string): string {
  return /* wgsl */ `for (var kk = lid.x; kk < cnt; kk += THREADS) {
          let st = RT[kk];
          ${body}
        }`;
}
