import { ValueError } from '../errors.js';
import { checkShape, sizeOf } from '../shape.js';
import { type CreateOptions, tensor } from './creation.js';
import type { Tensor } from './tensor.js';

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32): the same seed gives the same
 * numbers on every platform. Used for initialisation, dropout and tests.
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | undefined;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the sequence from `seed`. */
  seed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = undefined;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal number (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalGen = new Generator(0);

/** Seeds the global generator that random functions use when not given a `seed` or `generator`. */
export function manualSeed(seed: number): void {
  globalGen = new Generator(seed);
}

/** The global generator. */
export function globalGenerator(): Generator {
  return globalGen;
}

/** Options of the random tensor functions. */
export interface RandomOptions extends CreateOptions {
  /** Seed for a private generator (reproducible regardless of other calls). */
  seed?: number;
  /** A generator to draw from (default: the global one, see {@link manualSeed}). */
  generator?: Generator;
}

function fill(
  op: string,
  shape: readonly number[],
  opts: RandomOptions | undefined,
  draw: (g: Generator) => number,
): Tensor {
  checkShape(op, 'shape', shape);
  const g = opts?.generator ?? (opts?.seed !== undefined ? new Generator(opts.seed) : globalGen);
  const n = sizeOf(shape);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(g);
  return tensor(values, { shape, dtype: opts?.dtype ?? 'float32', backend: opts?.backend });
}

/** Uniform samples in `[low, high)`. */
export function randomUniform(
  shape: readonly number[],
  opts?: RandomOptions & { low?: number; high?: number },
): Tensor {
  const low = opts?.low ?? 0;
  const high = opts?.high ?? 1;
  if (!(high >= low)) throw new ValueError('randomUniform', 'high', `>= low (${low})`, String(high));
  return fill('randomUniform', shape, opts, (g) => low + (high - low) * g.uniform());
}

/** Normal samples with `mean` and `std`. */
export function randomNormal(
  shape: readonly number[],
  opts?: RandomOptions & { mean?: number; std?: number },
): Tensor {
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  if (!(std >= 0)) throw new ValueError('randomNormal', 'std', 'a non-negative number', String(std));
  return fill('randomNormal', shape, opts, (g) => mean + std * g.normal());
}

/**
 * Normal samples with `mean` and `std`, redrawn until they fall in `[a, b]` (absolute bounds, default
 * mean -/+ 2 std), as `torch.nn.init.trunc_normal_`.
 */
export function truncatedNormal(
  shape: readonly number[],
  opts?: RandomOptions & { mean?: number; std?: number; a?: number; b?: number },
): Tensor {
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  const a = opts?.a ?? mean - 2 * std;
  const b = opts?.b ?? mean + 2 * std;
  if (!(b > a)) throw new ValueError('truncatedNormal', 'b', `> a (${a})`, String(b));
  return fill('truncatedNormal', shape, opts, (g) => {
    for (let i = 0; i < 1000; i++) {
      const v = mean + std * g.normal();
      if (v >= a && v <= b) return v;
    }
    return Math.min(Math.max(mean, a), b);
  });
}

/** A random permutation of `0..n-1` (int32). */
export function randomPermutation(n: number, opts?: RandomOptions): Tensor {
  const g = opts?.generator ?? (opts?.seed !== undefined ? new Generator(opts.seed) : globalGen);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return tensor(p, { dtype: 'int32', backend: opts?.backend });
}
