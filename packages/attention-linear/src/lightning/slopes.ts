// Per-head decay rates of Lightning Attention-2 / TransNormerLLM: the ALiBi slope recipe
// (lightning_attn/utils/utils.py `_build_slope_tensor`) and TNL's per-layer scaling (examples/module/tnl_attn.py).
import { ValueError } from '@attnkit/core';
import { checkInt } from '../util/check.js';

function powerOfTwoSlopes(n: number): number[] {
  const start = 2 ** -(2 ** -(Math.log2(n) - 3));
  return Array.from({ length: n }, (_, i) => start ** (i + 1));
}

/**
 * The ALiBi slopes used as Lightning Attention-2 decay rates `s_h` (the state decays by `exp(-s_h)` per token):
 * for `heads` a power of two, `start = 2^(-8/heads)` and `s_i = start^(i+1)` (8 heads: 1/2, 1/4, ..., 1/256);
 * otherwise the slopes of the largest power of two below, then every other slope of twice that many.
 *
 * @example
 * alibiSlopes(8); // [0.5, 0.25, 0.125, ..., 0.00390625]
 */
export function alibiSlopes(heads: number): number[] {
  checkInt('alibiSlopes', 'heads', heads, 1);
  if (Number.isInteger(Math.log2(heads))) return powerOfTwoSlopes(heads);
  const closest = 2 ** Math.floor(Math.log2(heads));
  return [
    ...powerOfTwoSlopes(closest),
    ...alibiSlopes(2 * closest)
      .filter((_, i) => i % 2 === 0)
      .slice(0, heads - closest),
  ];
}

/**
 * TransNormerLLM's per-layer decay: the ALiBi slopes of `heads` heads times `1 - layerIdx / (numLayers - 1) + 1e-5`,
 * so the first layer decays fastest and the last hardly at all. With `numLayers = 1` (where the reference code
 * divides by zero) the factor is `1 + 1e-5`, as for a first layer.
 */
export function tnlLayerSlopes(heads: number, layerIdx: number, numLayers: number): number[] {
  checkInt('tnlLayerSlopes', 'numLayers', numLayers, 1);
  checkInt('tnlLayerSlopes', 'layerIdx', layerIdx, 0);
  if (layerIdx >= numLayers) {
    throw new ValueError('tnlLayerSlopes', 'layerIdx', `an integer in [0, ${numLayers})`, String(layerIdx));
  }
  const factor = 1 - (numLayers > 1 ? layerIdx / (numLayers - 1) : 0) + 1e-5;
  return alibiSlopes(heads).map((s) => s * factor);
}
