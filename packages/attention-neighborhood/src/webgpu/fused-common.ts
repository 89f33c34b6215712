// What the fused forward and backward kernels share: their inputs and coverage, and the WGSL of the logit, of
// the walk over a thread's box inside a staged chunk, of the tile's windows and key box, of the extra keys, and
// the header of their WGSL.
import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { NeighborhoodAttrs } from '../ops/defs.js';
import type { Bindings } from './bindings.js';
import { type Geometry, geometryOf, indexCode } from './geometry.js';
import { allFloat32 } from './support.js';
import { gridFits, load4, MAX_DIM, quads, tilingOf } from './tiles.js';
import { rpbPerHead } from './unfused.js';

/** The inputs of the fused ops, by the attributes: `[q, k, v, (rpb), (extraK, extraV)]` after `skip` others. */
export function fusedInputs(inputs: Tensor[], a: NeighborhoodAttrs, skip: number) {
  const [q, k, v] = inputs;
  let i = 3 + skip;
  const rpb = a.hasRpb ? inputs[i++] : null;
  const extraK = a.numExtra > 0 ? inputs[i++] : null;
  const extraV = a.numExtra > 0 ? inputs[i++] : null;
  return { q, k, v, rpb, extraK, extraV };
}

/** Whether the fused kernels cover this call: float32, head dims within registers, a grid the device allows. */
export function fusedSupports(op: string, inputs: Tensor[], a: NeighborhoodAttrs): boolean {
  if (!allFloat32(inputs)) return false;
  const { q, v } = fusedInputs(inputs, a, 0);
  const g = geometryOf(q, a, v.shape[v.rank - 2], v.shape[v.rank - 1]);
  if (g.headDim > MAX_DIM || g.valueDim > MAX_DIM || g.headDim < 1 || g.valueDim < 1) return false;
  const t = tilingOf(g);
  return gridFits(q, op, t.total, g.heads, g.batch);
}

/**
 * WGSL of the relative-bias table offset of the pair (query `qa`, key `ka`): both name WGSL values with
 * components per axis, `${qa}0..2` and `${ka}0..2` in group coordinates; the offset is `key - query + k - 1`.
 */
export function rpbOffset(g: Geometry, qa: string, ka: string): string {
  return `h * ${rpbPerHead(g)}u + (((${ka}0 + KS0 - 1u - ${qa}0) * (2u * KS1 - 1u) + ${ka}1 + KS1 - 1u - ${qa}1) * (2u * KS2 - 1u) + ${ka}2 + KS2 - 1u - ${qa}2)`;
}

/**
 * WGSL of `x`, the logit of query vector `qv` (vec4s) and the staged row `kk` of `ks` (stride `SK`), plus the bias at
 * `biasOffset` when there is one.
 */
export function logitCode(scale: string, qv: string, ks: string, biasOffset: string | null): string {
  const bias = biasOffset ? `+ RPB[RPB_OFF + ${biasOffset}]` : '';
  return `var s = 0.0;
                for (var c = 0u; c < D4; c++) { s += dot(${qv}[c], ${ks}[kk * SK + c]); }
                let x = s * ${scale} ${bias};`;
}

/**
 * WGSL of the loops over the tokens of this thread's box `${box}0..2` (vec2u: first, last; group coordinates)
 * inside the staged chunk (`o_a`, `e_a`): loop variables `${v}0..2` and `kk`, the chunk row.
 */
export function boxInChunk(body: string, box = 'w', v = 'j'): string {
  const axis = (a: number) =>
    `for (var ${v}${a} = max(${box}${a}.x, o${a}); ${v}${a} <= min(${box}${a}.y, o${a} + e${a} - 1u); ${v}${a}++) {`;
  return `${axis(0)}
            ${axis(1)}
              ${axis(2)}
                let kk = ((${v}0 - o0) * e1 + (${v}1 - o1)) * e2 + (${v}2 - o2);
                ${body}
              }
            }
          }`;
}

/**
 * WGSL of this thread's neighborhoods `${own}0..2` (group coordinates, from its clamped coordinates) and of the
 * tile's box `lo_a..hi_a` (the first query's start to the last one's end), by `fn`: `window` (the keys of a query
 * tile) or `inverse` (the queries of a key tile; starts and ends never decrease along an axis for either).
 */
export function windowsAndBox(fn: 'window' | 'inverse', own: string): string {
  const at = (p: string, a: number) => `${fn}(${p}${a}, ng${a}, KS${a}, ST${a}, CA${a})`;
  const lines = [0, 1, 2].map((a) => `let ${own}${a} = ${at('cp', a)};`);
  for (const a of [0, 1, 2]) lines.push(`let lo${a} = ${at('base', a)}.x;`);
  for (const a of [0, 1, 2]) lines.push(`let hi${a} = ${at('last', a)}.y;`);
  return lines.join('\n  ');
}

/** WGSL declarations every fused kernel starts with: math helpers, geometry, bindings, extra-key count. */
export function fusedHeader(kit: WebGPUKernelKit, g: Geometry, bind: Bindings, numExtra: number): string {
  return `${kit.MATH_WGSL}
${indexCode(g)}
${bind.code()}
const NE = ${numExtra}u;
fn neg_inf() -> f32 { return bitcast<f32>(BITS_NEG_INF); }`;
}

/**
 * WGSL of the loop over the extra keys in chunks of `rows`: `stage` fills the workgroup arrays for rows
 * `[o, o + cnt)`, then `body` runs between barriers with `kk` the chunk row.
 */
export function extraLoop(rows: number, stage: string, body: string): string {
  return /* wgsl */ `
  for (var o = 0u; o < NE; o += ${rows}u) {
    let cnt = min(${rows}u, NE - o);
    ${stage}
    workgroupBarrier();
    if (valid) {
      for (var kk = 0u; kk < cnt; kk++) {
        ${body}
      }
    }
    workgroupBarrier();
  }`;
}

/** WGSL that stages `width` floats of the extra rows `[o, o + cnt)` of `src` as vec4 into `dst` (rows `stride` apart). */
export function stageExtra(dst: string, src: string, width: number, stride: string): string {
  const w4 = quads(width);
  return `for (var x = lid.x; x < cnt * ${w4}u; x += THREADS) {
      let kk = x / ${w4}u;
      let c4 = x % ${w4}u;
      ${dst}[kk * ${stride} + c4] = ${load4(src, `${src}_OFF + ((b * NE + o + kk) * KVH + kh) * ${width}u`, 'c4', width)};
    }`;
}
