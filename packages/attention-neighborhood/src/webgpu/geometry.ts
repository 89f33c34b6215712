import type { Tensor } from '@attnkit/core';
import type { NeighborhoodAttrs } from '../ops/defs.js';

// Every WGSL kernel of this folder sees three token axes: a 1-D or 2-D problem gets leading axes of size 1 with
// kernel size, dilation and stride 1 (a window of one token at 0), so the index code has one form for every rank.

/** One token axis as the kernels see it. */
export interface Axis {
  /** Tokens along the axis. */
  n: number;
  /** Kernel size (window length in the dilation group). */
  k: number;
  /** Dilation. */
  d: number;
  /** Stride (GNA). */
  s: number;
  /** Causal along this axis. */
  causal: boolean;
}

/** The problem of one call, from the q/k/v shapes and the attributes, padded to three token axes. */
export interface Geometry {
  batch: number;
  /** Exactly three axes, the first ones padding for 1-D and 2-D problems. */
  axes: [Axis, Axis, Axis];
  /** Tokens per batch element (product of the axis lengths). */
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  valueDim: number;
  /** Neighbors per query: product of the kernel sizes. */
  neighbors: number;
  scale: number;
}

const PAD: Axis = { n: 1, k: 1, d: 1, s: 1, causal: false };

/**
 * The geometry of `q [B, ...tok, H, D]` attending over `v [B, ...tok, kvH, Dv]` (or, for the unfused ops, of a
 * tensor of the token layout whose heads are `heads` and the kv side's `kvHeads` and `valueDim`).
 */
export function geometryOf(q: Tensor, a: NeighborhoodAttrs, kvHeads: number, valueDim: number): Geometry {
  const rank = q.rank - 3;
  const tok = q.shape.slice(1, 1 + rank);
  const real: Axis[] = tok.map((n, i) => ({
    n,
    k: a.kernelSize[i],
    d: a.dilation[i],
    s: a.stride[i],
    causal: a.causal[i],
  }));
  const axes = [...Array<Axis>(3 - rank).fill(PAD), ...real] as [Axis, Axis, Axis];
  return {
    batch: q.shape[0],
    axes,
    tokens: tok.reduce((x, y) => x * y, 1),
    heads: q.shape[q.rank - 2],
    kvHeads,
    headDim: q.shape[q.rank - 1],
    valueDim,
    neighbors: axes.reduce((x, ax) => x * ax.k, 1),
    scale: a.scale,
  };
}

/** A pipeline-cache key part holding everything of `g` that the WGSL bakes in. */
export function geometryKey(g: Geometry): string {
  const ax = g.axes.map((a) => `${a.n},${a.k},${a.d},${a.s},${a.causal ? 1 : 0}`).join(';');
  return `${g.batch}|${ax}|${g.heads},${g.kvHeads},${g.headDim},${g.valueDim}|${g.scale}`;
}

/**
 * WGSL of NATTEN's per-axis index rule (spec 1.3) in dilation-group coordinates, and the shape constants:
 * - `group_len(n, d, g)`: the length of dilation group `g` of an axis of `n` tokens;
 * - `window(ip, ng, k, s, causal)`: the first and last key (group coordinates) that query `ip` sees; the window
 *   shifts inward at the borders (never pads) and, when causal, ends at the query;
 * - `inverse(jp, ng, k, s, causal)`: the first and last query whose window holds key `jp`. Window starts and
 *   ends never decrease with the query, so these queries are one interval, found by binary search (an empty
 *   interval has x > y);
 * - `axis_window(a, i)` / `axis_inverse(a, j)`: the same for token coordinate `i` on axis `a` (0..2), returning
 *   (first, last, group, group coordinate of `i`).
 */
export function indexCode(g: Geometry): string {
  const c = (name: string, pick: (a: Axis) => number | boolean) =>
    g.axes.map((a, i) => `const ${name}${i} = ${typeof pick(a) === 'boolean' ? pick(a) : `${pick(a)}u`};`);
  return [
    ...c('N', (a) => a.n),
    ...c('KS', (a) => a.k),
    ...c('DL', (a) => a.d),
    ...c('ST', (a) => a.s),
    ...c('CA', (a) => a.causal),
    `const B = ${g.batch}u;`,
    `const T = ${g.tokens}u;`,
    `const H = ${g.heads}u;`,
    `const KVH = ${g.kvHeads}u;`,
    `const GROUP = ${g.heads / g.kvHeads}u;`,
    `const D = ${g.headDim}u;`,
    `const DV = ${g.valueDim}u;`,
    `const D4 = ${Math.ceil(g.headDim / 4)}u;`,
    `const DV4 = ${Math.ceil(g.valueDim / 4)}u;`,
    `const NB = ${g.neighbors}u;`,
    /* wgsl */ `
fn group_len(n: u32, d: u32, g: u32) -> u32 { return n / d + select(0u, 1u, g < n % d); }
fn window(ip: u32, ng: u32, k: u32, s: u32, causal: bool) -> vec2u {
  if (causal) {
    let lead = min((ip / s) * s + s - 1u, ng - 1u);
    return vec2u(select(0u, lead + 1u - k, lead + 1u >= k), ip);
  }
  let lead = min((ip / s) * s + s / 2u, ng - 1u);
  let half = k / 2u;
  let start = min(select(0u, lead - half, lead >= half), ng - k);
  return vec2u(start, start + k - 1u);
}
fn inverse(jp: u32, ng: u32, k: u32, s: u32, causal: bool) -> vec2u {
  // first query whose window ends at or after jp
  var lo = 0u;
  var hi = ng - 1u;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (window(mid, ng, k, s, causal).y >= jp) { hi = mid; } else { lo = mid + 1u; }
  }
  let first = lo;
  // last query whose window starts at or before jp
  lo = 0u;
  hi = ng - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (window(mid, ng, k, s, causal).x <= jp) { lo = mid; } else { hi = mid - 1u; }
  }
  return vec2u(first, lo);
}
fn axis_n(a: u32) -> u32 { return select(select(N2, N1, a == 1u), N0, a == 0u); }
fn axis_k(a: u32) -> u32 { return select(select(KS2, KS1, a == 1u), KS0, a == 0u); }
fn axis_d(a: u32) -> u32 { return select(select(DL2, DL1, a == 1u), DL0, a == 0u); }
fn axis_s(a: u32) -> u32 { return select(select(ST2, ST1, a == 1u), ST0, a == 0u); }
fn axis_c(a: u32) -> bool { return select(select(CA2, CA1, a == 1u), CA0, a == 0u); }
fn axis_window(a: u32, i: u32) -> vec4u {
  let d = axis_d(a);
  let gr = i % d;
  let ng = group_len(axis_n(a), d, gr);
  let w = window(i / d, ng, axis_k(a), axis_s(a), axis_c(a));
  return vec4u(w.x, w.y, gr, i / d);
}
fn axis_inverse(a: u32, j: u32) -> vec4u {
  let d = axis_d(a);
  let gr = j % d;
  let ng = group_len(axis_n(a), d, gr);
  let w = inverse(j / d, ng, axis_k(a), axis_s(a), axis_c(a));
  return vec4u(w.x, w.y, gr, j / d);
}
fn token_of(c0: u32, c1: u32, c2: u32) -> u32 { return (c0 * N1 + c1) * N2 + c2; }`,
  ].join('\n');
}
