import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { maskStrides } from '../engine/mask-strides.js';
import type { Bindings } from './bindings.js';
import { mainHeader } from './wgsl-walks.js';

// What the block-sparse WGSL kernels share. Rows are laid out as in the CPU oracle: query row
// `(b * nq + i) * heads + h` of q / out / gOut / lse, key row `(b * nk + j) * kvHeads + kh` of k / v. Shapes,
// block sizes, scale, causality and the mask's strides are baked into the WGSL (pipelines cached per key).

/** Threads per workgroup of the simple kernels: one query row (forward, dQ) or one key row (dK/dV) each. */
export const ROWS = 32;
/** Most keys (forward, dQ) or queries (dK/dV) the simple kernels stage in workgroup memory per tile. */
const MAX_TILE = 32;
/** Largest headDim and valueDim: each thread keeps vectors of these sizes in registers. */
export const MAX_DIM = 256;

/** The WebGPU kernel kit of the backend the inputs live on (reached without importing gpu-kernels). */
export function kitOf(t: Tensor): WebGPUKernelKit {
  return t.backend.kernelKit as WebGPUKernelKit;
}

/**
 * Whether the kernels cover the inputs: float32 q/k/v (and out/lse/grads in the backward), head dims up to
 * MAX_DIM, and a grid within the device's per-dimension limit. Otherwise the dispatcher runs the CPU oracle.
 */
export function supported(inputs: Tensor[], a: BlockSparseAttrs, floats: number[]): boolean {
  if (floats.some((n) => inputs[n].dtype !== 'float32')) return false;
  if (inputs[3].dtype !== 'int32') return false;
  if (a.headDim > MAX_DIM || a.valueDim > MAX_DIM) return false;
  const max = kitOf(inputs[0]).info('sparse').maxComputeWorkgroupsPerDimension;
  const nqb = Math.ceil(a.nq / a.blockQ);
  const nkb = Math.ceil(a.nk / a.blockK);
  // Workgroups cover at least 16 query rows (forward, dQ) or keys (dK/dV) each: the tiled kernels' smallest tile.
  const gx = Math.max(nqb * Math.ceil(a.blockQ / 16), nkb * Math.ceil(a.blockK / 16));
  return gx <= max && a.heads <= max && a.batch <= max;
}

/** Floats of workgroup memory a kernel may stage (all the device allows, less 64 kept in reserve). */
export function workgroupFloats(kit: WebGPUKernelKit, op: string): number {
  return Math.floor(kit.info(op).maxComputeWorkgroupStorageSize / 4) - 64;
}

/** Tile length whose `perRow` staged floats per row fit in workgroup memory (at most MAX_TILE and `cap`). */
export function tileFor(kit: WebGPUKernelKit, perRow: number, cap: number): number {
  const floats = workgroupFloats(kit, 'sparse');
  return Math.max(1, Math.min(MAX_TILE, cap, Math.floor(floats / perRow)));
}

/** WGSL index of query row `r` of batch `b`, head `h` (in q, out, gOut, lse and the backward's packed rows). */
export const qRow = (r: string): string => `((b * NQ + ${r}) * H + h)`;

/** WGSL index of key row `r` of batch `b`, kv head `kh` (in k and v). */
export const kvRow = (r: string): string => `((b * NK + ${r}) * KVH + kh)`;

/**
 * WGSL shared by the kernels: shape constants, `layout_row(b, h, qb)` (start of a row of kvBlocks, bound as KB
 * or not at all), `allowed(b, h, i, j)` (causality and the mask, bound as M) and `neg_inf()`.
 */
export function commonCode(kit: WebGPUKernelKit, a: BlockSparseAttrs, mask: Tensor | null): string {
  const [lb, lh, nqb, mb] = a.layoutShape;
  const conds: string[] = [];
  if (a.causal) conds.push('if (i32(j) > i32(i) + OFF) { return false; }');
  if (mask && a.maskShape) {
    const s = maskStrides(a.maskShape);
    conds.push(
      `return M[${mask.offset}u + b * ${s[0]}u + h * ${s[1]}u + i * ${s[2]}u + j * ${s[3]}u] != 0u;`,
    );
  } else conds.push('return true;');
  return `${kit.MATH_WGSL}
const NQ = ${a.nq}u;
const NK = ${a.nk}u;
const H = ${a.heads}u;
const KVH = ${a.kvHeads}u;
const GROUP = ${a.heads / a.kvHeads}u;
const D = ${a.headDim}u;
const DV = ${a.valueDim}u;
const BLQ = ${a.blockQ}u;
const BLK = ${a.blockK}u;
const NQB = ${nqb}u;
const NKB = ${Math.ceil(a.nk / a.blockK)}u;
const MB = ${mb}u;
const OFF = ${a.nk - a.nq}i;
const SCALE = ${kit.f32(a.scale)};
fn neg_inf() -> f32 { return bitcast<f32>(BITS_NEG_INF); }
fn layout_row(b: u32, h: u32, qb: u32) -> u32 {
  return ((${lb === 1 ? '0u' : 'b'} * ${lh}u + ${lh === 1 ? '0u' : 'h'}) * NQB + qb) * MB;
}
fn allowed(b: u32, h: u32, i: u32, j: u32) -> bool {
  _ = b; _ = h;
  ${conds.join('\n  ')}
}`;
}

/** A pipeline key: the kernel's name, every attribute, the inputs' offsets and the tile length. */
export function keyOf(name: string, a: BlockSparseAttrs, ts: (Tensor | null)[], tile: number): string {
  return `${name}|${JSON.stringify(a)}|${ts.map((t) => t?.offset ?? '-')}|${tile}`;
}

/**
 * The loop that stages rows `[r0, r0 + tile)` (`width` floats each) of `src` into workgroup array `dst`: row
 * `r` starts at `offset + rowExpr(r) * stride`; rows at or past `limit` read as 0. The `threads` threads of the
 * workgroup share the work. Rows are `dstStride` apart in `dst` (padding against bank conflicts).
 */
export function stageCode(
  dst: string,
  src: string,
  width: string,
  tile: number,
  r0: string,
  limit: string,
  rowExpr: (r: string) => string,
  offset: number | string,
  stride = width,
  threads = ROWS,
  dstStride = width,
): string {
  const base = typeof offset === 'number' ? `${offset}u` : offset;
  const at = dstStride === width ? 'e' : `(e / ${width}) * ${dstStride} + e % ${width}`;
  return `for (var e = lid.x; e < ${tile}u * ${width}; e += ${threads}u) {
      let r = ${r0} + e / ${width};
      var x = 0.0;
      if (r < ${limit}) { x = ${src}[${base} + ${rowExpr('r')} * ${stride} + e % ${width}]; }
      ${dst}[${at}] = x;
    }`;
}

/**
 * What the simple query-row kernels (forward, dQ) share: workgroup arrays KS and VS for tiles of `tile` keys and
 * values, and the loop that stages tile `[k0, kEnd)` of k and v into them.
 */
export function simpleKvTiles(
  a: BlockSparseAttrs,
  tile: number,
  k: Tensor,
  v: Tensor,
): { shared: Record<string, number>; stage: string } {
  return {
    shared: { KS: tile * a.headDim, VS: tile * a.valueDim },
    stage: `${stageCode('KS', 'K', 'D', tile, 'k0', 'kEnd', kvRow, k.offset)}
      ${stageCode('VS', 'V', 'DV', tile, 'k0', 'kEnd', kvRow, v.offset)}`,
  };
}

/** A block-sparse kernel, as {@link launchKernel} records it. */
export interface SparseKernel {
  /** Its name in the pipeline key. */
  name: string;
  /** The tensors whose offsets the WGSL bakes in (they go into the pipeline key). */
  tensors: (Tensor | null)[];
  /** The tile sizes, as one number in the pipeline key. */
  tile: number;
  /** The element mask that `allowed` reads, or null. */
  mask: Tensor | null;
  /** Its bindings. */
  bind: Bindings;
  /** Baked-in u32 constants, declared in this order. */
  consts: Record<string, number>;
  /** Its f32 workgroup arrays and their lengths, declared in this order. */
  shared: Record<string, number>;
  /** Threads per workgroup. */
  threads: number;
  /** The body of the entry point (built only when the pipeline is compiled). */
  main: () => string;
  /** Workgroups along x, y and z. */
  groups: [number, number, number];
}

/**
 * Records a block-sparse kernel: its WGSL is {@link commonCode}, the bindings, the constants and workgroup arrays,
 * then the entry point; the pipeline is cached under {@link keyOf} the name, attributes, offsets and tile.
 */
export function launchKernel(kit: WebGPUKernelKit, op: string, a: BlockSparseAttrs, k: SparseKernel): void {
  const consts = Object.entries(k.consts).map(([name, value]) => `const ${name} = ${value}u;`);
  const shared = Object.entries(k.shared).map(
    ([name, length]) => `var<workgroup> ${name}: array<f32, ${length}>;`,
  );
  kit.launch(
    op,
    keyOf(k.name, a, k.tensors, k.tile),
    () => /* wgsl */ `
${commonCode(kit, a, k.mask)}
${k.bind.code()}
${consts.join('\n')}
${shared.join('\n')}
${mainHeader(k.threads)}
  ${k.main()}
}`,
    k.bind.buffers,
    k.groups,
  );
}
