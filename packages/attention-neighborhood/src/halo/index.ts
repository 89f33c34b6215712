// HaloNet blocked attention: its CPU kernels register on import.

export { type HaloAttentionOptions, haloAttention } from './halo.js';
export { type HaloAttrs, haloBackwardOp, haloOp } from './halo-op.js';
export { type HaloParams, haloKeys } from './window.js';
