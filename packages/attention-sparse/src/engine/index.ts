/**
 * The block-sparse attention engine: the `sparse.blockForward` / `sparse.blockBackward` primitives with their
 * float64 CPU kernels (the oracle), the public {@link blockSparseAttention}, and the layout tools.
 *
 * @module
 */
import './cpu-kernels.js';

export {
  type BlockLayout,
  type BlockSparseOptions,
  type BlockSparseResult,
  blockSparseAttention,
} from './block-sparse.js';
export { type BlockSparseAttrs, blockBackwardOp, blockForwardOp } from './defs.js';
export {
  type BlockSizes,
  type DenseMaskLayout,
  denseMaskFromLayout,
  layoutFromBlockLists,
  layoutFromBlockMask,
  layoutFromDenseMask,
  type PatternOptions,
  type PatternStats,
  patternStats,
} from './layout.js';
