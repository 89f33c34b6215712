// HaloNet's blocked windows (spec section 2, timm's HaloAttn): the queries of a block of `b` tokens per axis
// share one window of `w = b + 2h` positions, the block extended by the halo `h` on each side. Positions outside
// the grid are zero padding: keys and values 0, so their logit is 0 and they take part in the softmax (timm
// does not mask them), adding `exp(0 - max)` to its denominator and nothing to the output.

/** HaloNet parameters per token axis. */
export interface HaloParams {
  /** Block size per axis (divides the axis). */
  readonly blockSize: readonly number[];
  /** Halo per axis (>= 0). */
  readonly halo: readonly number[];
}

/**
 * The window of the query at flat index `query` of the grid `tokens`, as flat key indices in row-major window
 * order (axis 0 slowest), -1 for a padded position. The array has `prod(b + 2h)` entries.
 */
export function haloKeys(tokens: readonly number[], p: HaloParams, query: number): Int32Array {
  const rank = tokens.length;
  const coords: number[] = [];
  for (let a = rank - 1, r = query; a >= 0; a--) {
    coords[a] = r % tokens[a];
    r = Math.floor(r / tokens[a]);
  }
  let keys = [0];
  for (let a = 0; a < rank; a++) {
    const b = p.blockSize[a];
    const w = b + 2 * p.halo[a];
    const first = Math.floor(coords[a] / b) * b - p.halo[a];
    const next: number[] = [];
    for (const prev of keys) {
      for (let j = 0; j < w; j++) {
        const c = first + j;
        next.push(prev < 0 || c < 0 || c >= tokens[a] ? -1 : prev * tokens[a] + c);
      }
    }
    keys = next;
  }
  return Int32Array.from(keys);
}
