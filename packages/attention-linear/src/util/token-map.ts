// L2ViT's convolutional modules (LCM, CPE) work on a token sequence as an image: the same check, layout change
// and change back, in one place.
import { permute, reshape, type Tensor, tidy, ValueError } from '@attnkit/core';

/**
 * Applies `f` to tokens `x` `[batch, H*W, C]` seen as the image `[batch, C, H, W]` (`size` = `[H, W]`) and
 * returns its result as tokens `[batch, H*W, C]` again; errors name `op`. Intermediates are freed.
 */
export function onTokenMap(
  op: string,
  x: Tensor,
  size: readonly [number, number],
  f: (img: Tensor) => Tensor,
): Tensor {
  const [h, w] = size;
  if (x.rank !== 3 || x.shape[1] !== h * w) {
    throw new ValueError(
      op,
      'x',
      `a tensor [batch, ${h * w}, channels] for size [${h}, ${w}]`,
      `[${x.shape.join(', ')}]`,
    );
  }
  const [b, n, c] = x.shape;
  return tidy(() => permute(reshape(f(reshape(permute(x, [0, 2, 1]), [b, c, h, w])), [b, c, n]), [0, 2, 1]));
}
