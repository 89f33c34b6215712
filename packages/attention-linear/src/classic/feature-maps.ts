// Feature maps phi of kernelised ("linear") attention, applied to queries and keys.
import { add, elu, relu, type Tensor, ValueError } from '@attnkit/core';

/** The built-in feature maps: `elu(x) + 1` (Katharopoulos et al.), `relu(x)`, and `x` itself. */
export type FeatureMapName = 'elu+1' | 'relu' | 'identity';

/**
 * A feature map: a built-in name, or a function applied element-wise or along the head dim (it must keep the
 * shape `[..., headDim]`, or change only the last axis, equally for queries and keys).
 */
export type FeatureMap = FeatureMapName | ((x: Tensor) => Tensor);

/** Applies `map` to `x`; names the op and lists the built-in maps when `map` is unknown. */
export function applyFeatureMap(op: string, map: FeatureMap, x: Tensor): Tensor {
  if (typeof map === 'function') return map(x);
  switch (map) {
    case 'elu+1': {
      const e = elu(x);
      const out = add(e, 1);
      e.dispose();
      return out;
    }
    case 'relu':
      return relu(x);
    case 'identity':
      return x;
    default:
      throw new ValueError(op, 'featureMap', "'elu+1', 'relu', 'identity' or a function", String(map));
  }
}
