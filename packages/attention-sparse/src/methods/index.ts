// Every method of the package: pattern builders (host), device-side routing, the attention functions, the
// modules, and the host pattern tools. Importing it registers the methods with core's attention registry.
import './entries.js';

export {
  type BiformerOptions,
  biformerAttention,
  biformerLayout,
  biformerRegions,
  localContext,
} from './biformer/bra.js';
export {
  BIFORMER_VARIANTS,
  type BiformerStage,
  type BiformerVariant,
  BiLevelRoutingAttention,
  type BraOptions,
  biformerStage,
} from './biformer/module.js';
export {
  type BottleneckOptions,
  ConsciousnessBottleneck,
  type ConsciousnessOptions,
  consciousnessAttention,
  consciousSelection,
} from './consciousness/bottleneck.js';
export {
  type DmaOptions,
  DynamicMaskBias,
  dmaKeySelection,
  dmaLayout,
  dynamicMaskAttention,
} from './dynamic-mask/dma.js';
export { SPARSE_ATTENTION_OPS } from './entries.js';
export { type MobaOptions, mobaAttention, mobaLayout } from './moba/moba.js';
export {
  type BlockPattern,
  blockDensity,
  blockMaskOf,
  denseMaskOf,
  type ElementMask,
  keyBlocks,
  listedBlocks,
  maskPicture,
  type PatternShape,
  patternFromBlockMask,
  patternFromLists,
  patternPicture,
  queryBlocks,
} from './pattern.js';
export { type PowerAttentionCallOptions, powerAttention } from './power-attention/attention.js';
export {
  type PowerAttentionOptions,
  powerAttentionPattern,
  powerBlockAllowed,
} from './power-attention/pattern.js';
export { type RadialAttentionOptions, radialAttention } from './radial-attention/attention.js';
export {
  type RadialOptions,
  radialAttentionPattern,
  radialBlockMask,
  radialPairWidth,
} from './radial-attention/pattern.js';
export { RoutingAttention, type RoutingAttentionOptions, type RoutingResult } from './routing/kmeans.js';
export { type RoutingWeights, routingWeights } from './routing/reference.js';
export { clusterMembers, type RoutingOptions, routingAttention } from './routing/routing.js';
export { attendPattern, layoutOf } from './run-pattern.js';
export { type S2AttentionOptions, s2Attention } from './s2-attention/attention.js';
export {
  checkS2Coverage,
  type S2Options,
  s2AttentionPattern,
  s2BlockAllowed,
  s2UncoveredBlocks,
} from './s2-attention/pattern.js';
export { listsFromSelection } from './select.js';
export {
  type PartitionPlan,
  type VmobaPartition,
  vmobaLayerPartition,
  vmobaPartition,
} from './vmoba/partition.js';
export {
  type VmobaOptions,
  type VmobaSelection,
  vmobaAttention,
  vmobaLayout,
  vmobaSelection,
} from './vmoba/vmoba.js';
