// optim: optimizers, learning-rate schedules and gradient clipping.
export { type AdamStepAttrs, adamStepOp } from './adam-step.js';
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
  type SavedParamGroup,
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
  type SchedulerStateDict,
  SequentialLR,
  StepLR,
  type StepLROptions,
  WarmupCosineLR,
  type WarmupCosineOptions,
} from './schedules.js';
export { SGD, type SGDHyperparams } from './sgd.js';
