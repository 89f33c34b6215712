// Registers HaloNet blocked attention with core's attention-op registry. Its reference is written here in
// float64 from the definition (block window, zero-padded keys with logit 0 in the softmax), independently of
// the kernel; its pattern shows the real keys of a query's block window.
import {
  type AttentionInputs,
  type AttentionReference,
  type AttentionShape,
  type AttentionWorkload,
  randomQkv,
  registerAttentionOp,
  tokenCoords,
  tokenCount,
  ValueError,
} from '@attnkit/core';
import { haloAttention } from '../halo/halo.js';

/** Does the key at `kc` lie in the window of the block of the query at `qc`? */
function inWindow(qc: number[], kc: number[], b: number, h: number): boolean {
  return qc.every((c, a) => {
    const first = Math.floor(c / b) * b - h;
    return kc[a] >= first && kc[a] < first + b + 2 * h;
  });
}

function params(w: AttentionWorkload): { b: number; h: number } {
  return { b: w.params.blockSize as number, h: w.params.haloSize as number };
}

function reference(
  inputs: AttentionInputs,
  w: AttentionWorkload,
  rows?: readonly number[],
): AttentionReference {
  const { b, h } = params(w);
  const n = tokenCount(w);
  const want = rows ? [...rows] : Array.from({ length: n }, (_, i) => i);
  const Q = inputs.q.dataSync();
  const K = inputs.k.dataSync();
  const V = inputs.v.dataSync();
  const { heads: H, headDim: D } = w;
  const windowSize = (b + 2 * h) ** w.tokens.length;
  const scale = 1 / Math.sqrt(D);
  const values = new Float64Array(w.batch * want.length * H * D);
  want.forEach((i, r) => {
    const qc = tokenCoords(w.tokens, i);
    const keys: number[] = [];
    for (let j = 0; j < n; j++) if (inWindow(qc, tokenCoords(w.tokens, j), b, h)) keys.push(j);
    for (let bi = 0; bi < w.batch; bi++) {
      for (let hd = 0; hd < H; hd++) {
        const qo = ((bi * n + i) * H + hd) * D;
        // Padded positions: logit 0, value 0.
        const logits = keys.map((j) => {
          let s = 0;
          for (let c = 0; c < D; c++) s += Q[qo + c] * K[((bi * n + j) * H + hd) * D + c];
          return s * scale;
        });
        const pads = windowSize - keys.length;
        const m = Math.max(0, ...(logits.length ? logits : [0]));
        const total = logits.reduce((t, s) => t + Math.exp(s - m), 0) + (pads > 0 ? pads * Math.exp(-m) : 0);
        const oo = ((bi * want.length + r) * H + hd) * D;
        keys.forEach((j, t) => {
          const p = Math.exp(logits[t] - m) / total;
          for (let c = 0; c < D; c++) values[oo + c] += p * V[((bi * n + j) * H + hd) * D + c];
        });
      }
    }
  });
  return { rows: want, values, shape: [w.batch, want.length, H, D] };
}

function workloadFor(s: AttentionShape, label?: string): AttentionWorkload {
  const b = [8, 4, 2].find((x) => s.tokens.every((n) => n % x === 0 && n >= x));
  if (!b) {
    throw new ValueError(
      'halo',
      'workload.tokens',
      'sizes divisible by a block size of 2, 4 or 8',
      `[${s.tokens.join(', ')}]`,
    );
  }
  return {
    batch: s.batch,
    tokens: [...s.tokens],
    heads: s.heads,
    headDim: s.headDim,
    params: { blockSize: b, haloSize: b === 8 ? 3 : b / 2 },
    ...(label ? { label } : {}),
  };
}

registerAttentionOp({
  name: 'halo',
  packageName: '@attnkit/attention-neighborhood',
  description:
    "HaloNet blocked local attention (timm's HaloAttn without positional terms): each block's tokens attend " +
    'the block plus a halo; keys beyond the border are zero padding that takes part in the softmax.',
  tokenRank: 'any',
  defaultWorkloads: () => [
    workloadFor({ batch: 1, tokens: [16, 16], heads: 2, headDim: 16 }, 'image b8 h3'),
    workloadFor({ batch: 1, tokens: [64], heads: 2, headDim: 16 }, 'sequence b8 h3'),
  ],
  workloadFor: (s) => workloadFor(s),
  makeInputs: (w, opts) => randomQkv(w, opts),
  run: ({ q, k, v }, w) => {
    const { b, h } = params(w);
    return haloAttention(q, k, v, { blockSize: b, haloSize: h });
  },
  reference: (inputs, w, opts) => reference(inputs, w, opts?.rows),
  flops: (w) => {
    // Every query computes its whole window, padding included (as the unfold-based implementation does).
    const { b, h } = params(w);
    return 4 * w.batch * w.heads * w.headDim * tokenCount(w) * (b + 2 * h) ** w.tokens.length;
  },
  pattern: (w, query) => {
    const { b, h } = params(w);
    const n = tokenCount(w);
    if (!(Number.isInteger(query) && query >= 0 && query < n)) {
      throw new ValueError('halo.pattern', 'queryIndex', `a token index in [0, ${n})`, String(query));
    }
    const qc = tokenCoords(w.tokens, query);
    return Uint8Array.from({ length: n }, (_, j) => (inWindow(qc, tokenCoords(w.tokens, j), b, h) ? 1 : 0));
  },
});
