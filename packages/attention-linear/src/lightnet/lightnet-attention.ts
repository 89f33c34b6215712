// LightNet's additive linear recurrence ("You Only Scan Once", Qin et al. 2024, arXiv 2405.21022; as coded in fla
// `fla/layers/lightnet.py` and xmixers). With z_t = logcumsumexp_{s<=t} k_s per key channel, the gated recurrence
// S_t = diag(exp(z_{t-1} - z_t)) S_{t-1} + exp(k_t - z_t) v_t^T equals the additive normalised sum
// S_t = (sum_{s<=t} e^{k_s} v_s^T) / (sum_{s<=t} e^{k_s}) (a softmax over time per key channel), which is what we
// compute: one scan with no decay. Without causality the sum runs over every token and is order-free, so one
// scan serves 2-D and 3-D token grids.
import {
  cumsum,
  div,
  einsum,
  exp,
  max,
  maximum,
  reshape,
  softmax,
  sub,
  type Tensor,
  tidy,
} from '@attnkit/core';
import { decayCausal } from '../ops/decay-causal.js';
import { checkBool, checkQkv } from '../util/check.js';

/** Options of {@link lightnetAttention}. */
export interface LightnetAttentionOptions {
  /**
   * Causal additive recurrence over the flattened (row-major) tokens (default true for one token axis, false for
   * 2-D/3-D grids, where LightNet's order-free form needs no scan order).
   */
  causal?: boolean;
}

/** Smallest normaliser used as a divisor: keeps a fully underflowed prefix at 0 instead of NaN. */
const TINY = { float32: 1e-30, float64: 1e-300 } as const;

/**
 * LightNet's additive attention: per key channel c, `o_t = sum_c q_t[c] (sum_{s} e^{k_s[c]} v_s) / (sum_{s}
 * e^{k_s[c]})` over `s <= t` (causal) or over all tokens (order-free, any token grid). Layout
 * `[batch, ...tokens, heads, dim]`; q is used as given (the model applies SiLU), k un-activated.
 *
 * Numerically safe form (our decision, the paper's code uses a gated log-cumsum-exp scan): keys are shifted by
 * their maximum over all tokens per (batch, head, channel) (a constant that cancels between the sum and its
 * normaliser, treated as a constant for gradients), so `exp` never overflows; the causal form is then one
 * `linear.decayCausal` scan of `(q / Z, exp(k - m), v)` with decay 0, `Z_t = cumsum exp(k - m)`. A prefix
 * whose keys are all more than ~87 (float32) or ~700 (float64) below the channel's maximum underflows; its
 * term is then 0 instead of NaN. Differentiable in q, k and v.
 */
export function lightnetAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LightnetAttentionOptions = {},
): Tensor {
  const op = 'lightnetAttention';
  const s = checkQkv(op, q, k, v);
  const causal = checkBool(op, 'causal', opts.causal ?? s.tokens.length === 1);
  return tidy(() => {
    const flat = (t: Tensor) => reshape(t, [s.batch, s.n, s.heads, t.shape[t.rank - 1]]);
    const fq = flat(q);
    const fk = flat(k);
    const fv = flat(v);
    let out: Tensor;
    if (causal) {
      const m = max(fk, { axis: 1, keepDims: true }).detach();
      const ek = exp(sub(fk, m));
      const z = maximum(cumsum(ek, 1), TINY[q.dtype as 'float32' | 'float64']);
      out = decayCausal(div(fq, z), ek, fv);
    } else {
      // Order-free: a softmax over all tokens per key channel, then one [dk, dv] state per (batch, head).
      const state = einsum('bnhd,bnhe->bhde', softmax(fk, 1), fv);
      out = einsum('bnhd,bhde->bnhe', fq, state);
    }
    return reshape(out, [s.batch, ...s.tokens, s.heads, s.dv]);
  });
}
