import { fmtShape, ShapeError } from '../../errors.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type FactoryOptions, Module, type TensorModule } from '../module.js';
import { GELU, Identity } from './activation.js';
import { Conv2d } from './conv.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { checkInt } from './util.js';

/** Options of {@link Mlp} (timm's `Mlp` keyword arguments). */
export interface MlpOptions extends FactoryOptions {
  /** Width of the hidden layer (default `inFeatures`). */
  hiddenFeatures?: number;
  /** Output width (default `inFeatures`). */
  outFeatures?: number;
  /** Makes the activation (default `() => new GELU()`, exact). */
  actLayer?: () => TensorModule;
  /**
   * Makes a norm applied to the hidden features after the activation, e.g.
   * `(dim, f) => new LayerNorm(dim, f)` (default none: an Identity, so no state-dict keys).
   */
  normLayer?: (features: number, factory: FactoryOptions) => TensorModule;
  /** Biases of fc1 and fc2 (default true for both). */
  bias?: boolean | readonly [boolean, boolean];
  /** Dropout after the activation and after fc2 (default 0 for both). */
  drop?: number | readonly [number, number];
  /** Use 1x1 Conv2d layers on `[N, C, H, W]` instead of Linear on `[..., C]` (default false). */
  useConv?: boolean;
}

/**
 * The transformer MLP block of timm (`timm.layers.Mlp`): fc1, act, drop1, norm, fc2, drop2, with the same
 * child names, so its state-dict keys are timm's: `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias` (plus
 * `norm.*` when a norm layer is given).
 */
export class Mlp extends Module {
  /** First projection, `[hidden, in]`. */
  readonly fc1: Linear | Conv2d;
  /** Activation. */
  readonly act: TensorModule;
  /** Dropout after the activation. */
  readonly drop1: Dropout;
  /** Norm of the hidden features (Identity when none). */
  readonly norm: TensorModule;
  /** Second projection, `[out, hidden]`. */
  readonly fc2: Linear | Conv2d;
  /** Dropout after fc2. */
  readonly drop2: Dropout;

  constructor(inFeatures: number, opts: MlpOptions = {}) {
    super();
    checkInt('Mlp', 'inFeatures', inFeatures);
    const hidden = opts.hiddenFeatures ?? inFeatures;
    const out = opts.outFeatures ?? inFeatures;
    checkInt('Mlp', 'hiddenFeatures', hidden);
    checkInt('Mlp', 'outFeatures', out);
    const bias =
      typeof opts.bias === 'boolean' || opts.bias === undefined
        ? [opts.bias ?? true, opts.bias ?? true]
        : opts.bias;
    const drop =
      typeof opts.drop === 'number' || opts.drop === undefined ? [opts.drop ?? 0, opts.drop ?? 0] : opts.drop;
    const f: FactoryOptions = { dtype: opts.dtype, backend: opts.backend };
    const proj = (i: number, o: number, b: boolean) =>
      opts.useConv ? new Conv2d(i, o, 1, { ...f, bias: b }) : new Linear(i, o, { ...f, bias: b });
    this.fc1 = this.registerModule('fc1', proj(inFeatures, hidden, bias[0]));
    this.act = this.registerModule('act', opts.actLayer ? opts.actLayer() : new GELU());
    this.drop1 = this.registerModule('drop1', new Dropout(drop[0]));
    this.norm = this.registerModule('norm', opts.normLayer ? opts.normLayer(hidden, f) : new Identity());
    this.fc2 = this.registerModule('fc2', proj(hidden, out, bias[1]));
    this.drop2 = this.registerModule('drop2', new Dropout(drop[1]));
  }

  /** `[..., in]` (or `[N, in, H, W]` with `useConv`) to the same layout with `out` features. */
  override forward(x: Tensor): Tensor {
    if (x.rank < 1) throw new ShapeError('Mlp', 'x', 'a tensor with a feature axis', fmtShape(x.shape));
    return tidy(() => {
      let h = this.fc1.forward(x);
      h = this.act.forward(h);
      h = this.drop1.forward(h);
      h = this.norm.forward(h);
      h = this.fc2.forward(h);
      return this.drop2.forward(h);
    });
  }
}
