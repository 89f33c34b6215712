import { parseArgs } from 'node:util';

/** The command line, resolved to numbers. */
export interface CliOptions {
  heads: number;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  quick: boolean;
  /** Tasks in each of the held-out sets (one tunes the baselines' η and λ, one measures every loss). */
  evalTasks: number;
  help: boolean;
}

export const USAGE = `Usage: node dist/cli.js [options]

Trains one layer of multi-head softmax attention on in-context linear regression (d = 5, L = 40,
σ² = 0.1) and compares it with one-step GD and ridge regression.

Options:
  --heads <n>   attention heads (default 2)
  --steps <n>   Adam steps (default 3000; 600 with --quick)
  --batch <n>   tasks per step (default 256)
  --lr <x>      peak learning rate, warm-up then cosine decay (default 0.02)
  --seed <n>    seed of the weights and the training data (default 0)
  --quick       a short run (fewer steps, smaller held-out sets) to check that everything works
  -h, --help    this text`;

function positive(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return v;
}

/** Parses the flags (throws with a readable message on bad input). */
export function parseCli(argv: readonly string[]): CliOptions {
  // `pnpm start -- --quick` hands the script a literal `--` first; it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const { values } = parseArgs({
    args,
    options: {
      heads: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`--seed must be a non-negative integer, got '${values.seed}'`);
  return {
    heads: positive('heads', values.heads, 2, true),
    steps: positive('steps', values.steps, quick ? 600 : 3000, true),
    batch: positive('batch', values.batch, 256, true),
    lr: positive('lr', values.lr, 0.02, false),
    seed,
    quick,
    evalTasks: quick ? 4000 : 20000,
    help: values.help === true,
  };
}
