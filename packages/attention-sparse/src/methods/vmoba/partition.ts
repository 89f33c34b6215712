// VMoBA's 1D / 2D / 3D partitions (spec 6.2, process_moba_input/output): a token reordering of a video
// `(t, h, w)` that makes each chunk contiguous, so a chunk is one key block of the engine.
import { ValueError } from '@attnkit/core';

/**
 * A VMoBA partition: `c` frames per chunk (1D, temporal), `[ch, cw]` spatial tiles over all frames (2D), or
 * `[ct, ch, cw]` cubes (3D).
 */
export type VmobaPartition = number | readonly [number, number] | readonly [number, number, number];

/** A partition resolved against a grid. */
export interface PartitionPlan {
  /** `perm[newPosition] = original flat token index`. */
  readonly perm: Int32Array;
  /** `inverse[original] = newPosition`. */
  readonly inverse: Int32Array;
  /** Tokens per chunk (the last 1D chunk may be partial). */
  readonly chunkTokens: number;
  /** Whether the reordering is the identity (1D). */
  readonly identity: boolean;
}

const OP = 'vmobaPartition';

/**
 * Resolves `partition` on the video grid `[frames, height, width]`. 1D: chunks of `c * height * width`
 * consecutive tokens (no reordering; the last chunk may be partial). 2D: reorder `(t nch ch ncw cw) ->
 * (nch ncw t ch cw)`, chunks of `frames * ch * cw`. 3D: `(nct ct nch ch ncw cw) -> (nct nch ncw ct ch cw)`,
 * chunks of `ct * ch * cw`. 2D/3D tiles must divide the grid.
 */
export function vmobaPartition(
  grid: readonly [number, number, number],
  partition: VmobaPartition,
): PartitionPlan {
  const [T, H, W] = grid;
  const n = T * H * W;
  const flat = (t: number, y: number, x: number) => (t * H + y) * W + x;
  const sizes = typeof partition === 'number' ? [partition] : [...partition];
  for (const s of sizes) {
    if (!(Number.isInteger(s) && s >= 1))
      throw new ValueError(OP, 'partition', 'positive integer sizes', JSON.stringify(partition));
  }
  const perm = new Int32Array(n);
  let chunkTokens: number;
  if (sizes.length === 1) {
    for (let i = 0; i < n; i++) perm[i] = i;
    chunkTokens = Math.min(sizes[0], T) * H * W;
  } else {
    const [ct, ch, cw] = sizes.length === 2 ? [T, sizes[0], sizes[1]] : sizes;
    if (T % ct || H % ch || W % cw) {
      throw new ValueError(
        OP,
        'partition',
        `tile sizes dividing the grid ${T}x${H}x${W}`,
        JSON.stringify(partition),
      );
    }
    let p = 0;
    for (let a = 0; a < T / ct; a++)
      for (let b = 0; b < H / ch; b++)
        for (let c = 0; c < W / cw; c++)
          for (let t = 0; t < ct; t++)
            for (let y = 0; y < ch; y++)
              for (let x = 0; x < cw; x++) perm[p++] = flat(a * ct + t, b * ch + y, c * cw + x);
    chunkTokens = ct * ch * cw;
  }
  const inverse = new Int32Array(n);
  perm.forEach((orig, pos) => {
    inverse[orig] = pos;
  });
  return { perm, inverse, chunkTokens, identity: sizes.length === 1 };
}

/**
 * The partition of layer `layer` in VMoBA's layer-wise recurrent schedule 1D -> 2D -> 3D (`layer % 3`; the
 * released code does not fix the mapping, this is our decision).
 */
export function vmobaLayerPartition(
  layer: number,
  parts: { temporal: number; spatial: readonly [number, number]; cube: readonly [number, number, number] },
): VmobaPartition {
  return [parts.temporal, parts.spatial, parts.cube][((layer % 3) + 3) % 3];
}
