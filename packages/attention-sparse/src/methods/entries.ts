// Registers every method with core's attention-op registry, so that the attention bench (`npm run demo`) and
// cross-backend suites run, check and picture them. Each entry's reference is core's float64
// softmaxAttentionReference with the method's mask (as a -Infinity bias per (batch, head, query, key), since
// content-based patterns differ per head), computed from CPU inputs; patterns are drawn for the inputs of
// seed 0, batch 0, head 0.
import {
  type AttentionInputs,
  type AttentionOpEntry,
  type AttentionReference,
  type AttentionShape,
  type AttentionWorkload,
  disposeAttentionInputs,
  Generator,
  indexSelect,
  randomNormal,
  randomQkv,
  registerAttentionOp,
  reshape,
  softmaxAttentionReference,
  softmaxAttentionWeights,
  type Tensor,
  type TokenRank,
  tensor,
  tidy,
  tokenCount,
  ValueError,
} from '@attnkit/core';
import { biformerAttention, biformerLayout, biformerRegions } from './biformer/bra.js';
import { consciousnessAttention, consciousSelection } from './consciousness/bottleneck.js';
import { dmaKeySelection, dynamicMaskAttention } from './dynamic-mask/dma.js';
import { mobaAttention, mobaLayout } from './moba/moba.js';
import { type BlockPattern, keyBlocks, listedBlocks, patternFromLists, queryBlocks } from './pattern.js';
import { powerAttention } from './power-attention/attention.js';
import { powerAttentionPattern } from './power-attention/pattern.js';
import { radialAttention } from './radial-attention/attention.js';
import { radialAttentionPattern } from './radial-attention/pattern.js';
import { routingWeights } from './routing/reference.js';
import { clusterMembers, routingAttention } from './routing/routing.js';
import { attendPattern } from './run-pattern.js';
import { s2Attention } from './s2-attention/attention.js';
import { s2AttentionPattern } from './s2-attention/pattern.js';
import { vmobaPartition } from './vmoba/partition.js';
import { vmobaAttention, vmobaLayout } from './vmoba/vmoba.js';

const PKG = '@attnkit/attention-sparse';

/** Which (query, key) pairs one (batch, head) attends, plus an optional additive bias. */
interface Rule {
  allowed(b: number, h: number, i: number, j: number): boolean;
  bias?(b: number, h: number, i: number, j: number): number;
  /** (query, key) pairs the engine computes, summed over batch and heads (whole listed blocks). */
  computedPairs: number;
}

/** A method's entry, described by how to run it and by its rule on CPU inputs. */
interface Method {
  name: string;
  description: string;
  tokenRank: TokenRank;
  shapes: AttentionShape[];
  workloadFor(shape: AttentionShape): AttentionWorkload;
  extras?(w: AttentionWorkload, backend: string, seed: number): Record<string, Tensor>;
  run(i: AttentionInputs, w: AttentionWorkload): Tensor;
  /** The rule for CPU inputs (content-based methods read them). */
  rule(i: AttentionInputs, w: AttentionWorkload): Rule;
  /** A non-mask reference (routing's mean over clusters): weights of (b, h, query) over keys. */
  weights?(i: AttentionInputs, w: AttentionWorkload): (b: number, h: number, q: number) => Float64Array;
}

const num = (w: AttentionWorkload, key: string): number => w.params[key] as number;
/** Tokens of CPU `x` `[batch, n, heads, dim]` in the order `perm` (new position -> original index). */
const reorder = (x: Tensor, perm: Int32Array) =>
  indexSelect(x, 1, tensor(perm, { dtype: 'int32', backend: 'cpu' }));
const seqShape = (n: number): AttentionShape => ({ batch: 1, tokens: [n], heads: 2, headDim: 16 });
const flat = (t: Tensor) => reshape(t, [t.shape[0], -1, t.shape[t.rank - 2], t.shape[t.rank - 1]]);

function checkRank(name: string, shape: AttentionShape, rank: number): void {
  if (shape.tokens.length !== rank) {
    throw new ValueError(`${name}.workloadFor`, 'tokens', `${rank} token axes`, JSON.stringify(shape.tokens));
  }
}

/** Video ops take `[frames, height, width]` or a 2-D grid (see {@link videoGrid}), not a sequence. */
function videoRank(name: string, shape: AttentionShape): void {
  if (shape.tokens.length < 2) {
    throw new ValueError(
      `${name}.workloadFor`,
      'tokens',
      '2 or 3 token axes (a video or a frame grid)',
      JSON.stringify(shape.tokens),
    );
  }
}

/** The `[frames, height, width]` of a workload: 3-D as is, a 2-D grid as one frame. */
const videoGrid = (s: Pick<AttentionShape, 'tokens'>): [number, number, number] =>
  s.tokens.length === 3 ? [s.tokens[0], s.tokens[1], s.tokens[2]] : [1, s.tokens[0], s.tokens[1]];

/** A block size for `n` tokens: `preferred`, or smaller for short inputs (at least 4 blocks). */
const blockFor = (n: number, preferred: number) =>
  Math.max(1, Math.min(preferred, 2 ** Math.floor(Math.log2(Math.max(1, n / 4)))));

/** Rule of a host pattern shared by batch (per head when the pattern has heads). */
function patternRule(p: BlockPattern, w: AttentionShape): Rule {
  const nKB = keyBlocks(p);
  const sets = Array.from({ length: p.heads }, (_, h) =>
    Array.from({ length: queryBlocks(p) }, (_, qb) => {
      const s = new Uint8Array(nKB);
      for (const kb of listedBlocks(p, 0, h, qb)) s[kb] = 1;
      return s;
    }),
  );
  let pairs = 0;
  for (let h = 0; h < p.heads; h++) {
    for (let qb = 0; qb < queryBlocks(p); qb++) {
      const rows = Math.min(p.nq, (qb + 1) * p.blockQ) - qb * p.blockQ;
      for (const kb of listedBlocks(p, 0, h, qb))
        pairs += rows * (Math.min(p.nk, (kb + 1) * p.blockK) - kb * p.blockK);
    }
  }
  return {
    allowed: (_b, h, i, j) =>
      sets[p.heads === 1 ? 0 : h][Math.floor(i / p.blockQ)][Math.floor(j / p.blockK)] === 1 &&
      (!p.causal || j <= i + p.nk - p.nq),
    computedPairs: (pairs * w.batch * w.heads) / p.heads,
  };
}

/**
 * Rule of an engine layout computed on CPU tensors: `kv` int32 `[lb, lh, nQB, m]` over (possibly reordered)
 * tokens; `pos` maps an original token index to its position in that order.
 */
function layoutRule(
  kv: Tensor,
  blockQ: number,
  blockK: number,
  n: number,
  w: AttentionShape,
  opts: {
    causal?: boolean;
    pos?: Int32Array;
    keep?: (b: number, h: number, i: number, j: number) => boolean;
  } = {},
): Rule {
  const data = kv.dataSync();
  const [lb, lh, nqb, m] = kv.shape;
  const nkb = Math.ceil(n / blockK);
  const sets = new Uint8Array(lb * lh * nqb * nkb);
  let pairs = 0;
  for (let r = 0; r < lb * lh * nqb; r++) {
    const qb = r % nqb;
    const rows = Math.min(n, (qb + 1) * blockQ) - qb * blockQ;
    for (let e = 0; e < m; e++) {
      const kb = data[r * m + e];
      if (kb < 0) continue;
      sets[r * nkb + kb] = 1;
      pairs += rows * (Math.min(n, (kb + 1) * blockK) - kb * blockK);
    }
  }
  const pos = opts.pos;
  return {
    allowed: (b, h, i, j) => {
      const pi = pos ? pos[i] : i;
      const pj = pos ? pos[j] : j;
      const row = ((lb === 1 ? 0 : b) * lh + (lh === 1 ? 0 : h)) * nqb + Math.floor(pi / blockQ);
      if (sets[row * nkb + Math.floor(pj / blockK)] !== 1) return false;
      if (opts.causal && j > i) return false;
      return opts.keep ? opts.keep(b, h, i, j) : true;
    },
    computedPairs: (pairs * w.batch * w.heads) / (lb * lh),
  };
}

/**
 * The engine's own workload: per head, every query block keeps its diagonal block plus random others until
 * the density is reached (the benchmark's pattern), drawn from a generator seeded by the sizes.
 */
function randomBlockPattern(w: AttentionWorkload): BlockPattern {
  const n = tokenCount(w);
  const bs = num(w, 'blockSize');
  const nb = Math.ceil(n / bs);
  const keep = Math.max(1, Math.round(num(w, 'density') * nb));
  const gen = new Generator(nb * 7919 + w.heads);
  return patternFromLists(
    'block-sparse',
    { nq: n, nk: n, blockQ: bs, blockK: bs, batch: 1, heads: w.heads, causal: false },
    (_b, _h, qb) => {
      const others = Array.from({ length: nb }, (_, i) => i).filter((i) => i !== qb);
      for (let i = others.length - 1; i > 0; i--) {
        const j = gen.int(i + 1);
        [others[i], others[j]] = [others[j], others[i]];
      }
      return [qb, ...others.slice(0, keep - 1)];
    },
  );
}

/** Routing's weights on CPU inputs, for the clusters the op itself routes to (shared q/k routing). */
function routingRule(i: AttentionInputs, w: AttentionWorkload) {
  return tidy(() => {
    const members = clusterMembers(i.q, i.extras!.centroids, num(w, 'window'));
    return routingWeights(i.q, i.k, members, members, true);
  });
}

const METHODS: Method[] = [
  {
    name: 'block-sparse',
    description:
      'The block-sparse engine on a random per-head block pattern (diagonal blocks kept) at 25% block density.',
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('block-sparse', s, 1);
      return { ...s, params: { blockSize: blockFor(s.tokens[0], 64), density: 0.25 } };
    },
    run: ({ q, k, v }, w) => attendPattern(q, k, v, randomBlockPattern(w)),
    rule: (_i, w) => patternRule(randomBlockPattern(w), w),
  },
  {
    name: 's2-attention',
    description:
      'S2-Attention: per-head local blocks plus every vertStride-th block with a per-head phase, heads together covering the context (causal).',
    tokenRank: 1,
    shapes: [seqShape(256), { batch: 2, tokens: [160], heads: 4, headDim: 8 }],
    workloadFor: (s) => {
      checkRank('s2-attention', s, 1);
      return { ...s, params: { blockSize: blockFor(s.tokens[0], 64), localBlocks: 2, vertStride: 4 } };
    },
    run: ({ q, k, v }, w) =>
      s2Attention(q, k, v, {
        blockSize: num(w, 'blockSize'),
        localBlocks: num(w, 'localBlocks'),
        vertStride: num(w, 'vertStride'),
      }),
    rule: (_i, w) =>
      patternRule(
        s2AttentionPattern(tokenCount(w), tokenCount(w), {
          blockSize: num(w, 'blockSize'),
          localBlocks: num(w, 'localBlocks'),
          vertStride: num(w, 'vertStride'),
          heads: w.heads,
        }),
        w,
      ),
  },
  {
    name: 'power-attention',
    description:
      'PowerAttention: each query block attends itself and the blocks at power-of-two distances before it (causal).',
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('power-attention', s, 1);
      return { ...s, params: { blockSize: blockFor(s.tokens[0], 64) } };
    },
    run: ({ q, k, v }, w) => powerAttention(q, k, v, { blockSize: num(w, 'blockSize') }),
    rule: (_i, w) => patternRule(powerAttentionPattern(tokenCount(w), { blockSize: num(w, 'blockSize') }), w),
  },
  {
    name: 'radial-attention',
    description:
      'Radial Attention: a static video mask whose spatial window halves as the frame distance doubles, kept every split-th distance far away (O(n log n)).',
    // A video [frames, height, width], or [frames, tokensPerFrame].
    tokenRank: 'any',
    shapes: [{ batch: 1, tokens: [16, 4, 8], heads: 2, headDim: 16 }],
    workloadFor: (s) => {
      videoRank('radial-attention', s);
      const p = tokenCount(s) / s.tokens[0];
      return { ...s, params: { blockSize: Math.min(128, 2 ** Math.floor(Math.log2(p))), decayFactor: 1 } };
    },
    run: ({ q, k, v }, w) =>
      radialAttention(flat(q), flat(k), flat(v), {
        frames: w.tokens[0],
        blockSize: num(w, 'blockSize'),
        decayFactor: num(w, 'decayFactor'),
      }),
    rule: (_i, w) =>
      patternRule(
        radialAttentionPattern({
          frames: w.tokens[0],
          tokensPerFrame: tokenCount(w) / w.tokens[0],
          blockSize: num(w, 'blockSize'),
          decayFactor: num(w, 'decayFactor'),
        }),
        w,
      ),
  },
  {
    name: 'moba',
    description:
      'MoBA: each token attends its own block (causally) and the top-k-1 past blocks by <q, mean key of the block>.',
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('moba', s, 1);
      return { ...s, params: { chunkSize: blockFor(s.tokens[0], 128), topk: 3 } };
    },
    run: ({ q, k, v }, w) =>
      mobaAttention(flat(q), flat(k), flat(v), { chunkSize: num(w, 'chunkSize'), topk: num(w, 'topk') }),
    rule: ({ q, k }, w) => {
      const layout = mobaLayout(q, k, { chunkSize: num(w, 'chunkSize'), topk: num(w, 'topk') });
      const rule = layoutRule(layout.kvBlocks, 1, layout.blockK, tokenCount(w), w, { causal: true });
      layout.kvBlocks.dispose();
      return rule;
    },
  },
  {
    name: 'vmoba',
    description:
      'VMoBA: video tokens reordered into 2-D spatial tiles; each query attends its own chunk plus chunks chosen by cumulative gate similarity (threshold 0.25).',
    // A video [frames, height, width], or one frame [height, width].
    tokenRank: 'any',
    shapes: [{ batch: 1, tokens: [4, 8, 8], heads: 2, headDim: 16 }],
    workloadFor: (s) => {
      videoRank('vmoba', s);
      const g = videoGrid(s);
      const tile = (d: number) => [4, 2, 1].find((t) => d % t === 0 && d / t >= 2) ?? 1;
      return { ...s, params: { tile: [tile(g[1]), tile(g[2])], tau: 0.25 } };
    },
    run: ({ q, k, v }, w) => {
      const video = (t: Tensor) => reshape(t, [w.batch, ...videoGrid(w), w.heads, t.shape[t.rank - 1]]);
      return vmobaAttention(video(q), video(k), video(v), {
        partition: w.params.tile as [number, number],
        select: { mode: 'threshold', tau: num(w, 'tau') },
      });
    },
    rule: ({ q, k }, w) => {
      const plan = vmobaPartition(videoGrid(w), w.params.tile as [number, number]);
      const order = (t: Tensor) => reorder(flat(t), plan.perm);
      const layout = vmobaLayout(order(q), order(k), plan.chunkTokens, {
        mode: 'threshold',
        tau: num(w, 'tau'),
      });
      return layoutRule(layout.kvBlocks, 1, plan.chunkTokens, tokenCount(w), w, { pos: plan.inverse });
    },
  },
  {
    name: 'biformer',
    description:
      'BiFormer bi-level routing attention: each image region attends the tokens of its top-k regions by region-mean affinity, routing shared by heads (dim^-0.5 scale, no LCE here).',
    tokenRank: 2,
    shapes: [{ batch: 1, tokens: [16, 16], heads: 2, headDim: 16 }],
    workloadFor: (s) => {
      checkRank('biformer', s, 2);
      const [h, w] = s.tokens;
      // Regions of at least 2x2 tokens (BiFormer's stages have 64 to 4 tokens per region until the last).
      const nWin = [7, 8, 4, 2].find((n) => h % n === 0 && w % n === 0 && h / n >= 2 && w / n >= 2);
      if (!nWin)
        throw new ValueError(
          'biformer.workloadFor',
          'tokens',
          'a grid cut by 7, 8, 4 or 2 into regions of at least 2x2 tokens',
          s.tokens.join('x'),
        );
      return { ...s, params: { nWin, topk: Math.min(4, nWin * nWin) } };
    },
    run: ({ q, k, v }, w) => biformerAttention(q, k, v, { nWin: num(w, 'nWin'), topk: num(w, 'topk') }),
    rule: ({ q, k }, w) => {
      const [hh, ww] = w.tokens;
      const { perm, inverse, regionTokens } = biformerRegions(hh, ww, num(w, 'nWin'));
      const layout = biformerLayout(reorder(flat(q), perm), reorder(flat(k), perm), regionTokens, {
        nWin: num(w, 'nWin'),
        topk: num(w, 'topk'),
      });
      return layoutRule(layout.kvBlocks, regionTokens, regionTokens, tokenCount(w), w, { pos: inverse });
    },
  },
  {
    name: 'dynamic-mask',
    description:
      'Dynamic Mask Attention: a value-derived per-key bias; each head keeps its top-w keys by bias, then causal, attended with the bias added.',
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('dynamic-mask', s, 1);
      return {
        ...s,
        params: {
          windowSize: Math.max(1, Math.floor(s.tokens[0] / 4)),
          blockSize: blockFor(s.tokens[0], 64),
        },
      };
    },
    extras: (w, backend, seed) => ({
      bias: randomNormal([w.batch, tokenCount(w), w.heads], { seed: seed + 3, backend }),
    }),
    run: ({ q, k, v, extras }, w) =>
      dynamicMaskAttention(q, k, v, {
        bias: extras!.bias,
        windowSize: num(w, 'windowSize'),
        blockSize: num(w, 'blockSize'),
      }),
    rule: ({ extras }, w) => {
      const bias = extras!.bias;
      const n = tokenCount(w);
      const sel = dmaKeySelection(bias, w.heads, num(w, 'windowSize')).dataSync();
      const bd = bias.dataSync();
      const bs = num(w, 'blockSize');
      const keptBlocks = Array.from({ length: w.batch * w.heads }, (_, bh) => {
        const s = new Set<number>();
        for (let j = 0; j < n; j++) if (sel[bh * n + j]) s.add(Math.floor(j / bs));
        return s;
      });
      let pairs = 0;
      for (const s of keptBlocks) for (const kb of s) pairs += n * (Math.min(n, (kb + 1) * bs) - kb * bs);
      return {
        allowed: (b, h, i, j) => j <= i && sel[(b * w.heads + h) * n + j] === 1,
        bias: (b, h, _i, j) => bd[(b * n + j) * w.heads + h],
        computedPairs: pairs,
      };
    },
  },
  {
    name: 'routing',
    description:
      'Routing Transformer: tokens routed to k-means clusters (the w nearest each, shared by queries and keys), attention within clusters, causal by position, averaged over clusters.',
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('routing', s, 1);
      const clusters = Math.max(1, Math.round(Math.sqrt(s.tokens[0]) / 4));
      return { ...s, params: { clusters, window: Math.ceil(s.tokens[0] / clusters) } };
    },
    extras: (w, backend, seed) => ({
      centroids: randomNormal([w.heads, num(w, 'clusters'), w.headDim], { seed: seed + 3, backend }),
    }),
    // Shared routing (the paper's causal setting) needs no element mask, so long sequences fit.
    run: ({ q, k, v, extras }, w) =>
      routingAttention(q, k, v, { centroids: extras!.centroids, window: num(w, 'window'), shareQK: true }),
    rule: (i, w) => {
      const weights = routingRule(i, w);
      const c = num(w, 'clusters');
      const win = num(w, 'window');
      return {
        allowed: (b, h, q, j) => weights.weights(b, h, q)[j] > 0,
        computedPairs: w.batch * w.heads * c * win * win,
      };
    },
    weights: (i, w) => {
      const r = routingRule(i, w);
      return (b, h, q) => r.weights(b, h, q);
    },
  },
  {
    name: 'consciousness',
    description:
      "Consciousness-prior bottleneck: each head selects the top-k keys by the mean query's attention score and every token attends only those.",
    tokenRank: 1,
    shapes: [seqShape(256)],
    workloadFor: (s) => {
      checkRank('consciousness', s, 1);
      return { ...s, params: { elements: Math.min(16, s.tokens[0]), blockSize: blockFor(s.tokens[0], 64) } };
    },
    run: ({ q, k, v }, w) =>
      consciousnessAttention(q, k, v, { elements: num(w, 'elements'), blockSize: num(w, 'blockSize') }),
    rule: ({ q, k }, w) => {
      const n = tokenCount(w);
      const sel = consciousSelection(q, k, num(w, 'elements'), w.headDim ** -0.5).dataSync();
      const bs = num(w, 'blockSize');
      let pairs = 0;
      for (let bh = 0; bh < w.batch * w.heads; bh++) {
        const blocks = new Set<number>();
        for (let j = 0; j < n; j++) if (sel[bh * n + j]) blocks.add(Math.floor(j / bs));
        for (const kb of blocks) pairs += n * (Math.min(n, (kb + 1) * bs) - kb * bs);
      }
      return { allowed: (b, h, _i, j) => sel[(b * w.heads + h) * n + j] === 1, computedPairs: pairs };
    },
  },
];

/** A method's rule, with every tensor made on the way freed (rules keep host arrays only). */
const ruleOf = (m: Method, inputs: AttentionInputs, w: AttentionWorkload): Rule =>
  tidy(() => m.rule(inputs, w));

/** The scale each method attends with (BiFormer's is `dim^-0.5`, `dim = heads * headDim`). */
const scaleOf = (m: Method, w: AttentionWorkload) =>
  m.name === 'biformer' ? (w.heads * w.headDim) ** -0.5 : w.headDim ** -0.5;

function inputsFor(m: Method, w: AttentionWorkload, backend: string, seed: number): AttentionInputs {
  const base = randomQkv(w, { backend, seed });
  return m.extras ? { ...base, extras: m.extras(w, backend, seed) } : base;
}

/** Rule of the seed-0 CPU inputs of a workload, cached for the pattern pictures (called once per query). */
const ruleCache = new Map<string, { rule: Rule; n: number }>();
function seedRule(m: Method, w: AttentionWorkload): { rule: Rule; n: number } {
  const key = `${m.name}:${JSON.stringify(w)}`;
  let hit = ruleCache.get(key);
  if (!hit) {
    const inputs = inputsFor(m, w, 'cpu', 0);
    try {
      hit = { rule: ruleOf(m, inputs, w), n: tokenCount(w) };
    } finally {
      // Rules read what they need into host arrays when made, so the inputs can go.
      disposeAttentionInputs(inputs);
    }
    ruleCache.clear();
    ruleCache.set(key, hit);
  }
  return hit;
}

function reference(
  m: Method,
  inputs: AttentionInputs,
  w: AttentionWorkload,
  rows?: readonly number[],
): AttentionReference {
  const n = tokenCount(w);
  if (m.weights) {
    const weights = m.weights(inputs, w);
    const v = inputs.v.dataSync();
    const dv = inputs.v.shape[inputs.v.rank - 1];
    const rs = rows ?? Array.from({ length: n }, (_, i) => i);
    const values = new Float64Array(w.batch * rs.length * w.heads * dv);
    for (let b = 0; b < w.batch; b++)
      for (let r = 0; r < rs.length; r++)
        for (let h = 0; h < w.heads; h++) {
          const wt = weights(b, h, rs[r]);
          for (let j = 0; j < n; j++) {
            if (wt[j] === 0) continue;
            for (let e = 0; e < dv; e++)
              values[((b * rs.length + r) * w.heads + h) * dv + e] +=
                wt[j] * v[((b * n + j) * w.heads + h) * dv + e];
          }
        }
    return { rows: [...rs], values, shape: [w.batch, rs.length, w.heads, dv] };
  }
  const rule = ruleOf(m, inputs, w);
  return softmaxAttentionReference(inputs, w, {
    rows,
    scale: scaleOf(m, w),
    bias: (b, h, i, j) =>
      rule.allowed(b, h, i, j) ? (rule.bias?.(b, h, i, j) ?? 0) : Number.NEGATIVE_INFINITY,
  });
}

function entryOf(m: Method): AttentionOpEntry {
  return {
    name: m.name,
    packageName: PKG,
    description: m.description,
    tokenRank: m.tokenRank,
    defaultWorkloads: () => m.shapes.map((s) => m.workloadFor(s)),
    workloadFor: (s) => m.workloadFor(s),
    makeInputs: (w, opts) => inputsFor(m, w, opts.backend, opts.seed),
    run: (inputs, w) => {
      const out = m.run(inputs, w);
      const want = [w.batch, ...w.tokens, w.heads, inputs.v.shape[inputs.v.rank - 1]];
      const shaped = reshape(out, want);
      if (shaped !== out) out.dispose();
      return shaped;
    },
    reference: (inputs, w, opts) => reference(m, inputs, w, opts?.rows),
    flops: (w) => 4 * w.headDim * seedRule(m, w).rule.computedPairs,
    pattern: (w, query) => {
      const { rule, n } = seedRule(m, w);
      if (!(Number.isInteger(query) && query >= 0 && query < n)) {
        throw new ValueError(`${m.name}.pattern`, 'queryIndex', `a token index in [0, ${n})`, String(query));
      }
      return Uint8Array.from({ length: n }, (_, j) => (rule.allowed(0, 0, query, j) ? 1 : 0));
    },
    weights: (inputs, w, opts) => {
      if (m.weights) return m.weights(inputs, w)(opts.batch ?? 0, opts.head ?? 0, opts.query);
      const rule = ruleOf(m, inputs, w);
      return softmaxAttentionWeights(inputs, w, {
        ...opts,
        scale: scaleOf(m, w),
        bias: (b, h, i, j) =>
          rule.allowed(b, h, i, j) ? (rule.bias?.(b, h, i, j) ?? 0) : Number.NEGATIVE_INFINITY,
      });
    },
  };
}

/** Names of the attention ops this package registers (in registration order). */
export const SPARSE_ATTENTION_OPS: readonly string[] = METHODS.map((m) => m.name);

for (const m of METHODS) registerAttentionOp(entryOf(m));
