import { ShapeError, ValueError } from '../errors.js';
import { Generator } from '../tensor/random.js';

/**
 * The sizes of an attention problem: `batch` items, a grid of tokens (`[length]` for sequences,
 * `[height, width]` for images, `[frames, height, width]` for video), `heads` heads of `headDim` channels.
 * Queries, keys and values are laid out `[batch, ...tokens, heads, headDim]`, as every attnkit attention op.
 */
export interface AttentionShape {
  /** Batch size. */
  readonly batch: number;
  /** The token grid, one size per token axis. */
  readonly tokens: readonly number[];
  /** Number of heads. */
  readonly heads: number;
  /** Channels per head (of queries, keys and values). */
  readonly headDim: number;
}

/** The value of an op-specific workload parameter (plain data, so that workloads print and serialise). */
export type AttentionParam = number | boolean | string | readonly number[];

/**
 * One problem an attention op is run on: the sizes plus the op's own parameters (a kernel size, a block
 * size, ...). The op that made it (see `AttentionOpEntry.workloadFor`) is the one that reads `params`.
 */
export interface AttentionWorkload extends AttentionShape {
  /** Op-specific parameters, e.g. `{ kernelSize: [7, 7] }`; `{}` when the op has none. */
  readonly params: Readonly<Record<string, AttentionParam>>;
  /** A short human name shown by tools, e.g. `'vision'` or `'long sequence'`. */
  readonly label?: string;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Throws a clear error unless `shape` has positive integer sizes and one to three token axes. */
export function checkAttentionShape(op: string, shape: AttentionShape): void {
  for (const key of ['batch', 'heads', 'headDim'] as const) {
    if (!positiveInt(shape[key])) {
      throw new ValueError(op, `workload.${key}`, 'a positive integer', String(shape[key]));
    }
  }
  const t = shape.tokens;
  if (!Array.isArray(t) || t.length < 1 || t.length > 3 || !t.every(positiveInt)) {
    throw new ShapeError(
      op,
      'workload.tokens',
      'one to three positive integer sizes',
      JSON.stringify(t) ?? String(t),
    );
  }
}

/** Number of tokens in the grid (the product of `tokens`). */
export function tokenCount(shape: Pick<AttentionShape, 'tokens'>): number {
  let n = 1;
  for (const d of shape.tokens) n *= d;
  return n;
}

/** The coordinates of the token at row-major flat `index` in the grid `tokens`. */
export function tokenCoords(tokens: readonly number[], index: number): number[] {
  const out = new Array<number>(tokens.length);
  for (let a = tokens.length - 1; a >= 0; a--) {
    out[a] = index % tokens[a];
    index = Math.floor(index / tokens[a]);
  }
  return out;
}

/** The row-major flat index of the token at `coords` in the grid `tokens`. */
export function tokenIndex(tokens: readonly number[], coords: readonly number[]): number {
  let index = 0;
  for (let a = 0; a < tokens.length; a++) index = index * tokens[a] + coords[a];
  return index;
}

function fmtParam(v: AttentionParam): string {
  return Array.isArray(v) ? v.join('x') : String(v);
}

/** A one-line description such as `B1 56x56 H4 d32 kernelSize=7x7`, for tables and logs. */
export function formatWorkload(w: AttentionShape & { params?: AttentionWorkload['params'] }): string {
  const params = Object.entries(w.params ?? {}).map(([k, v]) => `${k}=${fmtParam(v)}`);
  return [`B${w.batch}`, w.tokens.join('x'), `H${w.heads}`, `d${w.headDim}`, ...params].join(' ');
}

/** A query position with a name, as picked by {@link landmarkQueries}. */
export interface LandmarkQuery {
  /** `'corner'`, `'edge'` or `'centre'`. */
  label: string;
  /** Flat (row-major) token index. */
  index: number;
}

/**
 * Query positions worth drawing: a corner, the middle of an edge (of the top row; for video, in the middle
 * frame) and the centre of the grid (for a sequence: the first, a quarter-way and the middle token). Boundary queries are where windowed and causal patterns
 * differ most from their interior shape.
 */
export function landmarkQueries(tokens: readonly number[]): LandmarkQuery[] {
  const corner = tokens.map(() => 0);
  const centre = tokens.map((d) => Math.floor(d / 2));
  // For an image the edge point is the middle of the top row; for video, of the middle frame's top row.
  const edge =
    tokens.length === 1
      ? [Math.floor(tokens[0] / 4)]
      : centre.map((c, a) => (a === tokens.length - 2 ? 0 : c));
  return [
    { label: 'corner', index: tokenIndex(tokens, corner) },
    { label: 'edge', index: tokenIndex(tokens, edge) },
    { label: 'centre', index: tokenIndex(tokens, centre) },
  ];
}

/**
 * A deterministic sample of `count` distinct query positions (flat indices, ascending) for checking an op
 * against its reference when computing every row would cost too much: every corner of the grid and the
 * landmarks of {@link landmarkQueries} first, then uniformly drawn positions. All positions when `count`
 * is at least the number of tokens.
 */
export function sampleQueryRows(tokens: readonly number[], count: number, seed = 0): number[] {
  if (!positiveInt(count))
    throw new ValueError('sampleQueryRows', 'count', 'a positive integer', String(count));
  const n = tokenCount({ tokens });
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  const corners = 1 << tokens.length;
  for (let c = 0; c < corners && picked.size < count; c++) {
    picked.add(
      tokenIndex(
        tokens,
        tokens.map((d, a) => ((c >> a) & 1 ? d - 1 : 0)),
      ),
    );
  }
  for (const q of landmarkQueries(tokens)) if (picked.size < count) picked.add(q.index);
  const gen = new Generator(seed);
  while (picked.size < count) picked.add(gen.int(n));
  return [...picked].sort((a, b) => a - b);
}

/**
 * Picks query rows out of an attention output laid out `[batch, ...tokens, heads, dim]` (`shape`), into the
 * layout of `AttentionReference.values`: `[batch, rows.length, heads, dim]`, as float64.
 */
export function gatherQueryRows(
  values: ArrayLike<number>,
  shape: readonly number[],
  rows: readonly number[],
): Float64Array {
  if (shape.length < 4) {
    throw new ShapeError(
      'gatherQueryRows',
      'shape',
      '[batch, ...tokens, heads, dim]',
      `[${shape.join(', ')}]`,
    );
  }
  const batch = shape[0];
  const heads = shape[shape.length - 2];
  const dim = shape[shape.length - 1];
  const n = tokenCount({ tokens: shape.slice(1, -2) });
  const rowSize = heads * dim;
  const out = new Float64Array(batch * rows.length * rowSize);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows.length; r++) {
      if (!(rows[r] >= 0 && rows[r] < n)) {
        throw new ValueError('gatherQueryRows', `rows[${r}]`, `a token index in [0, ${n})`, String(rows[r]));
      }
      const src = (b * n + rows[r]) * rowSize;
      const dst = (b * rows.length + r) * rowSize;
      for (let i = 0; i < rowSize; i++) out[dst + i] = values[src + i];
    }
  }
  return out;
}
