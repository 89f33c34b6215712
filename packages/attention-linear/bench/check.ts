// A correctness check run before the GPU timings: the WGSL scans against the float64 CPU kernels on one
// moderate case, for both scan variants, so that a figure never comes from a kernel that a real GPU's compiler
// got wrong (SwiftShader in CI is a different compiler).
import { type Tensor, tensor } from '@attnkit/core';
import { compareArrays, toleranceFor } from '@attnkit/core/testing';
import { mulberry32 } from '../../gpu-kernels/bench/cases.js';
import {
  alibiSlopes,
  decayCausal,
  decayCausalBackward,
  type ScanVariant,
  setScanVariant,
} from '../src/index.js';

/** The outcome of one compared output. */
export interface CheckRow {
  /** Variant and output name. */
  what: string;
  /** Elements outside WebGPU's tolerance against the CPU (0 = pass). */
  bad: number;
  /** Largest absolute difference. */
  maxAbs: number;
}

/** Seeded values in [-0.5, 0.5) (gpu-kernels' bench generator). */
function values(shape: number[], seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => next() / 4294967296 - 0.5);
}

/**
 * Forward and backward of `linear.decayCausal` on WebGPU vs the CPU for `[1, tokens, heads, dim]` inputs with
 * Lightning-2's decays (one head undecayed), both variants. Returns one row per output.
 */
export async function checkAgainstCpu(tokens: number, heads: number, dim: number): Promise<CheckRow[]> {
  const shape = [1, tokens, heads, dim];
  const host = [0, 1, 2, 3].map((i) => values(shape, 7 + i));
  const on = (backend: string) => host.map((v) => tensor(v, { shape, backend }));
  const decay = alibiSlopes(heads).map((s, h) => (h === 0 ? 0 : s));
  const [q, k, v, dO] = on('cpu');
  const want = [decayCausal(q, k, v, { decay }), ...decayCausalBackward(q, k, v, dO, { decay })];
  const gpu = on('webgpu');
  const rows: CheckRow[] = [];
  for (const variant of ['sequential', 'parallel'] as ScanVariant[]) {
    setScanVariant(variant);
    const [gq, gk, gv, gdO] = gpu;
    const got: Tensor[] = [
      decayCausal(gq, gk, gv, { decay }),
      ...decayCausalBackward(gq, gk, gv, gdO, { decay }),
    ];
    for (const [i, name] of ['o', 'dq', 'dk', 'dv'].entries()) {
      const d = compareArrays(await got[i].data(), await want[i].data(), toleranceFor('webgpu'));
      rows.push({ what: `${variant} ${name}`, bad: d.bad, maxAbs: d.maxAbs });
      got[i].dispose();
    }
  }
  setScanVariant('auto');
  for (const t of [...want, ...gpu, q, k, v, dO]) t.dispose();
  return rows;
}
