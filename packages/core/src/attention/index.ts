// The attention-op registry: what attention packages register so that tools run every op they provide, the
// workload and input helpers those entries are written with, and the float64 softmax-attention oracle.
import './sdpa-entry.js';

export { type AttentionInputs, disposeAttentionInputs, type MakeInputsOptions, randomQkv } from './inputs.js';
export {
  type AttentionReference,
  type SoftmaxReferenceOptions,
  softmaxAttentionReference,
  softmaxAttentionWeights,
} from './reference.js';
export {
  type AttentionOpEntry,
  acceptsTokenRank,
  attentionWorkloadFor,
  getAttentionOp,
  listAttentionOps,
  registerAttentionOp,
  type TokenRank,
  unregisterAttentionOp,
} from './registry.js';
export { checkAttentionOutput, type ReferenceCheck } from './verify.js';
export {
  type AttentionParam,
  type AttentionShape,
  type AttentionWorkload,
  checkAttentionShape,
  formatWorkload,
  gatherQueryRows,
  type LandmarkQuery,
  landmarkQueries,
  sampleQueryRows,
  tokenCoords,
  tokenCount,
  tokenIndex,
} from './workload.js';
