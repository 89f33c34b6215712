// A 1-d convolution layer with torch.nn.Conv1d's parameter names (core has the conv1d op but no module for it).
import { conv1d, type FactoryOptions, init, Module, type Tensor, ValueError, zeros } from '@attnkit/core';
import { checkInt } from './check.js';

/** Options of {@link Conv1d}. */
export interface Conv1dOptions extends FactoryOptions {
  /** Channel groups (default 1). */
  groups?: number;
  /** Zero padding on both sides (default 0). */
  padding?: number;
  /** Learn a bias (default true). */
  bias?: boolean;
}

/**
 * `torch.nn.Conv1d`: `weight` `[out, in / groups, kernelSize]`, `bias` `[out]`, both U(±1/sqrt(fanIn)) with
 * `fanIn = in / groups * kernelSize`, as PyTorch. Input `[N, in, L]`.
 */
export class Conv1d extends Module {
  /** `[out, in / groups, kernelSize]`. */
  readonly weight: Tensor;
  /** `[out]` or null. */
  readonly bias: Tensor | null;
  /** Channel groups. */
  readonly groups: number;
  /** Zero padding on both sides. */
  readonly padding: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dOptions = {}) {
    super();
    checkInt('Conv1d', 'inChannels', inChannels, 1);
    checkInt('Conv1d', 'outChannels', outChannels, 1);
    checkInt('Conv1d', 'kernelSize', kernelSize, 1);
    this.groups = checkInt('Conv1d', 'groups', opts.groups ?? 1, 1);
    this.padding = checkInt('Conv1d', 'padding', opts.padding ?? 0, 0);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(
        'Conv1d',
        'groups',
        `a divisor of ${inChannels} and ${outChannels}`,
        String(this.groups),
      );
    }
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const fanIn = (inChannels / this.groups) * kernelSize;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.registerParameter(
      'weight',
      zeros([outChannels, inChannels / this.groups, kernelSize], f),
    );
    init.uniform_(this.weight, -bound, bound);
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', zeros([outChannels], f)) : null;
    if (this.bias) init.uniform_(this.bias, -bound, bound);
  }

  /** `x` `[N, in, L]` to `[N, out, L_out]`. */
  override forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { groups: this.groups, padding: this.padding });
  }
}
