// Radial Attention (mit-han-lab/radial-attention, arXiv 2506.19852): a static spatio-temporal mask over video
// tokens whose spatial window halves each time the temporal distance doubles, and whose far frame pairs are
// kept only every `split`-th distance, converted to blocks by the reference's "strict shrink" rule. Spec
// section 9. Unlike the reference's class-level cache, ours is keyed by every parameter, so a new shape
// rebuilds the mask.
import { ValueError } from '@attnkit/core';
import { type BlockPattern, patternFromBlockMask } from '../pattern.js';

/** Options of {@link radialAttentionPattern}. */
export interface RadialOptions {
  /** Number of frames F. */
  frames: number;
  /** Tokens per frame P (video tokens = F * P, frame-major). */
  tokensPerFrame: number;
  /** Block size of the block mask (reference: 128). It is also the width floor and the split threshold. */
  blockSize?: number;
  /** Multiplies the window width (reference: Wan 0.2, HunyuanVideo 0.95; default 1). */
  decayFactor?: number;
  /** `'wan'` makes frame 0 an attention sink (dense column of frame pairs); default `'hunyuan'`. */
  modelType?: 'hunyuan' | 'wan';
  /** Text tokens after the video, attended densely in both directions (default 0). */
  textTokens?: number;
}

const OP = 'radialAttentionPattern';

const bitLength = (x: number): number => (x <= 0 ? 0 : Math.floor(Math.log2(x)) + 1);

/**
 * The rule inside one frame pair (query frame `i`, key frame `j`): `null` when the pair is dropped, otherwise
 * the window width `w` (`|c - r| <= w` for within-frame token indices `r`, `c`; `w >= P` means dense).
 */
export function radialPairWidth(i: number, j: number, o: RadialOptions): number | null {
  const P = o.tokensPerFrame;
  const block = o.blockSize ?? 128;
  const dist = Math.abs(i - j);
  if ((o.modelType ?? 'hunyuan') === 'wan' && j === 0) return P;
  if (dist <= 1) return P;
  const grp = bitLength(dist);
  const base = 2 ** bitLength(P) / 2 ** grp;
  // Temporal split: once the (undecayed) window falls below a block, keep only every `split`-th distance.
  if (base < block) {
    const split = Math.floor(block / base);
    if (dist % split !== 0) return null;
  }
  return Math.max(base * (o.decayFactor ?? 1), block);
}

function validate(o: RadialOptions): Required<RadialOptions> {
  const int = (arg: string, v: unknown, min: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
      throw new ValueError(OP, arg, `an integer >= ${min}`, String(v));
    }
    return v;
  };
  const d = o.decayFactor ?? 1;
  if (!(typeof d === 'number' && d > 0 && Number.isFinite(d))) {
    throw new ValueError(OP, 'decayFactor', 'a positive number', String(d));
  }
  const m = o.modelType ?? 'hunyuan';
  if (m !== 'hunyuan' && m !== 'wan') throw new ValueError(OP, 'modelType', "'hunyuan' or 'wan'", String(m));
  const blockSize = int('blockSize', o.blockSize ?? 128, 1);
  // With frames shorter than a block the strict shrink can drop diagonal blocks and leave rows empty.
  const tokensPerFrame = int('tokensPerFrame', o.tokensPerFrame, blockSize);
  return {
    frames: int('frames', o.frames, 1),
    tokensPerFrame,
    blockSize,
    decayFactor: d,
    modelType: m,
    textTokens: int('textTokens', o.textTokens ?? 0, 0),
  };
}

/** Rows `r` in `[r0, r1)` with `|c - r| <= w`. */
const rowsWithin = (c: number, w: number, r0: number, r1: number) =>
  Math.max(0, Math.min(r1, Math.floor(c + w) + 1) - Math.max(r0, Math.ceil(c - w)));

/**
 * The radial block mask `[nB, nB]` (0/1), `nB = ceil((F * P + textTokens) / blockSize)`. Each frame pair's
 * token mask is placed at its offset in the block grid and shrunk "strictly": a block is kept when more than
 * 60% of its columns that have any allowed element have more than a third of the block's rows allowed.
 * Blocks from `floor(F * P / blockSize)` on are dense (text tokens, as the reference).
 */
export function radialBlockMask(opts: RadialOptions): Uint8Array {
  const o = validate(opts);
  const { frames: F, tokensPerFrame: P, blockSize: B } = o;
  const video = F * P;
  const nB = Math.ceil((video + o.textTokens) / B);
  const out = new Uint8Array(nB * nB);
  for (let i = 0; i < F; i++) {
    for (let j = 0; j < F; j++) {
      const w = radialPairWidth(i, j, o);
      if (w === null) continue;
      // Blocks the pair touches; within a block, only the pair's own rows and columns count (the reference
      // shrinks each pair's mask padded with zeros).
      for (let rb = Math.floor((i * P) / B); rb * B < (i + 1) * P; rb++) {
        const r0 = Math.max(rb * B, i * P) - i * P;
        const r1 = Math.min((rb + 1) * B, (i + 1) * P) - i * P;
        for (let cb = Math.floor((j * P) / B); cb * B < (j + 1) * P; cb++) {
          if (out[rb * nB + cb]) continue;
          const c0 = Math.max(cb * B, j * P) - j * P;
          const c1 = Math.min((cb + 1) * B, (j + 1) * P) - j * P;
          let nonzero = 0;
          let high = 0;
          for (let c = c0; c < c1; c++) {
            const count = rowsWithin(c, w, r0, r1);
            if (count > 0) nonzero++;
            if (count / B > 1 / 3) high++;
          }
          if (high / (nonzero + 1e-9) > 0.6) out[rb * nB + cb] = 1;
        }
      }
    }
  }
  // As the reference: every block row and column from the video/text border on is dense.
  const border = Math.floor(video / B);
  for (let r = 0; r < nB; r++)
    for (let c = 0; c < nB; c++) if (r >= border || c >= border) out[r * nB + c] = 1;
  return out;
}

const cache = new Map<string, BlockPattern>();

/**
 * The Radial Attention pattern (non-causal, shared by every batch item and head) over `F * P + textTokens`
 * tokens. Built once per distinct set of options and cached: a change of any size rebuilds it.
 */
export function radialAttentionPattern(opts: RadialOptions): BlockPattern {
  const o = validate(opts);
  const key = JSON.stringify(o);
  const hit = cache.get(key);
  if (hit) return hit;
  const n = o.frames * o.tokensPerFrame + o.textTokens;
  const p = patternFromBlockMask(
    OP,
    { nq: n, nk: n, blockQ: o.blockSize, blockK: o.blockSize, batch: 1, heads: 1, causal: false },
    radialBlockMask(o),
  );
  if (cache.size > 32) cache.clear();
  cache.set(key, p);
  return p;
}
