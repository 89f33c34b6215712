// The associative-memory reading of linear attention (Mu Qiao, "Pavlovian conditioning" view, arXiv 2508.08289):
// keys are conditioned stimuli, values unconditioned ones; an attention call writes M = sum_j v_j k_j^T
// (Hebbian outer products) and reads M q. The capacity tool measures how retrieval degrades with the number of
// stored pairs N relative to the key dimension d_k.
import { add, Generator, matmul, type Tensor, transpose, ValueError, zeros } from '@attnkit/core';
import { checkInt } from '../util/check.js';

/**
 * A Hebbian key-value memory `M` (`[valueDim, keyDim]`): `write` adds `sum_j v_j k_j^T`, `read` returns `M q`.
 * Writing every (phi(k_j), v_j) of a sequence and reading phi(q_i) gives the numerator of non-causal linear
 * attention; writing them one token at a time and reading in between gives the causal one.
 */
export class HebbianMemory {
  /** Size of a key. */
  readonly keyDim: number;
  /** Size of a value. */
  readonly valueDim: number;
  #m: Tensor;

  constructor(
    keyDim: number,
    valueDim: number,
    opts: { dtype?: 'float32' | 'float64'; backend?: string } = {},
  ) {
    this.keyDim = checkInt('HebbianMemory', 'keyDim', keyDim, 1);
    this.valueDim = checkInt('HebbianMemory', 'valueDim', valueDim, 1);
    this.#m = zeros([valueDim, keyDim], { dtype: opts.dtype ?? 'float32', backend: opts.backend });
  }

  /** The memory matrix `[valueDim, keyDim]` (owned by the memory: do not dispose). */
  get matrix(): Tensor {
    return this.#m;
  }

  /** Stores pairs: `keys` `[n, keyDim]`, `values` `[n, valueDim]`; `M += values^T keys`. */
  write(keys: Tensor, values: Tensor): void {
    this.#check('write', 'keys', keys, this.keyDim);
    this.#check('write', 'values', values, this.valueDim);
    if (keys.shape[0] !== values.shape[0]) {
      throw new ValueError(
        'HebbianMemory.write',
        'values',
        `${keys.shape[0]} rows like keys`,
        String(values.shape[0]),
      );
    }
    const vt = transpose(values);
    const outer = matmul(vt, keys);
    const next = add(this.#m, outer);
    vt.dispose();
    outer.dispose();
    this.#m.dispose();
    this.#m = next;
  }

  /** Retrieves `M q` for each query row: `queries` `[m, keyDim]` to `[m, valueDim]`. */
  read(queries: Tensor): Tensor {
    this.#check('read', 'queries', queries, this.keyDim);
    const mt = transpose(this.#m);
    const out = matmul(queries, mt);
    mt.dispose();
    return out;
  }

  /** Frees the memory matrix. */
  dispose(): void {
    this.#m.dispose();
  }

  #check(method: string, arg: string, t: Tensor, dim: number): void {
    t.assertAlive(`HebbianMemory.${method}`, arg);
    if (t.rank !== 2 || t.shape[1] !== dim) {
      throw new ValueError(`HebbianMemory.${method}`, arg, `a tensor [n, ${dim}]`, `[${t.shape.join(', ')}]`);
    }
  }
}

/** How keys are drawn by {@link hebbianCapacity}. */
export type HebbianKeys = 'gaussian' | 'orthonormal' | 'elu+1';

/** Options of {@link hebbianCapacity}. */
export interface HebbianCapacityOptions {
  /** Key dimension `d_k`. */
  keyDim: number;
  /** Numbers of stored pairs `N` to try. */
  counts: readonly number[];
  /** Value dimension (default `keyDim`). */
  valueDim?: number;
  /**
   * Keys: random unit vectors (`'gaussian'`, default), orthonormal rows (exact recall up to `N = d_k`; `N` must
   * not exceed `d_k`), or `elu(x) + 1` of Gaussian vectors normalised to unit length (all positive, as the
   * keys of elu+1 linear attention).
   */
  keys?: HebbianKeys;
  /** Independent memories averaged per count (default 4). */
  trials?: number;
  /** Seed of the random keys and values (default 0). */
  seed?: number;
}

/** Retrieval quality of a Hebbian memory holding `n` pairs, averaged over the stored pairs and trials. */
export interface HebbianCapacityPoint {
  /** Stored pairs `N`. */
  n: number;
  /** `N / d_k`, the load. */
  load: number;
  /** Mean cosine between the retrieved `M k_j` and the stored `v_j`. */
  meanCosine: number;
  /** Fraction of pairs whose retrieved vector is nearest (by cosine) to its own stored value. */
  recall: number;
  /** The largest crosstalk norm `|sum_{i != j} v_i (k_i . k_j)|` over the stored pairs. */
  maxCrosstalk: number;
  /** The mean cosine expected for random unit keys and values, `1 / sqrt(1 + (N - 1) / d_k)`. */
  theory: number;
}

function unitRows(rows: Float64Array[], gen: Generator, dim: number, kind: HebbianKeys | 'value'): void {
  for (let r = 0; r < rows.length; r++) {
    const x = rows[r];
    for (let c = 0; c < dim; c++) {
      const g = gen.normal();
      x[c] = kind === 'elu+1' ? (g > 0 ? g + 1 : Math.exp(g)) : g;
    }
    if (kind === 'orthonormal') {
      // Gram-Schmidt against the rows before: N <= d_k orthonormal keys.
      for (let p = 0; p < r; p++) {
        let dot = 0;
        for (let c = 0; c < dim; c++) dot += x[c] * rows[p][c];
        for (let c = 0; c < dim; c++) x[c] -= dot * rows[p][c];
      }
    }
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += x[c] * x[c];
    norm = Math.sqrt(norm);
    for (let c = 0; c < dim; c++) x[c] /= norm;
  }
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * Measures the capacity of a Hebbian memory `M = sum_j v_j k_j^T`: for each `N` in `counts`, stores `N` random
 * unit (key, value) pairs, retrieves `M k_j` for every stored key and reports the mean cosine to `v_j`, the
 * nearest-value recall and the worst crosstalk, with the random-key theory `1 / sqrt(1 + (N-1)/d_k)` beside.
 * The crosstalk `sum_{i != j} v_i (k_i . k_j)` has variance about `(N-1)/d_k`, so quality is a function of the
 * load `N / d_k`: capacity at fixed fidelity grows linearly with `d_k`. Plain float64 loops on the host.
 *
 * @example
 * hebbianCapacity({ keyDim: 64, counts: [16, 32, 64, 128] }).map((p) => p.meanCosine); // ~[0.9, 0.83, 0.72, 0.58]
 */
export function hebbianCapacity(opts: HebbianCapacityOptions): HebbianCapacityPoint[] {
  const op = 'hebbianCapacity';
  const dk = checkInt(op, 'keyDim', opts.keyDim, 1);
  const dv = checkInt(op, 'valueDim', opts.valueDim ?? dk, 1);
  const trials = checkInt(op, 'trials', opts.trials ?? 4, 1);
  const kind = opts.keys ?? 'gaussian';
  if (!['gaussian', 'orthonormal', 'elu+1'].includes(kind)) {
    throw new ValueError(op, 'keys', "'gaussian', 'orthonormal' or 'elu+1'", String(kind));
  }
  if (!Array.isArray(opts.counts) || opts.counts.length === 0) {
    throw new ValueError(op, 'counts', 'a non-empty array of pair counts', String(opts.counts));
  }
  const gen = new Generator(opts.seed ?? 0);
  return opts.counts.map((n, idx) => {
    checkInt(op, `counts[${idx}]`, n, 1);
    if (kind === 'orthonormal' && n > dk) {
      throw new ValueError(op, `counts[${idx}]`, `at most keyDim = ${dk} orthonormal keys`, String(n));
    }
    let cosSum = 0;
    let hits = 0;
    let maxCrosstalk = 0;
    for (let t = 0; t < trials; t++) {
      const keys = Array.from({ length: n }, () => new Float64Array(dk));
      const values = Array.from({ length: n }, () => new Float64Array(dv));
      unitRows(keys, gen, dk, kind);
      unitRows(values, gen, dv, 'value');
      // M k_j = sum_i v_i (k_i . k_j): computed through the Gram matrix, without forming M.
      const gram = keys.map((a) => keys.map((b) => dot(a, b)));
      const retrieved = new Float64Array(dv);
      const cross = new Float64Array(dv);
      for (let j = 0; j < n; j++) {
        retrieved.fill(0);
        cross.fill(0);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < dv; c++) {
            retrieved[c] += values[i][c] * gram[i][j];
            if (i !== j) cross[c] += values[i][c] * gram[i][j];
          }
        }
        const rn = Math.sqrt(dot(retrieved, retrieved));
        maxCrosstalk = Math.max(maxCrosstalk, Math.sqrt(dot(cross, cross)));
        let best = -1;
        let bestCos = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < n; i++) {
          const c = rn > 0 ? dot(retrieved, values[i]) / rn : 0;
          if (i === j) cosSum += c;
          if (c > bestCos) {
            bestCos = c;
            best = i;
          }
        }
        if (best === j) hits++;
      }
    }
    return {
      n,
      load: n / dk,
      meanCosine: cosSum / (n * trials),
      recall: hits / (n * trials),
      maxCrosstalk,
      theory: 1 / Math.sqrt(1 + (n - 1) / dk),
    };
  });
}

/** Options of {@link hebbianCapacityAt}. */
export interface HebbianCapacityAtOptions extends Omit<HebbianCapacityOptions, 'counts'> {
  /** The mean cosine retrieval must reach, in (0, 1). */
  fidelity: number;
  /** Largest N tried (default `8 * keyDim`, or `keyDim` for orthonormal keys). */
  maxPairs?: number;
}

/**
 * The capacity of a Hebbian memory at a fidelity: the largest number of stored pairs N (counting up from 1) for
 * which the mean retrieval cosine of {@link hebbianCapacity} stays at or above `fidelity`. For random keys it
 * grows linearly with `keyDim` (about `1 + d_k (1/fidelity^2 - 1)` by the theory).
 */
export function hebbianCapacityAt(opts: HebbianCapacityAtOptions): number {
  const op = 'hebbianCapacityAt';
  const f = opts.fidelity;
  if (typeof f !== 'number' || !(f > 0 && f < 1))
    throw new ValueError(op, 'fidelity', 'a number in (0, 1)', String(f));
  const dk = checkInt(op, 'keyDim', opts.keyDim, 1);
  const maxPairs = checkInt(op, 'maxPairs', opts.maxPairs ?? (opts.keys === 'orthonormal' ? dk : 8 * dk), 1);
  let best = 0;
  for (let n = 1; n <= maxPairs; n++) {
    const [p] = hebbianCapacity({ ...opts, counts: [n], seed: (opts.seed ?? 0) + n });
    if (p.meanCosine < f) break;
    best = n;
  }
  return best;
}
