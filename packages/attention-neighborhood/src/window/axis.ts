// NATTEN's per-axis neighborhood rule (spec 1.3), written once here and used by every CPU kernel, the
// public checks, the attention-op registry entries and the pictures. Everything is in terms of one token axis:
// multi-axis neighborhoods are the Cartesian product of these (window.ts).

/** The parameters of one token axis. */
export interface AxisParams {
  /** Length of the axis. */
  readonly size: number;
  /** Window size `k` (2 <= k, k * dilation <= size). */
  readonly kernelSize: number;
  /** Dilation `d` (>= 1): only keys in the query's residue class mod `d` are seen. */
  readonly dilation: number;
  /** Stride `s` (1 <= s <= k): groups of `s` consecutive queries (in dilation-group coordinates) share a window. */
  readonly stride: number;
  /** Whether keys after the query on this axis are masked. */
  readonly causal: boolean;
}

/** Where the window of one query starts on one axis, and how many of its `k` slots are real keys. */
export interface AxisWindow {
  /** Coordinate (on the full axis) of the key in slot 0; slot `j` is `start + j * dilation`. */
  readonly start: number;
  /**
   * Number of leading slots that are attended: `k` without causal masking; with it, the slots up to and
   * including the query itself (the rest are masked, -Infinity in the logits).
   */
  readonly valid: number;
  /** The query's coordinate in its dilation group (`floor(i / d)`), for the relative-bias index. */
  readonly groupIndex: number;
  /** The window start in dilation-group coordinates. */
  readonly groupStart: number;
}

/** Length of dilation group `g` (the tokens `g, g + d, g + 2d, ...` of an axis of length `n`). */
export function dilationGroupLength(n: number, d: number, g: number): number {
  return Math.floor(n / d) + (g < n % d ? 1 : 0);
}

/**
 * The window of query `i` on one axis, by NATTEN's rule: work in the query's dilation group; the stride-group
 * leader is the centre query of its group of `s` (the last one when causal), clamped to the group's end; a
 * non-causal window of `k` keys is centred on the leader (`k div 2` to the left) and shifted inward at the
 * borders, never padded; a causal window ends at the query and reaches `k - 1` keys before the leader.
 */
export function axisWindow(i: number, p: AxisParams): AxisWindow {
  const { size: n, kernelSize: k, dilation: d, stride: s, causal } = p;
  const g = i % d;
  const ip = Math.floor(i / d);
  const ng = dilationGroupLength(n, d, g);
  const groupFirst = Math.floor(ip / s) * s;
  if (causal) {
    const leader = Math.min(groupFirst + s - 1, ng - 1);
    const groupStart = Math.max(leader - k + 1, 0);
    return { start: groupStart * d + g, valid: Math.min(ip - groupStart + 1, k), groupIndex: ip, groupStart };
  }
  const leader = Math.min(groupFirst + Math.floor(s / 2), ng - 1);
  const groupStart = Math.min(Math.max(leader - Math.floor(k / 2), 0), ng - k);
  return { start: groupStart * d + g, valid: k, groupIndex: ip, groupStart };
}

/**
 * Per-axis lookup tables for every query coordinate: `key[i * k + j]` is the key coordinate in slot `j` of
 * query `i` (-1 where causal masking removes it) and `bias[i * k + j]` the index of that pair in the relative
 * positional bias table of length `2k - 1` (`(key - query) / d + k - 1`, in dilation-group coordinates).
 */
export interface AxisTables {
  /** Window size `k` of the axis. */
  readonly kernelSize: number;
  /** `[size * k]` key coordinates, -1 for masked slots. */
  readonly key: Int32Array;
  /** `[size * k]` bias indices in `[0, 2k - 1)`. */
  readonly bias: Int32Array;
}

/** Builds the {@link AxisTables} of one axis from {@link axisWindow}. */
export function axisTables(p: AxisParams): AxisTables {
  const k = p.kernelSize;
  const key = new Int32Array(p.size * k);
  const bias = new Int32Array(p.size * k);
  for (let i = 0; i < p.size; i++) {
    const w = axisWindow(i, p);
    for (let j = 0; j < k; j++) {
      key[i * k + j] = j < w.valid ? w.start + j * p.dilation : -1;
      bias[i * k + j] = w.groupStart + j - w.groupIndex + k - 1;
    }
  }
  return { kernelSize: k, key, bias };
}
