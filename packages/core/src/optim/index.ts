// optim: optimizers, learning-rate schedules and gradient clipping.
export { Adam, type AdamHyperparams, AdamW } from './adamw.js';
export { type ClipGradNormOptions, clipGradNorm, clipGradValue } from './clip.js';
export {
  type BaseHyperparams,
  Optimizer,
  type OptimizerParams,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
} from './optimizer.js';
export {
  CosineAnnealingLR,
  type CosineAnnealingOptions,
  type CosineScheduleOptions,
  cosineSchedule,
  LambdaLR,
  LinearLR,
  type LinearLROptions,
  LRScheduler,
  SequentialLR,
  StepLR,
  type StepLROptions,
  WarmupCosineLR,
  type WarmupCosineOptions,
} from './schedules.js';
export { SGD, type SGDHyperparams } from './sgd.js';
