// Lightning Attention-2 (Qin et al. 2024, OpenNLPLab/lightning-attention): decayed causal linear attention. The
// op itself is the `linear.decayCausal` primitive (chunked on WebGPU); this file adds the default ALiBi decays and
// a block-wise form written with core ops (intra-block quadratic + inter-block state), which tests hold against
// the recurrent kernel and the quadratic form, and whose autograd gradient checks the backward primitive.
import {
  add,
  concat,
  matmul,
  mul,
  narrow,
  permute,
  type Tensor,
  tensor,
  tidy,
  transpose,
  ValueError,
  zeros,
} from '@attnkit/core';
import { decayCausal } from '../ops/decay-causal.js';
import { checkInt, checkQkv } from '../util/check.js';
import { alibiSlopes, tnlLayerSlopes } from './slopes.js';

/** Options of {@link lightningAttention}. */
export interface LightningAttentionOptions {
  /** Per-head decay rates `s_h >= 0` (default: {@link alibiSlopes} of the number of heads; 0 = no decay). */
  decay?: readonly number[];
  /**
   * TransNormerLLM's per-layer scaling of the default slopes ({@link tnlLayerSlopes}): this layer's index and
   * the number of layers. Ignored when `decay` is given.
   */
  tnlLayer?: {
    /** This layer's index, from 0. */
    layerIdx: number;
    /** Layers in the model. */
    numLayers: number;
  };
}

function resolveDecay(heads: number, opts: LightningAttentionOptions): readonly number[] {
  if (opts.decay) return opts.decay;
  if (opts.tnlLayer) return tnlLayerSlopes(heads, opts.tnlLayer.layerIdx, opts.tnlLayer.numLayers);
  return alibiSlopes(heads);
}

/**
 * Lightning Attention-2: `o_t = sum_{s<=t} exp(-s_h (t-s)) (q_t . k_s) v_s` per head, with no scale, feature map or
 * normalisation inside (TransNormerLLM applies SiLU before and a norm after). Layout `[batch, n, heads, dim]`
 * (one token axis), any n and head dims (no power-of-two limits, unlike the Triton kernel). Runs the
 * `linear.decayCausal` primitive: float64 recurrence on the CPU, chunked kernel on WebGPU. Differentiable.
 *
 * @example
 * const o = lightningAttention(silu(q), silu(k), silu(v)); // ALiBi decays per head
 */
export function lightningAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LightningAttentionOptions = {},
): Tensor {
  const s = checkQkv('lightningAttention', q, k, v);
  if (s.tokens.length !== 1) {
    throw new ValueError(
      'lightningAttention',
      'q',
      'one token axis [batch, n, heads, dim]',
      `${s.tokens.length} token axes`,
    );
  }
  return decayCausal(q, k, v, { decay: [...resolveDecay(s.heads, opts)] });
}

/** Options of {@link lightningAttentionBlockwise}. */
export interface LightningBlockwiseOptions extends LightningAttentionOptions {
  /** Tokens per block (default 64, as the Triton kernel); the last block may be shorter. */
  blockSize?: number;
}

/**
 * Lightning Attention-2 computed block by block as in the paper's Algorithm 1, with core ops: within a block the
 * decay-masked quadratic form, across blocks a `[dk, dv]` state per (batch, head) carried with decay
 * `lambda^B`. Same result as {@link lightningAttention} (up to rounding), any n (a shorter tail block), and
 * differentiable by autograd. A reference for chunked kernels; O(n B (dk + dv) + n dk dv) work.
 */
export function lightningAttentionBlockwise(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LightningBlockwiseOptions = {},
): Tensor {
  const op = 'lightningAttentionBlockwise';
  const s = checkQkv(op, q, k, v);
  if (s.tokens.length !== 1) {
    throw new ValueError(op, 'q', 'one token axis [batch, n, heads, dim]', `${s.tokens.length} token axes`);
  }
  const blockSize = checkInt(op, 'blockSize', opts.blockSize ?? 64, 1);
  const decay = resolveDecay(s.heads, opts);
  if (decay.length !== s.heads || decay.some((d) => !Number.isFinite(d) || d < 0)) {
    throw new ValueError(op, 'decay', `${s.heads} finite rates >= 0`, `[${decay.join(', ')}]`);
  }
  const f = { dtype: q.dtype, backend: q.backend.name };
  // lambda_h^e for each head and exponent e(a, b): a [heads, rows, cols] constant.
  const powers = (rows: number, cols: number, e: (a: number, b: number) => number) => {
    const out = new Float64Array(s.heads * rows * cols);
    for (let h = 0; h < s.heads; h++) {
      for (let a = 0; a < rows; a++) {
        for (let b = 0; b < cols; b++) {
          const x = e(a, b);
          out[(h * rows + a) * cols + b] = x < 0 ? 0 : Math.exp(-decay[h] * x);
        }
      }
    }
    return tensor(out, { ...f, shape: [s.heads, rows, cols] });
  };
  return tidy(() => {
    const qh = permute(q, [0, 2, 1, 3]); // [B, H, n, dk]
    const kh = permute(k, [0, 2, 1, 3]);
    const vh = permute(v, [0, 2, 1, 3]);
    let kv = zeros([s.batch, s.heads, s.dk, s.dv], f);
    const outs: Tensor[] = [];
    for (let start = 0; start < s.n; start += blockSize) {
      const len = Math.min(blockSize, s.n - start);
      const qb = narrow(qh, 2, start, len);
      const kb = narrow(kh, 2, start, len);
      const vb = narrow(vh, 2, start, len);
      const diag = powers(len, len, (a, b) => (a >= b ? a - b : -1)); // lambda^(a-b) on and below the diagonal
      const qDecay = powers(len, 1, (a) => a); // lambda^a
      const kDecay = powers(len, 1, (a) => len - a); // lambda^(len-a)
      const blockDecay = powers(1, 1, () => len); // lambda^len
      const intra = matmul(mul(matmul(qb, transpose(kb)), diag), vb);
      const inter = mul(matmul(qb, kv), qDecay);
      outs.push(add(intra, inter));
      kv = add(mul(kv, blockDecay), matmul(transpose(mul(kb, kDecay)), vb));
    }
    return permute(concat(outs, 2), [0, 2, 1, 3]);
  });
}
