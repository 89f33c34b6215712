import { backendsUnderTest, gradcheck } from '@attnkit/core/testing';
import { describe, expect, it } from 'vitest';
import { blockDensity } from '../../src/methods/pattern.js';
import { radialAttention } from '../../src/methods/radial-attention/attention.js';
import {
  type RadialOptions,
  radialAttentionPattern,
  radialBlockMask,
  radialPairWidth,
} from '../../src/methods/radial-attention/pattern.js';
import { expectMatchesDense, qkv } from './helpers.js';

/**
 * The reference's gen_log_mask_shrinked, transcribed literally from the spec: each frame pair's token mask
 * materialised, padded to its block offset, shrunk (60% of nonzero columns above 1/3 density), OR-ed.
 */
function literalBlockMask(o: Required<RadialOptions>): Uint8Array {
  const { frames: F, tokensPerFrame: P, blockSize: B } = o;
  const nB = Math.ceil((F * P + o.textTokens) / B);
  const out = new Uint8Array(nB * nB);
  const bitLength = (x: number) => (x === 0 ? 0 : x.toString(2).length);
  for (let i = 0; i < F; i++) {
    for (let j = 0; j < F; j++) {
      const dist = Math.abs(i - j);
      let width: number;
      let keep = true;
      if (o.modelType === 'wan' && j === 0) width = P;
      else if (dist <= 1) width = P;
      else {
        const d2 = 2 ** bitLength(P) / 2 ** bitLength(dist);
        width = Math.max(d2 * o.decayFactor, B);
        if (d2 < B) keep = dist % Math.floor(B / d2) === 0;
      }
      const r0 = (i * P) % B;
      const c0 = (j * P) % B;
      const rows = r0 + Math.ceil(P / B) * B;
      const cols = c0 + Math.ceil(P / B) * B;
      const local = new Uint8Array(rows * cols);
      for (let r = 0; r < P; r++)
        for (let c = 0; c < P; c++)
          local[(r0 + r) * cols + c0 + c] = keep && Math.abs(c - r) <= width ? 1 : 0;
      const nr = Math.floor(rows / B);
      const nc = Math.floor(cols / B);
      for (let br = 0; br < nr; br++) {
        for (let bc = 0; bc < nc; bc++) {
          let nonzero = 0;
          let high = 0;
          for (let c = 0; c < B; c++) {
            let s = 0;
            for (let r = 0; r < B; r++) s += local[(br * B + r) * cols + bc * B + c];
            if (s > 0) nonzero++;
            if (s / B > 1 / 3) high++;
          }
          const R = Math.floor((i * P) / B) + br;
          const C = Math.floor((j * P) / B) + bc;
          if (high / (nonzero + 1e-9) > 0.6 && R < nB && C < nB) out[R * nB + C] = 1;
        }
      }
    }
  }
  const border = Math.floor((F * P) / B);
  for (let r = 0; r < nB; r++)
    for (let c = 0; c < nB; c++) if (r >= border || c >= border) out[r * nB + c] = 1;
  return out;
}

const full = (o: RadialOptions): Required<RadialOptions> => ({
  blockSize: 128,
  decayFactor: 1,
  modelType: 'hunyuan',
  textTokens: 0,
  ...o,
});

describe('Radial Attention pattern', () => {
  it("reproduces the spec's worked example (P = 3840, hunyuan, decay 1)", () => {
    const o = { frames: 200, tokensPerFrame: 3840 };
    const w = (d: number) => radialPairWidth(d, 0, o);
    expect([0, 1].map(w)).toEqual([3840, 3840]);
    expect([2, 3].map(w)).toEqual([1024, 1024]);
    expect([4, 7].map(w)).toEqual([512, 512]);
    expect([8, 15].map(w)).toEqual([256, 256]);
    expect([16, 31].map(w)).toEqual([128, 128]);
    expect([32, 33, 34, 63].map(w)).toEqual([128, null, 128, null]);
    expect([64, 66, 68].map(w)).toEqual([128, null, 128]);
    // Wan's frame 0 is an attention sink: dense whatever the distance.
    expect(radialPairWidth(100, 0, { ...o, modelType: 'wan' })).toBe(3840);
  });

  it('matches the literal per-pair materialise-and-shrink construction', () => {
    const cases: RadialOptions[] = [
      { frames: 9, tokensPerFrame: 16, blockSize: 8 },
      { frames: 7, tokensPerFrame: 12, blockSize: 8, decayFactor: 0.5, modelType: 'wan', textTokens: 5 },
      { frames: 12, tokensPerFrame: 8, blockSize: 4, decayFactor: 0.95 },
    ];
    for (const o of cases) expect(radialBlockMask(o)).toEqual(literalBlockMask(full(o)));
  });

  it('is symmetric in the temporal distance (frame-aligned blocks)', () => {
    const nB = 16 * 4;
    const m = radialBlockMask({ frames: 16, tokensPerFrame: 16, blockSize: 4 });
    for (let r = 0; r < nB; r++) for (let c = 0; c < nB; c++) expect(m[r * nB + c]).toBe(m[c * nB + r]);
  });

  it('density falls as c log F / F (O(n log n) work)', () => {
    const ratios = [16, 32, 64, 128].map((F) => {
      const d = blockDensity(radialAttentionPattern({ frames: F, tokensPerFrame: 8, blockSize: 8 }));
      return (d * F) / Math.log2(F);
    });
    for (const r of ratios) expect(r / ratios[0]).toBeGreaterThan(0.6);
    for (const r of ratios) expect(r / ratios[0]).toBeLessThan(1.6);
    // ... while a fixed fraction would give ratios growing as F / log F.
    expect(
      blockDensity(radialAttentionPattern({ frames: 128, tokensPerFrame: 8, blockSize: 8 })),
    ).toBeLessThan(0.15);
  });

  it('is rebuilt when a size changes and reused otherwise', () => {
    const a = radialAttentionPattern({ frames: 6, tokensPerFrame: 8, blockSize: 4 });
    expect(radialAttentionPattern({ frames: 6, tokensPerFrame: 8, blockSize: 4 })).toBe(a);
    const b = radialAttentionPattern({ frames: 7, tokensPerFrame: 8, blockSize: 4 });
    expect(b.nq).toBe(56);
    expect(a.nq).toBe(48);
  });

  it('rejects frames shorter than a block and bad options', () => {
    expect(() => radialBlockMask({ frames: 4, tokensPerFrame: 4, blockSize: 8 })).toThrow(
      /radialAttentionPattern: tokensPerFrame must be an integer >= 8/,
    );
    expect(() => radialBlockMask({ frames: 4, tokensPerFrame: 8, blockSize: 8, decayFactor: 0 })).toThrow(
      /decayFactor must be a positive number/,
    );
  });
});

describe.each(backendsUnderTest())('radialAttention on %s', (backend) => {
  it('matches dense attention under the literal block mask (video grid and text tokens)', async () => {
    const o = { frames: 6, tokensPerFrame: 8, blockSize: 4, textTokens: 3 };
    const nB = Math.ceil(51 / 4);
    const bm = literalBlockMask(full(o));
    const { q, k, v } = qkv(1, 51, 2, 4, 3, backend);
    const out = radialAttention(q, k, v, { frames: 6, blockSize: 4, textTokens: 3 });
    await expectMatchesDense(
      out,
      q,
      k,
      v,
      (_b, _h, i, j) => bm[Math.floor(i / 4) * nB + Math.floor(j / 4)] === 1,
    );
  });

  it('takes a [batch, frames, height, width, heads, dim] grid and returns it', async () => {
    const { q, k, v } = qkv(1, 6 * 8, 1, 4, 5, backend);
    const grid = (t: typeof q) => t.reshape([1, 6, 2, 4, 1, 4]);
    const out = radialAttention(grid(q), grid(k), grid(v), { blockSize: 4 });
    expect(out.shape).toEqual([1, 6, 2, 4, 1, 4]);
    const bm = radialBlockMask({ frames: 6, tokensPerFrame: 8, blockSize: 4 });
    await expectMatchesDense(
      out.reshape([1, 48, 1, 4]),
      q,
      k,
      v,
      (_b, _h, i, j) => bm[Math.floor(i / 4) * 12 + Math.floor(j / 4)] === 1,
    );
  });
});

describe('radialAttention gradients', () => {
  it('match finite differences (float64)', () => {
    const { q, k, v } = qkv(1, 16, 1, 2, 7, 'cpu', 1, 'float64');
    gradcheck((a, b, c) => radialAttention(a, b, c, { frames: 4, blockSize: 2 }), [q, k, v]);
  });
});
