/**
 * `@attnkit/attention-neighborhood`: neighborhood attention for JavaScript with NATTEN's exact semantics.
 * `na1d` / `na2d` / `na3d` with per-axis kernel size, dilation, stride (GNA) and causal masks, grouped-query
 * heads, extra global keys, the legacy relative positional bias and the log-sum-exp; HaloNet blocked attention;
 * the GNA analytical tool; `NeighborhoodAttention1D/2D/3D` layers. Float64 CPU kernels (the oracle) and WGSL
 * kernels for WebGPU, all registered with `@attnkit/core`'s kernel registry; the attention-op registry entries
 * `na1d`, `na1d-causal`, `na2d`, `na2d-unfused`, `na3d` and `halo` are registered on import.
 *
 * @packageDocumentation
 */
import './ops/cpu/index.js';
import './webgpu/index.js';
import './entries/index.js';

export { na1d, na2d, na3d, neighborhoodAttention } from './api/na.js';
export {
  checkWindow,
  type NeighborhoodAttentionOptions,
  type NeighborhoodAttentionResult,
} from './api/options.js';
export { type NeighborhoodUnfusedOptions, neighborhoodAv, neighborhoodQk } from './api/unfused.js';
export { type GnaAnalysis, type GnaProblem, gnaAnalysis } from './gna/analysis.js';
export * from './halo/index.js';
export {
  NeighborhoodAttention1D,
  NeighborhoodAttention2D,
  NeighborhoodAttention3D,
  type NeighborhoodAttentionModuleOptions,
  NeighborhoodAttentionNd,
} from './modules/neighborhood-attention.js';
export * from './ops/defs.js';
export * from './window/axis.js';
export * from './window/window.js';
