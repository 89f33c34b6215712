// Registers core's dense attention (`sdpa`, and its causal form) with the attention-op registry, so tools that
// run "every registered attention op" compare the efficient variants of other packages against it.
import { ValueError } from '../errors.js';
import { sdpa } from '../ops/attention/sdpa.js';
import { randomQkv } from './inputs.js';
import { softmaxAttentionReference, softmaxAttentionWeights } from './reference.js';
import { type AttentionOpEntry, registerAttentionOp } from './registry.js';
import { type AttentionShape, type AttentionWorkload, tokenCount } from './workload.js';

/** Keys attended by `query`: all of them, or (causal) those at or before it in row-major token order. */
function densePattern(op: string, causal: boolean, w: AttentionShape, query: number): Uint8Array {
  const n = tokenCount(w);
  if (!(Number.isInteger(query) && query >= 0 && query < n)) {
    throw new ValueError(`${op}.pattern`, 'queryIndex', `a token index in [0, ${n})`, String(query));
  }
  const mask = new Uint8Array(n);
  mask.fill(1, 0, causal ? query + 1 : n);
  return mask;
}

function sdpaEntry(name: string, causal: boolean): AttentionOpEntry {
  const shapeOnly = (s: AttentionShape): AttentionWorkload => ({
    batch: s.batch,
    tokens: [...s.tokens],
    heads: s.heads,
    headDim: s.headDim,
    params: {},
  });
  const keyMask = (w: AttentionShape) =>
    causal ? (query: number) => densePattern(name, true, w, query) : undefined;
  return {
    name,
    packageName: '@attnkit/core',
    description: causal
      ? 'Causal dense attention: each token attends to itself and every token before it in row-major order.'
      : 'Dense scaled dot-product attention: every query attends to every key.',
    tokenRank: 'any',
    defaultWorkloads: () =>
      [
        { batch: 2, tokens: [64], heads: 2, headDim: 16, label: 'sequence' },
        { batch: 1, tokens: [12, 12], heads: 2, headDim: 16, label: 'image' },
        { batch: 1, tokens: [3, 6, 6], heads: 1, headDim: 8, label: 'video' },
      ].map((s) => ({ ...shapeOnly(s), label: s.label })),
    workloadFor: shapeOnly,
    makeInputs: (w, opts) => randomQkv(w, opts),
    run: ({ q, k, v }) => sdpa(q, k, v, { causal }),
    reference: (inputs, w, opts) =>
      softmaxAttentionReference(inputs, w, { rows: opts?.rows, keyMask: keyMask(w) }),
    flops: (w) => {
      const n = tokenCount(w);
      // Attended (query, key) pairs: all n^2, or the lower triangle with its diagonal when causal.
      const pairs = causal ? (n * (n + 1)) / 2 : n * n;
      return 4 * w.batch * w.heads * w.headDim * pairs;
    },
    pattern: (w, query) => densePattern(name, causal, w, query),
    weights: (inputs, w, opts) => softmaxAttentionWeights(inputs, w, { ...opts, keyMask: keyMask(w) }),
  };
}

registerAttentionOp(sdpaEntry('sdpa', false));
registerAttentionOp(sdpaEntry('sdpa-causal', true));
