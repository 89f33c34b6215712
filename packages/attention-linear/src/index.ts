/**
 * `@attnkit/attention-linear`: linear-time attention on attnkit's core. Classic linear attention and its
 * Hebbian-memory reading, Lightning Attention-2, LightNet (additive recurrence, MD-TPE, MD-LRPE), InLine,
 * L2ViT, Local Linear Attention and Kronecker attention: float64 CPU references, the `linear.decayCausal` scan
 * primitive with its backward (chunked WGSL kernels on WebGPU), gradients, layers with the official parameter
 * names, and entries in core's attention-op registry. Works with `@attnkit/core` alone.
 *
 * @packageDocumentation
 */

export * from './classic/feature-maps.js';
export * from './classic/hebbian.js';
export * from './classic/linear-attention.js';
export * from './classic/linear-attention-layer.js';
export * from './entries/register.js';
export * from './inline/inline-attention.js';
export * from './inline/inline-block.js';
export * from './inline/inline-layer.js';
export * from './kronecker/kronecker-attention.js';
export * from './kronecker/kronecker-layer.js';
export * from './l2vit/enhanced-linear-attention.js';
export * from './l2vit/l2vit-layers.js';
export * from './l2vit/lga-block.js';
export * from './lightnet/lightnet-attention.js';
export * from './lightnet/lightnet-layer.js';
export * from './lightnet/md-lrpe.js';
export * from './lightnet/md-tpe.js';
export * from './lightning/lightning-attention.js';
export * from './lightning/slopes.js';
export * from './lightning/tnl-attention.js';
export * from './lla/lla-blockwise.js';
export * from './lla/lla-direct.js';
export * from './lla/lla-layer.js';
export * from './ops/decay-causal.js';
export { decayCausalQuadratic } from './ops/decay-causal-reference.js';
export { Conv1d, type Conv1dOptions } from './util/conv1d.js';
export * from './webgpu/index.js';
