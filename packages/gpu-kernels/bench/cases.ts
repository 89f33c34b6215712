// The benchmark cases shared by `run.ts` (CPU and SwiftShader here) and `gpu.ts` (the bundle for the lent GPU):
// each builds its inputs once on a backend and returns a step that runs the op and frees what it made.
import {
  conv2d,
  getBackend,
  grad,
  layerNorm,
  listKernels,
  matmul,
  sdpa,
  softmax,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@attnkit/core';

/** A prepared case on one backend: `step()` queues one run of the op (outputs freed), `dispose()` frees inputs. */
export interface Prepared {
  step: () => void;
  dispose: () => void;
}

/** One benchmark case. */
export interface BenchCase {
  /** Short name with the shapes. */
  name: string;
  /** The kernel ops it needs on the backend (checked with `listKernels`). */
  ops: string[];
  /** The shapes and options, for the JSON. */
  params: Record<string, number | boolean>;
  /** Floating-point operations of one step, by the convention in `flopsRule`. */
  flops: number;
  /** How `flops` was counted. */
  flopsRule: string;
  /**
   * The least memory traffic of one step in bytes (every input read once, every output written once, f32):
   * with `flops`, the arithmetic intensity that places the case on the roofline.
   */
  bytes: number;
  /** Builds the inputs on `backend`. */
  prepare: (backend: string) => Prepared;
}

/**
 * A seeded generator of 32-bit unsigned integers (mulberry32): the benchmarks' inputs and patterns are the same
 * on every run (and the PyTorch sides rebuild them with the same generator).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Deterministic values in [-1, 1) (mulberry32), as a float32 tensor of `shape` on `backend`. */
export function randomTensor(shape: number[], seed: number, backend: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  const next = mulberry32(seed);
  for (let i = 0; i < n; i++) v[i] = -1 + (2 * next()) / 4294967296;
  return tensor(v, { shape, backend });
}

/** Whether every op of `c` has a kernel on `backend`. */
export function supported(c: BenchCase, backend: string): boolean {
  const have = new Set(listKernels(backend));
  return c.ops.every((op) => have.has(op));
}

/** Waits until the work queued on `backend` is done (a no-op on synchronous backends). */
export async function syncBackend(backend: string): Promise<void> {
  await getBackend(backend).sync?.();
}

function inputs(shapes: number[][], backend: string, seed: number): Tensor[] {
  return shapes.map((s, i) => randomTensor(s, seed + i, backend));
}

/** A case's step over the inputs `ts` (what `run` makes is freed each step) and the disposal of `ts`. */
export function prepared(ts: Tensor[], run: (...ts: Tensor[]) => unknown): Prepared {
  return {
    step: () => {
      tidy(() => {
        run(...ts);
      });
    },
    dispose: () => {
      for (const t of ts) t.dispose();
    },
  };
}

/** `matmul` of `[m, k]` by `[k, n]`. */
export function matmulCase(m: number, k: number, n: number): BenchCase {
  return {
    name: `matmul ${m}x${k}x${n}`,
    ops: ['matmul'],
    params: { m, k, n },
    flops: 2 * m * k * n,
    flopsRule: '2*m*k*n',
    bytes: 4 * (m * k + k * n + m * n),
    prepare: (b) =>
      prepared(
        inputs(
          [
            [m, k],
            [k, n],
          ],
          b,
          1,
        ),
        (x, y) => matmul(x, y),
      ),
  };
}

/** `softmax` over the last axis of `[rows, cols]`. */
export function softmaxCase(rows: number, cols: number): BenchCase {
  return {
    name: `softmax ${rows}x${cols}`,
    ops: ['softmax'],
    params: { rows, cols },
    flops: 5 * rows * cols,
    flopsRule: '5 per element (max, subtract, exp, sum, divide)',
    bytes: 8 * rows * cols,
    prepare: (b) => prepared(inputs([[rows, cols]], b, 10), (x) => softmax(x, -1)),
  };
}

/** `layerNorm` over the last axis of `[rows, cols]`, with weight and bias. */
export function layerNormCase(rows: number, cols: number): BenchCase {
  return {
    name: `layerNorm ${rows}x${cols}`,
    ops: ['layerNorm'],
    params: { rows, cols },
    flops: 8 * rows * cols,
    flopsRule: '8 per element (mean, variance, normalise, scale, shift)',
    bytes: 4 * (2 * rows * cols + 2 * cols),
    prepare: (b) =>
      prepared(inputs([[rows, cols], [cols], [cols]], b, 20), (x, w, bias) => layerNorm(x, cols, w, bias)),
  };
}

/** `conv2d` of `[n, cin, size, size]` with `cout` filters `k x k`, stride 1, 'same' padding, with bias. */
export function conv2dCase(n: number, cin: number, size: number, cout: number, k: number): BenchCase {
  return {
    name: `conv2d n${n} ${cin}->${cout} ${size}x${size} k${k}`,
    ops: ['conv2d'],
    params: { n, cin, size, cout, k },
    flops: 2 * n * cout * size * size * cin * k * k,
    flopsRule: '2*n*cout*outH*outW*cin*k*k',
    bytes: 4 * (n * cin * size * size + cout * cin * k * k + cout + n * cout * size * size),
    prepare: (b) =>
      prepared(inputs([[n, cin, size, size], [cout, cin, k, k], [cout]], b, 30), (x, w, bias) =>
        conv2d(x, w, bias, { padding: 'same' }),
      ),
  };
}

/** Shapes of an attention case: batch, heads, tokens (queries = keys) and head size. */
export interface AttentionShape {
  batch: number;
  heads: number;
  tokens: number;
  headDim: number;
  causal: boolean;
}

function attentionFlops(s: AttentionShape, perPair: number): number {
  // Causal attention computes about half of the score matrix.
  return perPair * s.batch * s.heads * s.tokens * s.tokens * s.headDim * (s.causal ? 0.5 : 1);
}

function attentionName(kind: string, s: AttentionShape): string {
  return `${kind} B${s.batch} H${s.heads} N${s.tokens} d${s.headDim}${s.causal ? ' causal' : ''}`;
}

function qkv(s: AttentionShape, b: string): Tensor[] {
  const shape = [s.batch, s.tokens, s.heads, s.headDim];
  return inputs([shape, shape, shape], b, 40);
}

/** Fused attention forward (`sdpa`), q, k, v `[batch, tokens, heads, headDim]`. */
export function sdpaCase(s: AttentionShape): BenchCase {
  return {
    name: attentionName('sdpa fwd', s),
    ops: ['sdpa'],
    params: { ...s },
    flops: attentionFlops(s, 4),
    flopsRule: '4*B*H*N*N*d (two matmuls), halved when causal',
    // q, k, v read, out and lse written.
    bytes: 4 * s.batch * s.tokens * s.heads * (4 * s.headDim + 1),
    prepare: (b) => prepared(qkv(s, b), (q, k, v) => sdpa(q, k, v, { causal: s.causal })),
  };
}

/**
 * Fused attention forward and backward: the gradients of `sum(sdpa(q, k, v))` for q, k and v. The backward
 * alone is this case's time less the forward case's.
 */
export function sdpaTrainCase(s: AttentionShape): BenchCase {
  const g = grad((q, k, v) => sum(sdpa(q, k, v, { causal: s.causal })));
  return {
    name: attentionName('sdpa fwd+bwd', s),
    ops: ['sdpa', 'sdpaBackward'],
    params: { ...s },
    flops: attentionFlops(s, 14),
    flopsRule: '4*B*H*N*N*d forward + 10*B*H*N*N*d backward (five matmuls), halved when causal',
    // Forward (q, k, v in; out, lse out), backward (q, k, v, out, dout, lse in; dq, dk, dv out).
    bytes: 4 * s.batch * s.tokens * s.heads * (4 * s.headDim + 1 + 8 * s.headDim + 1),
    prepare: (b) => prepared(qkv(s, b), (q, k, v) => g(q, k, v)),
  };
}
