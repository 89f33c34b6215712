// The benchmark cases of the linear family, shared by run.ts (CPU and SwiftShader here) and gpu.ts (the lent
// GPU). Built on gpu-kernels' bench helpers (BenchCase, timing), imported by relative path: a bench is not part
// of the package.
import { grad, sum, type Tensor, tidy } from '@attnkit/core';
import { type BenchCase, randomTensor } from '../../gpu-kernels/bench/cases.js';
import {
  alibiSlopes,
  decayCausalBackward,
  lightnetAttention,
  lightningAttention,
  linearAttention,
  type ScanVariant,
  setScanVariant,
} from '../src/index.js';

/** Shapes of a linear-attention case: q, k `[batch, tokens, heads, dk]`, v `[batch, tokens, heads, dv]`. */
export interface LinearShape {
  batch: number;
  heads: number;
  tokens: number;
  dk: number;
  dv: number;
}

/** The methods timed: Lightning-2 (ALiBi decays), classic causal linear attention (elu+1), LightNet (causal). */
export type Method = 'lightning' | 'classic' | 'lightnet';

const RUN: Record<Method, (q: Tensor, k: Tensor, v: Tensor) => Tensor> = {
  lightning: (q, k, v) => lightningAttention(q, k, v),
  classic: (q, k, v) => linearAttention(q, k, v, { causal: true }),
  lightnet: (q, k, v) => lightnetAttention(q, k, v, { causal: true }),
};

/** `4 B H N dk dv`: the state update and read-out of the recurrence, the linear part of any chunked form. */
function scanFlops(s: LinearShape): number {
  return 4 * s.batch * s.heads * s.tokens * s.dk * s.dv;
}

/** Bytes of `per` floats per (token, head): the least traffic of a step (each input read, each output written). */
function traffic(s: LinearShape, per: number): number {
  return 4 * s.batch * s.tokens * s.heads * per;
}

const FLOPS_RULE = '4*B*H*N*dk*dv (state update + read-out of the recurrence), per scan';

function shapeName(s: LinearShape): string {
  return `B${s.batch} H${s.heads} N${s.tokens} dk${s.dk} dv${s.dv}`;
}

/** Inputs scaled to [-0.5, 0.5) so that undecayed sums stay moderate at long N. */
function qkv(s: LinearShape, backend: string, seed: number): Tensor[] {
  const qk = [s.batch, s.tokens, s.heads, s.dk];
  const v = [s.batch, s.tokens, s.heads, s.dv];
  return [qk, qk, v, v].map((shape, i) => tidy(() => randomTensor(shape, seed + i, backend).mul(0.5)));
}

function prepared(ts: Tensor[], variant: ScanVariant, run: (...ts: Tensor[]) => unknown) {
  return {
    step: () => {
      setScanVariant(variant);
      tidy(() => {
        run(...ts);
      });
    },
    dispose: () => {
      setScanVariant('auto');
      for (const t of ts) t.dispose();
    },
  };
}

/**
 * Forward of `method`, causal, with the WebGPU scan `variant` (`'auto'`: parallel over blocks on a GPU for these
 * few-head shapes, sequential on SwiftShader; see `setScanVariant`).
 */
export function forwardCase(method: Method, s: LinearShape, variant: ScanVariant = 'auto'): BenchCase {
  return {
    name: `${method} fwd ${shapeName(s)}${variant === 'auto' ? '' : ` ${variant}`}`,
    ops: ['linear.decayCausal'],
    params: { ...s, sequential: variant === 'sequential', parallel: variant === 'parallel' },
    flops: scanFlops(s),
    flopsRule: FLOPS_RULE,
    bytes: traffic(s, 2 * s.dk + 2 * s.dv),
    prepare: (b) => prepared(qkv(s, b, 100), variant, (q, k, v) => RUN[method](q, k, v)),
  };
}

/** Forward and backward of `method`: the gradients of `sum(method(q, k, v))` for q, k and v. */
export function trainCase(method: Method, s: LinearShape, variant: ScanVariant = 'auto'): BenchCase {
  const g = grad((q: Tensor, k: Tensor, v: Tensor) => sum(RUN[method](q, k, v)));
  return {
    name: `${method} fwd+bwd ${shapeName(s)}${variant === 'auto' ? '' : ` ${variant}`}`,
    ops: ['linear.decayCausal', 'linear.decayCausalBackward'],
    params: { ...s, sequential: variant === 'sequential', parallel: variant === 'parallel' },
    flops: 4 * scanFlops(s),
    flopsRule: `${FLOPS_RULE}; one forward scan + three backward scans`,
    bytes: traffic(s, 2 * s.dk + 2 * s.dv + 4 * s.dk + 3 * s.dv),
    prepare: (b) => prepared(qkv(s, b, 200), variant, (q, k, v) => g(q, k, v)),
  };
}

/** The backward primitive alone (Lightning-2's decays): `linear.decayCausalBackward` given dO. */
export function backwardCase(s: LinearShape, variant: ScanVariant = 'auto'): BenchCase {
  const decay = alibiSlopes(s.heads);
  return {
    name: `lightning bwd ${shapeName(s)}${variant === 'auto' ? '' : ` ${variant}`}`,
    ops: ['linear.decayCausalBackward'],
    params: { ...s, sequential: variant === 'sequential', parallel: variant === 'parallel' },
    flops: 3 * scanFlops(s),
    flopsRule: `${FLOPS_RULE}; three scans (dq, dk, dv)`,
    bytes: traffic(s, 4 * s.dk + 3 * s.dv),
    prepare: (b) =>
      prepared(qkv(s, b, 300), variant, (q, k, v, dO) => decayCausalBackward(q, k, v, dO, { decay })),
  };
}
