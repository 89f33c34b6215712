// How one decayed causal scan is cut into work for the GPU: the block length (tokens per block, one thread per
// token row), the width of the value-channel slice a workgroup owns, and which variant runs.
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';

/**
 * One scan `out_x = sum_{y <= x} exp(-s_h (x - y)) (a_x . b_y) c_y` over the token axis of `[batch, n, heads, *]`
 * tensors (`a`, `b` with `da` channels, `c` and `out` with `dc`), in time order or reversed (`reverse`: `y >= x`).
 * The forward is one scan (a = q, b = k, c = v); the backward is three (see decay-causal.ts).
 */
export interface ScanShape {
  /** Batch size. */
  batch: number;
  /** Tokens. */
  n: number;
  /** Heads. */
  heads: number;
  /** Channels of the dotted operands a and b. */
  da: number;
  /** Channels of the carried operand c and of the output. */
  dc: number;
}

/** Block lengths tried, longest first: longer blocks mean fewer sequential steps and less state traffic. */
const BLOCKS = [64, 32, 16] as const;
/** Widest value-channel slice per workgroup (each thread keeps one accumulator per channel in registers). */
const MAX_SLICE = 32;
/** Largest dotted dim: each thread keeps its row of `a` (the query) in registers. */
export const MAX_DOT_DIM = 256;

/** The launch geometry of a scan. */
export interface ScanPlan {
  /** Tokens per block (= threads per workgroup of the block kernels). */
  blk: number;
  /** Value channels per workgroup slice. */
  ev: number;
  /** Slices covering `dc` (the last one may be partly padding). */
  slices: number;
  /** Blocks covering `n` (the last one may be a tail). */
  blocks: number;
}

/**
 * Floats of workgroup memory the block kernels stage: keys of the block (`blk * da`), the value slice
 * (`blk * ev`), the state slice (`da * ev`) and the decay powers (`blk + 1`).
 */
function stagedFloats(blk: number, da: number, ev: number): number {
  return blk * da + blk * ev + da * ev + blk + 1;
}

/**
 * The geometry for `shape` on a device with `workgroupBytes` of workgroup memory and `maxThreads` invocations per
 * workgroup, with blocks of at most `maxBlock` tokens, or null when no block of at least 16 tokens fits (the
 * kernel then declines and the CPU runs it).
 */
export function planScan(
  shape: ScanShape,
  workgroupBytes: number,
  maxThreads: number,
  maxBlock: number = BLOCKS[0],
): ScanPlan | null {
  const { da, dc, n } = shape;
  if (da < 1 || dc < 1 || da > MAX_DOT_DIM) return null;
  const floats = Math.floor(workgroupBytes / 4);
  // Balanced slices: dc = 33 gives two slices of 17 rather than 32 + 1.
  for (let slices = Math.ceil(dc / MAX_SLICE); slices <= dc; slices *= 2) {
    const ev = Math.ceil(dc / slices);
    for (const blk of BLOCKS) {
      if (blk > maxThreads || blk > maxBlock || stagedFloats(blk, da, ev) > floats) continue;
      return { blk, ev, slices: Math.ceil(dc / ev), blocks: Math.max(1, Math.ceil(n / blk)) };
    }
  }
  return null;
}

/** Which algorithm runs the scan: see {@link setScanVariant}. */
export type ScanVariant = 'auto' | 'sequential' | 'parallel';

let forced: ScanVariant = 'auto';

/**
 * Chooses the WebGPU scan algorithm of `linear.decayCausal` and its backward (tests and benchmarks compare
 * them; `'auto'`, the default, picks per call). `'sequential'`: one workgroup per (batch, head, value slice)
 * walks the blocks in order with the state in workgroup memory. `'parallel'`: every block's state contribution
 * in parallel, a scan over blocks, then every block's output in parallel (more launches and a scratch buffer
 * of the block states, but parallel over blocks, for few heads and long sequences).
 */
export function setScanVariant(v: ScanVariant): void {
  forced = v;
}

/** The variant in force (see {@link setScanVariant}). */
export function scanVariant(): ScanVariant {
  return forced;
}

let blockLimit: number = BLOCKS[0];

/**
 * Caps the block length of the WebGPU scans (64, 32 or 16 tokens; default 64, the longest that fits is used).
 * For tests and benchmarks: shorter blocks run the multi-block paths on short sequences.
 */
export function setMaxScanBlock(tokens: 16 | 32 | 64): void {
  blockLimit = tokens;
}

/** The cap set by {@link setMaxScanBlock}. */
export function maxScanBlock(): number {
  return blockLimit;
}

/** Workgroups below which 'auto' goes parallel over blocks: too few to fill a GPU sequentially. */
const FEW_WORKGROUPS = 256;

/**
 * Whether the scan runs parallel over blocks: forced by {@link setScanVariant}, else on a GPU when the sequential
 * grid (batch x heads x slices) is small and there are blocks to spread. Either way only if the scratch of block
 * states fits one buffer binding and the grid fits the device. A software adapter (SwiftShader) stays sequential:
 * a few workgroups already cover its CPU cores, and there the parallel variant's many short workgroups measured
 * about 2x slower (B1 H2 N1024 d32: ~400 vs ~200 ms on 2 shared cores).
 */
export function useParallel(kit: WebGPUKernelKit, op: string, s: ScanShape, p: ScanPlan): boolean {
  const info = kit.info(op);
  // The buffer pool rounds big requests up to a multiple of 16 MiB: keep that much headroom.
  const scratchBytes = s.batch * s.heads * p.blocks * s.da * s.dc * 4 + 16 * 1024 * 1024;
  const max = info.maxComputeWorkgroupsPerDimension;
  const fits =
    scratchBytes <= Math.min(info.maxStorageBufferBindingSize, info.maxBufferSize) &&
    p.blocks <= max &&
    s.batch * s.heads <= max &&
    Math.ceil((s.heads * s.da * s.dc) / kit.wgSize()) <= max;
  if (!fits || forced === 'sequential') return false;
  if (forced === 'parallel') return true;
  return !info.software && p.blocks >= 4 && s.batch * s.heads * p.slices < FEW_WORKGROUPS;
}
