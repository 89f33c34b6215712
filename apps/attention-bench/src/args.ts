import { parseArgs } from 'node:util';

/** A command-line mistake: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What the command line asked for, after validation. */
export interface Options {
  /** Op names to run (default: every registered op). */
  ops?: string[];
  /** Token grids to run (default: the embedded shapes), or 'defaults' for each op's own workloads. */
  shapes?: number[][] | 'defaults';
  /** Backend name (default: the best one registered). */
  backend?: string;
  /** Timed repetitions after the warm-up run (default 3, 1 with --quick). */
  reps: number;
  /** Query rows checked against the reference per case, or 'all'. */
  checkRows: number | 'all';
  batch: number;
  heads: number;
  headDim: number;
  seed: number;
  /** Report folder (default: the app's report/). */
  out?: string;
  /** Sequence lengths of the time-against-N sweep, 'off', or undefined for the backend's default. */
  scaling?: number[] | 'off';
  /** Small shapes and one rep, for tests and CI. */
  quick: boolean;
  help: boolean;
}

export const HELP = `attention-bench: runs every registered attnkit attention op, checks each against its
CPU reference, prints a table, and writes an HTML report (with pictures of the attention
patterns) and a JSON of the results.

Usage: npm run demo -- [flags]        (from the repository root)
       node dist/demo.js [flags]      (from apps/attention-bench, after building)

Flags:
  --ops a,b           only these ops (default: every registered op)
  --shapes S,S        token grids, comma-separated; each is HxW (image), N (sequence) or
                      TxHxW (video), e.g. --shapes 56x56,4096. 'defaults' runs each op's own
                      default workloads instead. Default: 56x56, a 1-D sequence (2048 on the
                      CPU, 4096 on other backends) and an 8x14x14 video.
  --batch N           batch size (default 1)
  --heads N           heads (default 4)
  --head-dim N        channels per head (default 32)
  --backend NAME      backend to run on (default: the best registered; the CPU without
                      @attnkit/gpu-kernels)
  --reps N            timed repetitions after one warm-up run (default 3; a case stops early
                      after about 10 s)
  --check-rows N|all  query rows checked against the reference per case (default 64)
  --seed N            seed of the random inputs (default 0)
  --out DIR           where to write attention-report.html and attention-report.json
                      (default: apps/attention-bench/report)
  --scaling N,N|off   sequence lengths of the sweep that times every 1-D op against N and
                      plots it beside dense attention (default: 256,512,1024,2048 on the CPU,
                      1024 to 16384 on other backends; 64,128 with --quick)
  --quick             small shapes (12x12, 128 and 8x8x8) and one rep, for tests and CI
  --help              this text
`;

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !(n > 0))
    throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

/** Parses `--shapes`: `56x56,4096` gives `[[56, 56], [4096]]`. */
export function parseShapes(text: string): number[][] | 'defaults' {
  if (text === 'defaults') return 'defaults';
  const parts = text.split(',').map((s) => s.trim());
  return parts.map((part) => {
    if (!/^\d+(x\d+){0,2}$/.test(part)) {
      throw new UsageError(
        `--shapes: '${part}' is not a token grid; use N, HxW or TxHxW (e.g. --shapes 56x56,4096) or 'defaults'`,
      );
    }
    const dims = part.split('x').map(Number);
    if (dims.some((d) => d < 1)) throw new UsageError(`--shapes: '${part}' has a zero size`);
    return dims;
  });
}

/** Parses `--scaling`: `off`, or ascending positive lengths such as `256,512,1024`. */
export function parseScaling(text: string): number[] | 'off' {
  if (text === 'off') return 'off';
  const sizes = text.split(',').map((part) => positiveInt('--scaling', part.trim(), 0));
  for (let i = 1; i < sizes.length; i++) {
    if (sizes[i] <= sizes[i - 1]) throw new UsageError(`--scaling: lengths must ascend, got '${text}'`);
  }
  return sizes;
}

/** Parses and validates the command line (without the `node script` prefix). */
export function parseOptions(argv: readonly string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ops: { type: 'string' },
        shapes: { type: 'string' },
        batch: { type: 'string' },
        heads: { type: 'string' },
        'head-dim': { type: 'string' },
        backend: { type: 'string' },
        reps: { type: 'string' },
        'check-rows': { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        scaling: { type: 'string' },
        quick: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    // Node's messages are long and mention `--` separators; say what went wrong in our terms.
    const code = (e as { code?: string }).code;
    const arg = /'([^']+)'/.exec((e as Error).message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag ${arg}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument '${arg}'`);
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const str = (k: string) => values[k] as string | undefined;
  const quick = values.quick === true;
  const ops = str('ops')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ops && ops.length === 0) throw new UsageError('--ops needs at least one op name');
  const rowsText = str('check-rows');
  const seedText = str('seed');
  if (seedText !== undefined && !/^\d+$/.test(seedText)) {
    throw new UsageError(`--seed must be a non-negative integer, got '${seedText}'`);
  }
  const backend = str('backend');
  if (backend !== undefined && backend.length === 0) throw new UsageError('--backend needs a name');
  return {
    ops,
    shapes: str('shapes') === undefined ? undefined : parseShapes(str('shapes')!),
    backend,
    reps: positiveInt('--reps', str('reps'), quick ? 1 : 3),
    checkRows: rowsText === 'all' ? 'all' : positiveInt('--check-rows', rowsText, 64),
    batch: positiveInt('--batch', str('batch'), 1),
    heads: positiveInt('--heads', str('heads'), 4),
    headDim: positiveInt('--head-dim', str('head-dim'), 32),
    seed: seedText === undefined ? 0 : Number(seedText),
    out: str('out'),
    scaling: str('scaling') === undefined ? undefined : parseScaling(str('scaling')!),
    quick,
    help: values.help === true,
  };
}
