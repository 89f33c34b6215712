import {
  type AttentionOpEntry,
  type AttentionWorkload,
  acceptsTokenRank,
  attentionWorkloadFor,
  getAttentionOp,
  listAttentionOps,
} from '@attnkit/core';
import { type Options, UsageError } from './args.js';

/** One op on one workload, or the reason it is not run. */
export interface Case {
  entry: AttentionOpEntry;
  /** What is run; absent when skipped. */
  workload?: AttentionWorkload;
  /** The token grid, shown for skipped cases too. */
  tokens: readonly number[];
  /** Why the op does not run on this grid (a rank it does not take, a grid too small for its kernel). */
  skip?: string;
}

/** The 1-D length on the CPU: dense attention there runs at about 1 GFLOP/s, see {@link plan}. */
const CPU_SEQUENCE = 2048;
/** The 1-D length on other backends (the long sequence of the NATTEN and FlashAttention benchmarks). */
const LONG_SEQUENCE = 4096;

/** The video grid (frames x height x width): big enough for 7x7x7 neighborhoods, small enough for the CPU. */
const VIDEO = [8, 14, 14];

const denseGflop = (o: Options, n: number) => (4 * o.batch * o.heads * o.headDim * n * n) / 1e9;

/** The cases to run, and notes that explain the choice of shapes in the output. */
export function plan(opts: Options, backend: string): { cases: Case[]; notes: string[] } {
  const entries = selectOps(opts.ops);
  const notes: string[] = [];
  if (opts.shapes === 'defaults') {
    notes.push("shapes: each op's own default workloads (--shapes defaults)");
    const cases = entries.flatMap((entry) =>
      entry.defaultWorkloads().map((workload) => ({ entry, workload, tokens: workload.tokens })),
    );
    return { cases, notes };
  }
  let grids = opts.shapes;
  if (!grids && opts.quick) {
    grids = [[12, 12], [128], [8, 8, 8]];
    notes.push('shapes: --quick (12x12 image, 128-token sequence, 8x8x8 video)');
  } else if (!grids) {
    const n = backend === 'cpu' ? CPU_SEQUENCE : LONG_SEQUENCE;
    grids = [[56, 56], [n], VIDEO];
    notes.push(
      backend === 'cpu'
        ? `shapes: 56x56 image tokens, a ${n}-token sequence and ${VIDEO.join('x')} video tokens. On the CPU (about 1 GFLOP/s) dense attention ` +
            `costs ${denseGflop(opts, 3136).toFixed(1)} GFLOP per call at 56x56 and ${denseGflop(opts, n).toFixed(1)} ` +
            `at ${n} tokens; ${LONG_SEQUENCE} would cost ${denseGflop(opts, LONG_SEQUENCE).toFixed(1)} ` +
            `(--shapes 56x56,${LONG_SEQUENCE} runs it anyway)`
        : `shapes: 56x56 image tokens, a ${n}-token sequence and ${VIDEO.join('x')} video tokens`,
    );
  }
  const cases: Case[] = [];
  for (const tokens of grids) {
    for (const entry of entries) cases.push(caseFor(entry, tokens, opts));
  }
  // With the built-in grids, an op that fits none of them (one limited to short sequences, say) runs on its own
  // default workloads, so that every registered op is checked and pictured at least once. Grids given with
  // --shapes are taken literally.
  const unfit = opts.shapes
    ? []
    : entries.filter((e) => cases.every((c) => c.entry !== e || c.skip !== undefined));
  for (const entry of unfit) {
    for (const workload of entry.defaultWorkloads()) cases.push({ entry, workload, tokens: workload.tokens });
  }
  if (unfit.length > 0) {
    notes.push(
      `ops that fit none of these grids ran on their own default workloads: ${unfit.map((e) => e.name).join(', ')}`,
    );
  }
  return { cases, notes };
}

function selectOps(names: string[] | undefined): AttentionOpEntry[] {
  if (!names) return listAttentionOps();
  return names.map((name) => {
    try {
      return getAttentionOp(name);
    } catch (e) {
      throw new UsageError(`--ops: ${(e as Error).message}`);
    }
  });
}

function caseFor(entry: AttentionOpEntry, tokens: number[], opts: Options): Case {
  if (!acceptsTokenRank(entry, tokens.length)) {
    const axes = entry.tokenRank === 1 ? '1 token axis' : `${entry.tokenRank} token axes`;
    return { entry, tokens, skip: `takes ${axes}` };
  }
  const shape = { batch: opts.batch, tokens, heads: opts.heads, headDim: opts.headDim };
  try {
    return { entry, tokens, workload: attentionWorkloadFor(entry, shape) };
  } catch (e) {
    return { entry, tokens, skip: (e as Error).message };
  }
}
