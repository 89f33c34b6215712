import { fmtShape, ShapeError, ValueError } from '../../errors.js';
import { conv2d } from '../../ops/conv/conv.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from '../init.js';
import { type FactoryOptions, Module } from '../module.js';
import { checkInt, pyBool } from './util.js';

/** A size given once for both spatial axes or as `[height, width]`. */
export type Size2 = number | readonly [number, number];

/** Options of {@link Conv2d} (as `torch.nn.Conv2d`'s keyword arguments). */
export interface Conv2dOptions extends FactoryOptions {
  /** Step between output positions (default 1). */
  stride?: Size2;
  /** Zero padding on each side (default 0), `'valid'` (none) or `'same'` (stride 1 only). */
  padding?: Size2 | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: Size2;
  /** Channel groups (default 1); `groups = inChannels` is depthwise. */
  groups?: number;
  /** Learn a per-channel bias (default true). */
  bias?: boolean;
}

function pair(op: string, arg: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v !== 'number' && v.length !== 2) || p.some((d) => !Number.isInteger(d) || d < min)) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new ValueError(op, arg, `${what} or a pair of them`, JSON.stringify(v));
  }
  return p;
}

/**
 * 2-d convolution layer, as `torch.nn.Conv2d`: `weight` `[out, in / groups, kH, kW]` and `bias` `[out]`, both
 * initialised U(±1/√fanIn) with `fanIn = in / groups · kH · kW`. Input `[N, in, H, W]` (or unbatched
 * `[in, H, W]`).
 */
export class Conv2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** `[kH, kW]`. */
  readonly kernelSize: [number, number];
  /** `[sH, sW]`. */
  readonly stride: [number, number];
  /** `[pH, pW]`, or `'same'`/`'valid'`. */
  readonly padding: [number, number] | 'same' | 'valid';
  /** `[dH, dW]`. */
  readonly dilation: [number, number];
  /** Channel groups. */
  readonly groups: number;
  /** `[out, in / groups, kH, kW]`. */
  readonly weight: Tensor;
  /** `[out]`, or null without bias. */
  readonly bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dOptions = {}) {
    super();
    checkInt('Conv2d', 'inChannels', inChannels);
    checkInt('Conv2d', 'outChannels', outChannels);
    const groups = opts.groups ?? 1;
    checkInt('Conv2d', 'groups', groups);
    if (inChannels % groups !== 0) {
      throw new ValueError('Conv2d', 'groups', `a divisor of inChannels (${inChannels})`, String(groups));
    }
    if (outChannels % groups !== 0) {
      throw new ValueError('Conv2d', 'groups', `a divisor of outChannels (${outChannels})`, String(groups));
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', opts.stride ?? 1, 1);
    this.dilation = pair('Conv2d', 'dilation', opts.dilation ?? 1, 1);
    const padding = opts.padding ?? 0;
    this.padding =
      padding === 'same' || padding === 'valid' ? padding : pair('Conv2d', 'padding', padding, 0);
    if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new ValueError('Conv2d', 'stride', "1 when padding is 'same'", JSON.stringify(opts.stride));
    }
    this.groups = groups;
    const f = { dtype: opts.dtype ?? 'float32', backend: opts.backend };
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = this.registerParameter('weight', zeros(shape, f));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', zeros([outChannels], f)) : null;
    this.resetParameters();
  }

  /** Redraws the parameters with the default initialisation. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.weight);
      const bound = 1 / Math.sqrt(fanIn);
      uniform_(this.bias, -bound, bound);
    }
  }

  /** `x` `[N, in, H, W]` to `[N, out, OH, OW]`. */
  override forward(x: Tensor): Tensor {
    if ((x.rank !== 4 && x.rank !== 3) || x.shape[x.rank - 3] !== this.inChannels) {
      throw new ShapeError(
        'Conv2d',
        'x',
        `of shape [N, ${this.inChannels}, H, W] or [${this.inChannels}, H, W]`,
        fmtShape(x.shape),
      );
    }
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    const t = (p: readonly number[]) => `(${p.join(', ')})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${t(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += `, bias=${pyBool(false)}`;
    return s;
  }
}
