// nn: modules with PyTorch's parameter names, initialisers and losses.
export * as init from './init.js';
export {
  Flatten,
  type FlattenOptions,
  GELU,
  Identity,
  ReLU,
  Sigmoid,
  SiLU,
  Tanh,
} from './layers/activation.js';
export { BatchNorm1d, BatchNorm2d, BatchNormBase, type BatchNormModuleOptions } from './layers/batchnorm.js';
export { ModuleDict, ModuleList, Sequential } from './layers/container.js';
export { Conv2d, type Conv2dOptions, type Size2 } from './layers/conv.js';
export { Dropout, type DropoutModuleOptions, type DropoutOptions, dropout } from './layers/dropout.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { Mlp, Mlp as MLP, type MlpOptions } from './layers/mlp.js';
export {
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
  RMSNorm,
  type RMSNormOptions,
} from './layers/norm.js';
export {
  type BceWithLogitsOptions,
  binaryCrossEntropyWithLogits,
  type CrossEntropyOptions,
  crossEntropy,
  type DistillationLossOptions,
  distillationLoss,
  type KlDivOptions,
  type KlReduction,
  klDiv,
  l1Loss,
  mseLoss,
  type Reduction,
  type RegressionLossOptions,
  type SmoothL1LossOptions,
  smoothL1Loss,
} from './losses.js';
export {
  type BufferOptions,
  type FactoryOptions,
  type LoadStateDictOptions,
  Module,
  type ParameterOptions,
  type TensorModule,
} from './module.js';
export {
  type LoadStateDictResult,
  type ShapeMismatch,
  StateDictError,
  type StateDictSource,
} from './state-dict.js';
