/**
 * `@attnkit/attention-sparse`: content- and pattern-sparse attention on one block-sparse engine. The engine
 * (`blockSparseAttention`: for each query block a list of key blocks, an optional element mask, forward and
 * backward, float64 CPU oracle and WebGPU kernels) and the methods built on it: BiFormer's bi-level routing
 * attention, the Routing Transformer, S2-Attention, MoBA and VMoBA, Dynamic Mask Attention, PowerAttention,
 * Radial Attention and a consciousness-prior bottleneck. Importing the package registers the WebGPU kernels
 * (used when a WebGPU backend is loaded) and every method with core's attention-op registry.
 *
 * @packageDocumentation
 */
import './webgpu/index.js';

export * from './engine/index.js';
export * from './methods/index.js';
