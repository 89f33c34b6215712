// Registers this package's attention ops with core's attention-op registry, so that apps/attention-bench (and any
// tool that runs "every registered op") runs, checks, times and draws them next to dense sdpa. None of these ops
// has softmax weights over keys, so no entry provides `weights`.
import {
  type AttentionInputs,
  type AttentionOpEntry,
  type AttentionShape,
  type AttentionWorkload,
  randomNormal,
  randomQkv,
  registerAttentionOp,
  type Tensor,
  type TokenRank,
  tokenCount,
  ValueError,
} from '@attnkit/core';
import { linearAttention } from '../classic/linear-attention.js';
import { inlineAttention } from '../inline/inline-attention.js';
import { kroneckerAttention } from '../kronecker/kronecker-attention.js';
import { enhancedLinearAttention } from '../l2vit/enhanced-linear-attention.js';
import { lightnetAttention } from '../lightnet/lightnet-attention.js';
import { lightningAttention } from '../lightning/lightning-attention.js';
import { alibiSlopes } from '../lightning/slopes.js';
import { llaAttention } from '../lla/lla-blockwise.js';
import { llaDirect } from '../lla/lla-direct.js';
import { decayCausalQuadratic } from '../ops/decay-causal-reference.js';
import {
  enhancedLinearRef,
  inlineRef,
  kroneckerRef,
  lightnetRef,
  linearAttentionRef,
  type RefInputs,
} from './references.js';

const PACKAGE = '@attnkit/attention-linear';

interface Spec {
  name: string;
  description: string;
  tokenRank: TokenRank;
  causal: boolean;
  /** Largest token count the op accepts in `workloadFor` (its cost or memory grows faster than linearly). */
  maxTokens?: number;
  /** Length of the default sequence workload (default 37: not a multiple of any block size). */
  sequence?: number;
  /** Extra inputs beyond q, k, v. */
  extras?: (w: AttentionWorkload, backend: string, seed: number) => Record<string, Tensor>;
  run(inputs: AttentionInputs, w: AttentionWorkload): Tensor;
  reference(x: RefInputs, rows: readonly number[], inputs: AttentionInputs): Float64Array;
  flops(w: AttentionWorkload): number;
}

function refInputs(inputs: AttentionInputs, w: AttentionShape): RefInputs {
  return {
    q: inputs.q.dataSync(),
    k: inputs.k.dataSync(),
    v: inputs.v.dataSync(),
    batch: w.batch,
    n: tokenCount(w),
    heads: w.heads,
    dk: w.headDim,
    dv: inputs.v.shape[inputs.v.rank - 1],
  };
}

function entry(spec: Spec): AttentionOpEntry {
  const shapeOnly = (s: AttentionShape): AttentionWorkload => {
    const n = tokenCount(s);
    if (spec.maxTokens !== undefined && n > spec.maxTokens) {
      throw new ValueError(spec.name, 'workload.tokens', `at most ${spec.maxTokens} tokens`, `${n} tokens`);
    }
    return { batch: s.batch, tokens: [...s.tokens], heads: s.heads, headDim: s.headDim, params: {} };
  };
  const defaults: (AttentionShape & { label: string })[] = [
    { batch: 2, tokens: [spec.sequence ?? 37], heads: 2, headDim: 16, label: 'sequence' },
    ...(spec.tokenRank === 1 ? [] : [{ batch: 1, tokens: [7, 9], heads: 2, headDim: 8, label: 'image' }]),
  ];
  return {
    name: spec.name,
    packageName: PACKAGE,
    description: spec.description,
    tokenRank: spec.tokenRank,
    defaultWorkloads: () => defaults.map((d) => ({ ...shapeOnly(d), label: d.label })),
    workloadFor: shapeOnly,
    makeInputs: (w, opts) => {
      const qkv = randomQkv(w, opts);
      return spec.extras ? { ...qkv, extras: spec.extras(w, opts.backend, opts.seed) } : qkv;
    },
    run: (inputs, w) => spec.run(inputs, w),
    reference: (inputs, w, opts) => {
      const n = tokenCount(w);
      const rows = opts?.rows ?? Array.from({ length: n }, (_, i) => i);
      rows.forEach((r, i) => {
        if (!(Number.isInteger(r) && r >= 0 && r < n)) {
          throw new ValueError(
            `${spec.name}.reference`,
            `rows[${i}]`,
            `a token index in [0, ${n})`,
            String(r),
          );
        }
      });
      const x = refInputs(inputs, w);
      return {
        rows: [...rows],
        values: spec.reference(x, rows, inputs),
        shape: [w.batch, rows.length, w.heads, x.dv],
      };
    },
    flops: spec.flops,
    pattern: (w, query) => {
      const n = tokenCount(w);
      if (!(Number.isInteger(query) && query >= 0 && query < n)) {
        throw new ValueError(
          `${spec.name}.pattern`,
          'queryIndex',
          `a token index in [0, ${n})`,
          String(query),
        );
      }
      const mask = new Uint8Array(n);
      mask.fill(1, 0, spec.causal ? query + 1 : n);
      return mask;
    },
  };
}

/** Multiply-adds of a state-based linear attention (k v^T into the state, q against it), 2 flops each. */
const linearFlops = (w: AttentionWorkload, extra = 0) =>
  4 * w.batch * w.heads * tokenCount(w) * w.headDim * (w.headDim + extra);
const pairs = (w: AttentionWorkload, causal: boolean) => {
  const n = tokenCount(w);
  return causal ? (n * (n + 1)) / 2 : n * n;
};

const SPECS: Spec[] = [
  {
    name: 'linear',
    description:
      'Linear attention (Katharopoulos et al.): phi(q) (sum phi(k) v^T) / (phi(q) . sum phi(k)), phi = elu + 1.',
    tokenRank: 'any',
    causal: false,
    run: ({ q, k, v }) => linearAttention(q, k, v),
    reference: (x, rows) => linearAttentionRef(x, rows, false),
    flops: (w) => linearFlops(w, 1),
  },
  {
    name: 'linear-causal',
    description:
      'Causal linear attention, phi = elu + 1: one decayCausal scan of [v | 1] (prefix sums of the state).',
    tokenRank: 'any',
    causal: true,
    run: ({ q, k, v }) => linearAttention(q, k, v, { causal: true }),
    reference: (x, rows) => linearAttentionRef(x, rows, true),
    flops: (w) => linearFlops(w, 1),
  },
  {
    name: 'lightning2',
    description:
      'Lightning Attention-2: decayed causal linear attention with per-head ALiBi decay rates (no normaliser).',
    tokenRank: 1,
    causal: true,
    run: ({ q, k, v }) => lightningAttention(q, k, v),
    reference: (x, rows) => decayCausalQuadratic(x.q, x.k, x.v, x, alibiSlopes(x.heads), rows),
    flops: (w) => linearFlops(w),
  },
  {
    name: 'lightnet',
    description:
      "LightNet's additive recurrence: per key channel a running softmax over time of the keys, one scan.",
    tokenRank: 1,
    causal: true,
    run: ({ q, k, v }) => lightnetAttention(q, k, v, { causal: true }),
    reference: (x, rows) => lightnetRef(x, rows, true),
    flops: (w) => linearFlops(w),
  },
  {
    name: 'lightnet-md',
    description:
      "LightNet's order-free multi-dimensional form: a softmax over all tokens per key channel (2-D, 3-D).",
    tokenRank: 'any',
    causal: false,
    run: ({ q, k, v }) => lightnetAttention(q, k, v, { causal: false }),
    reference: (x, rows) => lightnetRef(x, rows, false),
    flops: (w) => linearFlops(w),
  },
  {
    name: 'inline',
    description:
      'InLine attention (global term): injective linear weights q.k_j - mean q.k + 1/N that sum to 1.',
    tokenRank: 'any',
    causal: false,
    run: ({ q, k, v }) => inlineAttention(q, k, v),
    reference: (x, rows) => inlineRef(x, rows),
    flops: (w) => linearFlops(w, 1),
  },
  {
    name: 'l2vit',
    description:
      "L2ViT's enhanced linear attention: ReLU kernel, temperature head_dim^-0.5, normaliser clamped at 100.",
    tokenRank: 'any',
    causal: false,
    run: ({ q, k, v }) => enhancedLinearAttention(q, k, v),
    reference: (x, rows) => enhancedLinearRef(x, rows),
    flops: (w) => linearFlops(w, 1),
  },
  {
    name: 'lla',
    description:
      'Local Linear Attention: per-query weighted local linear fit (ridge 10), blockwise with conjugate gradients.',
    tokenRank: 1,
    causal: true,
    maxTokens: 256,
    run: ({ q, k, v }) => llaAttention(q, k, v),
    reference: (_x, rows, inputs) =>
      llaDirect(inputs.q, inputs.k, inputs.v, { rows }).dataSync() as Float64Array,
    // Logits and the output: 2 (d + e) per attended pair; each of 2d CG steps: two products of d per pair.
    flops: (w) => w.batch * w.heads * pairs(w, true) * (2 * (2 * w.headDim) + 2 * w.headDim * 4 * w.headDim),
  },
  {
    name: 'kronecker',
    description:
      'Kronecker (third-order) attention: softmax over key pairs of sum_l q k1 k2, values v1 * v2; scale d^-1/2.',
    tokenRank: 1,
    causal: false,
    maxTokens: 32,
    sequence: 12,
    extras: (w, backend, seed) => {
      const dims = [w.batch, ...w.tokens, w.heads, w.headDim];
      return {
        k2: randomNormal(dims, { seed: seed + 3, backend }),
        v2: randomNormal(dims, { seed: seed + 4, backend }),
      };
    },
    run: ({ q, k, v, extras }, w) =>
      kroneckerAttention(q, k, extras!.k2, v, extras!.v2, { scale: 1 / Math.sqrt(w.headDim) }),
    reference: (x, rows, inputs) =>
      kroneckerRef(x, inputs.extras!.k2.dataSync(), inputs.extras!.v2.dataSync(), rows, 1 / Math.sqrt(x.dk)),
    flops: (w) => 4 * w.batch * w.heads * tokenCount(w) ** 3 * w.headDim,
  },
];

/** The names of the attention ops this package registers (in registration order). */
export const LINEAR_ATTENTION_OPS: readonly string[] = SPECS.map((s) => s.name);

for (const spec of SPECS) registerAttentionOp(entry(spec));
