import { Generator, sdpa, type Tensor, tensor } from '@attnkit/core';
import { type BlockLayout, layoutFromBlockLists } from '../../src/engine/index.js';

/** A shape of a block-sparse attention case. */
export interface Case {
  batch: number;
  nq: number;
  nk: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  valueDim: number;
  blockQ: number;
  blockK: number;
}

/** Random normal q, k, v of a case on `backend` (float32 unless told). */
export function randomQkv(
  c: Case,
  backend: string,
  seed: number,
  dtype: 'float32' | 'float64' = 'float32',
): { q: Tensor; k: Tensor; v: Tensor } {
  const gen = new Generator(seed);
  const make = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: n }, () => gen.normal());
    return tensor(data, { shape, dtype, backend });
  };
  return {
    q: make([c.batch, c.nq, c.heads, c.headDim]),
    k: make([c.batch, c.nk, c.kvHeads, c.headDim]),
    v: make([c.batch, c.nk, c.kvHeads, c.valueDim]),
  };
}

/**
 * Random per-row block lists of `[lb][lh][nqb]`: each key block is kept with probability `density`, rows in
 * shuffled order; with `emptyRow`, query block 0 of every (batch, head) lists nothing.
 */
export function randomLists(
  c: Case,
  lb: number,
  lh: number,
  seed: number,
  density = 0.5,
  emptyRow = false,
): number[][][][] {
  const gen = new Generator(seed);
  const nqb = Math.ceil(c.nq / c.blockQ);
  const nkb = Math.ceil(c.nk / c.blockK);
  return Array.from({ length: lb }, () =>
    Array.from({ length: lh }, () =>
      Array.from({ length: nqb }, (_, qb) => {
        if (emptyRow && qb === 0) return [];
        const row: number[] = [];
        for (let kb = 0; kb < nkb; kb++) if (gen.uniform() < density) row.push(kb);
        for (let i = row.length - 1; i > 0; i--) {
          const j = gen.int(i + 1);
          [row[i], row[j]] = [row[j], row[i]];
        }
        return row;
      }),
    ),
  );
}

/** A random layout (see {@link randomLists}). */
export function randomLayout(
  c: Case,
  lb: number,
  lh: number,
  seed: number,
  density = 0.5,
  emptyRow = false,
): BlockLayout {
  return layoutFromBlockLists(randomLists(c, lb, lh, seed, density, emptyRow), c);
}

/** A random bool element mask of `shape` on the CPU (true with probability `p`). */
export function randomMask(shape: number[], seed: number, p = 0.7): Tensor {
  const gen = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Uint8Array.from({ length: n }, () => (gen.uniform() < p ? 1 : 0)),
    { shape, dtype: 'bool', backend: 'cpu' },
  );
}

/**
 * The independent reference: core's dense `sdpa` in float64 on the CPU with the element mask of `lists`
 * (built here by direct enumeration, not by the engine's tools), the causal rule `j <= i + nk - nq` and the
 * optional element mask `extra` (bool, broadcastable to [batch, heads, nq, nk]).
 */
export function denseReference(
  c: Case,
  qkv: { q: Tensor; k: Tensor; v: Tensor },
  lists: number[][][][],
  opts: { causal?: boolean; extra?: Tensor; scale?: number } = {},
): { out: Tensor; lse: Tensor } {
  const { batch, heads, nq, nk } = c;
  const extra = opts.extra ? opts.extra.dataSync() : null;
  const es = opts.extra ? padStrides(opts.extra.shape, [batch, heads, nq, nk]) : [0, 0, 0, 0];
  const allow = new Uint8Array(batch * heads * nq * nk);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const rows = lists[lists.length === 1 ? 0 : b][lists[0].length === 1 ? 0 : h];
      for (let i = 0; i < nq; i++) {
        const listed = rows[Math.floor(i / c.blockQ)];
        for (let j = 0; j < nk; j++) {
          let ok = listed.includes(Math.floor(j / c.blockK));
          if (opts.causal && j > i + nk - nq) ok = false;
          if (extra && !extra[b * es[0] + h * es[1] + i * es[2] + j * es[3]]) ok = false;
          allow[((b * heads + h) * nq + i) * nk + j] = ok ? 1 : 0;
        }
      }
    }
  }
  const mask = tensor(allow, { shape: [batch, heads, nq, nk], dtype: 'bool', backend: 'cpu' });
  const f64 = (t: Tensor) => t.to('cpu').cast('float64');
  const r = sdpa(f64(qkv.q), f64(qkv.k), f64(qkv.v), { mask, returnLse: true, scale: opts.scale });
  return r;
}

function padStrides(shape: readonly number[], target: number[]): number[] {
  const s = [...new Array<number>(4 - shape.length).fill(1), ...shape];
  const st = [0, 0, 0, 0];
  let acc = 1;
  for (let d = 3; d >= 0; d--) {
    st[d] = s[d] === 1 && target[d] !== 1 ? 0 : acc;
    acc *= s[d];
  }
  return st;
}
