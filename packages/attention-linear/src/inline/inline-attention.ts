// InLine attention (Han et al., "Bridging the Divide: Reconsidering Softmax and Linear Attention", NeurIPS 2024;
// LeapLabTHU/InLine): injective linear attention whose weights phi(q_i).k_j - mean_s phi(q_i).k_s + 1/N sum to 1
// per row, computed kv-first as the released code does, plus its local term (a per-sample 3x3 depthwise conv of
// V whose kernel is predicted from the token mean).
import {
  add,
  conv2d,
  einsum,
  mean,
  mul,
  permute,
  reshape,
  sub,
  type Tensor,
  tidy,
  unsqueeze,
  ValueError,
} from '@attnkit/core';
import { applyFeatureMap, type FeatureMap } from '../classic/feature-maps.js';
import { checkNumber, checkQkv } from '../util/check.js';

/** Options of {@link inlineAttention} and {@link inlineWeights}. */
export interface InlineAttentionOptions {
  /** Scale of `phi(q) . k` (default `1 / sqrt(headDim)`, as the released models). */
  scale?: number;
  /** Feature map of q and k (default `'identity'`: the released models never set another). */
  featureMap?: FeatureMap;
}

function resolve(op: string, dk: number, opts: InlineAttentionOptions) {
  return {
    scale: checkNumber(op, 'scale', opts.scale ?? 1 / Math.sqrt(dk), 0, true),
    featureMap: opts.featureMap ?? 'identity',
  };
}

/**
 * InLine attention's global term: `o_i = sum_j w_ij v_j` with
 * `w_ij = (scale/N) phi(q_i).phi(k_j) - (scale/N) phi(q_i).mean_s phi(k_s) + 1/N`, computed in O(N d e) as the
 * released code: `o = q (k^T v) scale/N + (1 - scale q . mean(k)) mean(v)`. Non-causal; layout
 * `[batch, ...tokens, heads, dim]` (all tokens of the grid attend each other). Differentiable.
 */
export function inlineAttention(q: Tensor, k: Tensor, v: Tensor, opts: InlineAttentionOptions = {}): Tensor {
  const op = 'inlineAttention';
  const s = checkQkv(op, q, k, v);
  const { scale, featureMap } = resolve(op, s.dk, opts);
  return tidy(() => {
    const flat = (t: Tensor) => reshape(t, [s.batch, s.n, s.heads, t.shape[t.rank - 1]]);
    const fq = flat(applyFeatureMap(op, featureMap, q));
    const fk = flat(applyFeatureMap(op, featureMap, k));
    const fv = flat(v);
    const kv = mul(einsum('bnhd,bnhe->bhde', fk, fv), scale / s.n);
    const kMean = mean(fk, { axis: 1 }); // [b, h, d]
    const vMean = unsqueeze(mean(fv, { axis: 1 }), 1); // [b, 1, h, e]
    const gate = unsqueeze(sub(1, mul(einsum('bnhd,bhd->bnh', fq, kMean), scale)), 3); // [b, n, h, 1]
    const out = add(einsum('bnhd,bhde->bnhe', fq, kv), mul(gate, vMean));
    return reshape(out, [s.batch, ...s.tokens, s.heads, s.dv]);
  });
}

/**
 * The explicit InLine weights `[batch, heads, N, N]` (row i: query i over keys j), which sum to 1 per row and
 * may be negative. For checks and pictures; O(N^2). Differentiable.
 */
export function inlineWeights(q: Tensor, k: Tensor, opts: InlineAttentionOptions = {}): Tensor {
  const op = 'inlineWeights';
  const s = checkQkv(op, q, k, k);
  const { scale, featureMap } = resolve(op, s.dk, opts);
  return tidy(() => {
    const flat = (t: Tensor) => reshape(t, [s.batch, s.n, s.heads, t.shape[t.rank - 1]]);
    const fq = flat(applyFeatureMap(op, featureMap, q));
    const fk = flat(applyFeatureMap(op, featureMap, k));
    const dots = mul(einsum('bihd,bjhd->bhij', fq, fk), scale / s.n);
    return add(sub(dots, mean(dots, { axis: 3, keepDims: true })), 1 / s.n);
  });
}

/**
 * InLine's local term: `v` laid out `[batch, height, width, channels]` (channels = heads * headDim, head-major as
 * the released code), `kernels` `[batch, channels, 3, 3]` (one 3x3 kernel per sample and channel, predicted by
 * the layer); returns the depthwise convolution (zero padding 1) `[batch, height, width, channels]`.
 */
export function inlineLocalTerm(v: Tensor, kernels: Tensor): Tensor {
  const op = 'inlineLocalTerm';
  v.assertAlive(op, 'v');
  kernels.assertAlive(op, 'kernels');
  if (v.rank !== 4)
    throw new ValueError(op, 'v', 'a tensor [batch, height, width, channels]', `[${v.shape.join(', ')}]`);
  const [b, h, w, c] = v.shape;
  if (kernels.rank !== 4 || kernels.shape.join() !== [b, c, 3, 3].join()) {
    throw new ValueError(op, 'kernels', `a tensor [${b}, ${c}, 3, 3]`, `[${kernels.shape.join(', ')}]`);
  }
  return tidy(() => {
    // All samples' channels as groups of one image: [1, b*c, h, w] with the [b*c, 1, 3, 3] kernels.
    const img = reshape(permute(v, [0, 3, 1, 2]), [1, b * c, h, w]);
    const out = conv2d(img, reshape(kernels, [b * c, 1, 3, 3]), null, { padding: 1, groups: b * c });
    return permute(reshape(out, [b, c, h, w]), [0, 2, 3, 1]);
  });
}
