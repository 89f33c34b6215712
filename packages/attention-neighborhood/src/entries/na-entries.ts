// Registers na1d / na2d / na3d (fused), their causal and unfused variants with core's attention-op registry, so
// `apps/attention-bench` (npm run demo) runs, checks, times and draws them next to dense sdpa.
import {
  type AttentionOpEntry,
  type AttentionShape,
  type AttentionWorkload,
  randomQkv,
  registerAttentionOp,
  softmaxAttentionReference,
  softmaxAttentionWeights,
  tokenCount,
  ValueError,
} from '@attnkit/core';
import { neighborhoodAttention } from '../api/na.js';
import { checkWindow } from '../api/options.js';
import { axisWindow } from '../window/axis.js';
import { neighborMask, type WindowParams, windowGeometry } from '../window/window.js';

const PACKAGE = '@attnkit/attention-neighborhood';

/** The window parameters a workload carries (`params.kernelSize`, `dilation`, `stride`, `isCausal`). */
function windowOf(name: string, w: AttentionWorkload): WindowParams {
  const p = w.params;
  const checked = checkWindow(name, w.tokens, {
    kernelSize: p.kernelSize as number[],
    dilation: (p.dilation as number[] | undefined) ?? 1,
    stride: (p.stride as number[] | undefined) ?? 1,
    isCausal: (p.isCausal as boolean | undefined) ?? false,
  });
  return checked;
}

/** Attended (query, key) pairs: a product over axes of each axis's total window size. */
function attendedPairs(tokens: readonly number[], win: WindowParams): number {
  let pairs = 1;
  tokens.forEach((n, a) => {
    let axis = 0;
    for (let i = 0; i < n; i++) {
      axis += axisWindow(i, {
        size: n,
        kernelSize: win.kernelSize[a],
        dilation: win.dilation[a],
        stride: win.stride[a],
        causal: win.causal[a],
      }).valid;
    }
    pairs *= axis;
  });
  return pairs;
}

interface Variant {
  name: string;
  rank: 1 | 2 | 3;
  causal: boolean;
  kernel: 'fused' | 'unfused';
  /** The default kernel size of `workloadFor`. */
  kernelSize: number;
  defaults: { tokens: number[]; kernelSize: number; dilation?: number; stride?: number; label: string }[];
}

function entry(v: Variant): AttentionOpEntry {
  const workload = (
    s: AttentionShape,
    kernelSize: number,
    dilation = 1,
    stride = 1,
    label?: string,
  ): AttentionWorkload => {
    const w: AttentionWorkload = {
      batch: s.batch,
      tokens: [...s.tokens],
      heads: s.heads,
      headDim: s.headDim,
      params: {
        kernelSize: s.tokens.map(() => kernelSize),
        dilation: s.tokens.map(() => dilation),
        stride: s.tokens.map(() => stride),
        isCausal: v.causal,
      },
      ...(label ? { label } : {}),
    };
    windowOf(v.name, w); // throws a clear error for a grid smaller than the window
    return w;
  };
  const keyMask = (w: AttentionWorkload) => {
    const g = windowGeometry(w.tokens, windowOf(v.name, w));
    return (query: number) => neighborMask(g, query);
  };
  const axes = ['length', 'height x width', 'depth x height x width'][v.rank - 1];
  return {
    name: v.name,
    packageName: PACKAGE,
    description:
      `${v.rank}-D neighborhood attention (NATTEN's rule: each token attends the ${axes} window around it, ` +
      `shifted inward at borders${v.causal ? ', causal on every axis' : ''})` +
      (v.kernel === 'unfused' ? ', unfused: logits, softmax, then the weighted sum.' : ', fused.'),
    tokenRank: v.rank,
    defaultWorkloads: () =>
      v.defaults.map((d) =>
        workload(
          { batch: 1, tokens: d.tokens, heads: 2, headDim: 16 },
          d.kernelSize,
          d.dilation,
          d.stride,
          d.label,
        ),
      ),
    workloadFor: (s) => workload(s, v.kernelSize),
    makeInputs: (w, opts) => randomQkv(w, opts),
    run: ({ q, k, v: values }, w) => {
      const win = windowOf(v.name, w);
      return neighborhoodAttention(q, k, values, {
        kernelSize: win.kernelSize,
        dilation: win.dilation,
        stride: win.stride,
        isCausal: win.causal,
        kernel: v.kernel,
      });
    },
    reference: (inputs, w, opts) =>
      softmaxAttentionReference(inputs, w, { rows: opts?.rows, keyMask: keyMask(w) }),
    flops: (w) => 4 * w.batch * w.heads * w.headDim * attendedPairs(w.tokens, windowOf(v.name, w)),
    pattern: (w, query) => {
      const n = tokenCount(w);
      if (!(Number.isInteger(query) && query >= 0 && query < n)) {
        throw new ValueError(`${v.name}.pattern`, 'queryIndex', `a token index in [0, ${n})`, String(query));
      }
      return keyMask(w)(query);
    },
    weights: (inputs, w, opts) => softmaxAttentionWeights(inputs, w, { ...opts, keyMask: keyMask(w) }),
  };
}

const VARIANTS: Variant[] = [
  {
    name: 'na1d',
    rank: 1,
    causal: false,
    kernel: 'fused',
    kernelSize: 7,
    defaults: [
      { tokens: [64], kernelSize: 7, label: 'sequence' },
      { tokens: [64], kernelSize: 8, dilation: 4, label: 'dilated' },
      { tokens: [64], kernelSize: 16, stride: 16, label: 'blocked' },
    ],
  },
  {
    name: 'na1d-causal',
    rank: 1,
    causal: true,
    kernel: 'fused',
    kernelSize: 7,
    defaults: [{ tokens: [64], kernelSize: 9, label: 'causal sequence' }],
  },
  {
    name: 'na2d',
    rank: 2,
    causal: false,
    kernel: 'fused',
    kernelSize: 7,
    defaults: [
      { tokens: [16, 16], kernelSize: 7, label: 'image' },
      { tokens: [16, 16], kernelSize: 4, dilation: 2, label: 'dilated' },
      { tokens: [16, 16], kernelSize: 8, stride: 4, label: 'strided' },
    ],
  },
  {
    name: 'na2d-unfused',
    rank: 2,
    causal: false,
    kernel: 'unfused',
    kernelSize: 7,
    defaults: [{ tokens: [16, 16], kernelSize: 7, label: 'image' }],
  },
  {
    name: 'na3d',
    rank: 3,
    causal: false,
    kernel: 'fused',
    kernelSize: 3,
    defaults: [
      { tokens: [4, 8, 8], kernelSize: 3, label: 'video' },
      { tokens: [4, 8, 8], kernelSize: 2, dilation: 2, label: 'dilated video' },
    ],
  },
];

for (const v of VARIANTS) registerAttentionOp(entry(v));
