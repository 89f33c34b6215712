import { isFloat } from '../../dtype.js';
import { DTypeError } from '../../errors.js';
import { mul } from '../../ops/elementwise/binary.js';
import { tensor } from '../../tensor/creation.js';
import { type Generator, globalGenerator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { checkRange, pyNum } from './util.js';

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Apply dropout (default true); false returns `x` itself. */
  training?: boolean;
  /** Generator for the mask (default: the global one, see {@link manualSeed}). */
  generator?: Generator;
}

/**
 * Inverted dropout (`torch.nn.functional.dropout`): zeroes each element with probability `p` and scales the
 * rest by `1 / (1 - p)`, so the expected value is unchanged and evaluation needs no rescaling. Returns `x`
 * itself when not training or when `p` is 0. The mask is drawn on the host and uploaded with `x`'s dtype.
 */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  x.assertAlive('dropout', 'x');
  checkRange('dropout', 'p', p, 0, 1);
  if (!isFloat(x.dtype)) throw new DTypeError('dropout', 'x', 'a float32 or float64 tensor', x.dtype);
  if (!(opts.training ?? true) || p === 0) return x;
  const g = opts.generator ?? globalGenerator();
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const values = x.dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size);
  // Keep with probability 1 - p (torch's bernoulli(1 - p)): u in [0, 1) is below 1 - p that often.
  for (let i = 0; i < values.length; i++) values[i] = g.uniform() < 1 - p ? scale : 0;
  const mask = tensor(values, { shape: x.shape, backend: x.backend.name });
  const out = mul(x, mask);
  mask.dispose();
  return out;
}

/** Options of {@link Dropout}. */
export interface DropoutModuleOptions {
  /** Generator for the masks (default: the global one at each call). */
  generator?: Generator;
}

/**
 * Dropout as a module (`torch.nn.Dropout`): {@link dropout} in training mode, the identity (returning its
 * input) in evaluation mode.
 */
export class Dropout extends Module {
  /** Probability of zeroing an element. */
  readonly p: number;
  /** Generator for the masks (the global one when undefined). */
  readonly generator: Generator | undefined;

  constructor(p = 0.5, opts: DropoutModuleOptions = {}) {
    super();
    checkRange('Dropout', 'p', p, 0, 1);
    this.p = p;
    this.generator = opts.generator;
  }

  /** Drops elements of `x` in training mode; returns `x` in evaluation mode. */
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${pyNum(this.p)}`;
  }
}
