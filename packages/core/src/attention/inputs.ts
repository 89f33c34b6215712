import { randomNormal } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionShape } from './workload.js';

/**
 * The tensors an attention op is run on: queries, keys and values laid out `[batch, ...tokens, heads,
 * headDim]`, plus whatever else the op needs (a positional bias, a block layout), all on one backend.
 */
export interface AttentionInputs {
  /** Queries. */
  readonly q: Tensor;
  /** Keys. */
  readonly k: Tensor;
  /** Values. */
  readonly v: Tensor;
  /** Op-specific tensors, by name (e.g. `{ rpb }`). */
  readonly extras?: Readonly<Record<string, Tensor>>;
}

/** Where and how to make inputs: the backend they live on and the seed that makes them reproducible. */
export interface MakeInputsOptions {
  /** Backend name, e.g. `'cpu'`. */
  readonly backend: string;
  /** Seed of the random values: the same seed must give the same values on every backend. */
  readonly seed: number;
}

/**
 * Standard-normal float32 queries, keys and values for `shape` on `opts.backend`, drawn from seeds `seed`,
 * `seed + 1` and `seed + 2`: what most attention ops' `makeInputs` need. With the default scale
 * `1 / sqrt(headDim)` the attention logits then have unit variance, so softmax weights are neither uniform nor
 * one-hot and errors in either the weights or the value sum show up.
 */
export function randomQkv(shape: AttentionShape, opts: MakeInputsOptions): AttentionInputs {
  const dims = [shape.batch, ...shape.tokens, shape.heads, shape.headDim];
  const make = (offset: number) => randomNormal(dims, { seed: opts.seed + offset, backend: opts.backend });
  return { q: make(0), k: make(1), v: make(2) };
}

/** Disposes every tensor of `inputs` (q, k, v and the extras). */
export function disposeAttentionInputs(inputs: AttentionInputs): void {
  inputs.q.dispose();
  inputs.k.dispose();
  inputs.v.dispose();
  for (const t of Object.values(inputs.extras ?? {})) t.dispose();
}
