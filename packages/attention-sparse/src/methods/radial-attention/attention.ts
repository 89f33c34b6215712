import { fmtShape, reshape, ShapeError, type Tensor } from '@attnkit/core';
import { attendPattern } from '../run-pattern.js';
import { checkQkv } from '../select.js';
import { type RadialOptions, radialAttentionPattern } from './pattern.js';

/** Options of {@link radialAttention}: the pattern's, with the token counts read from q. */
export interface RadialAttentionOptions extends Omit<RadialOptions, 'tokensPerFrame' | 'frames'> {
  /** Number of frames (default: q's first token axis when q is `[batch, frames, height, width, heads, dim]`). */
  frames?: number;
  /** Logit scale (default `headDim^-0.5`). */
  scale?: number;
}

/**
 * Radial Attention (non-causal) over video tokens: `q`, `k`, `v` `[batch, frames, height, width, heads, .]`
 * or `[batch, tokens, heads, .]` with `opts.frames` (tokens = frames * tokensPerFrame + textTokens, frame
 * major, text last). The pattern is cached per shape (see {@link radialAttentionPattern}). Returns q's layout.
 *
 * @example
 * const y = radialAttention(q, k, v, { blockSize: 128, decayFactor: 0.95 });
 */
export function radialAttention(q: Tensor, k: Tensor, v: Tensor, opts: RadialAttentionOptions = {}): Tensor {
  const op = 'radialAttention';
  const flat = (t: Tensor) => reshape(t, [t.shape[0], -1, t.shape[t.rank - 2], t.shape[t.rank - 1]]);
  if (q.rank !== 4 && q.rank !== 6) {
    throw new ShapeError(
      op,
      'q',
      '[batch, frames, height, width, heads, dim] or [batch, tokens, heads, dim]',
      fmtShape(q.shape),
    );
  }
  const frames = opts.frames ?? (q.rank === 6 ? q.shape[1] : undefined);
  if (frames === undefined)
    throw new ShapeError(op, 'opts.frames', 'the number of frames for a 4-D q', 'undefined');
  const [qf, kf, vf] = [flat(q), flat(k), flat(v)];
  try {
    checkQkv(op, qf, kf, vf);
    const video = qf.shape[1] - (opts.textTokens ?? 0);
    if (video < frames || video % frames !== 0) {
      throw new ShapeError(
        op,
        'q',
        `a token count of frames (${frames}) x tokensPerFrame + textTokens`,
        fmtShape(q.shape),
      );
    }
    const pattern = radialAttentionPattern({ ...opts, frames, tokensPerFrame: video / frames });
    const out = attendPattern(qf, kf, vf, pattern, opts.scale);
    const shaped = reshape(out, [...q.shape.slice(0, -1), v.shape[v.rank - 1]]);
    if (shaped !== out) out.dispose();
    return shaped;
  } finally {
    for (const t of [qf, kf, vf]) t.dispose();
  }
}
