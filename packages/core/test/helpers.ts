import fc from 'fast-check';
import { type Tensor, tensor } from '../src/index.js';
import { backendsUnderTest } from '../src/testing/index.js';

/**
 * Whether the CPU is among the backends under test. Tests that only make sense on the CPU (float64 tensors,
 * synchronous reads, errors raised inside a CPU kernel) sit in their own `describe.runIf(cpuUnderTest)`
 * blocks: they run in core's project and are skipped where a backend package runs core's suites on its
 * backend alone.
 */
export const cpuUnderTest = backendsUnderTest().includes('cpu');

/**
 * A CPU copy of `t` (same dtype and shape), read asynchronously so `t` may live on any backend: references
 * composed from public ops run on it, on the CPU oracle, instead of on the backend under test.
 */
export async function onCpu(t: Tensor): Promise<Tensor> {
  return tensor(await t.data(), { shape: t.shape, dtype: t.dtype, backend: 'cpu' });
}

/**
 * Applies `fn` to every lane of `values` (row-major, of `shape`) along `axis` and lays the results out in
 * row-major order with `axis` replaced by the length of `fn`'s result: the loop-based oracle of reductions
 * (`fn` returns one number) and of per-lane ops such as softmax (`fn` returns the lane's outputs).
 */
export function alongAxis(
  values: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  fn: (lane: number[]) => number[],
): number[] {
  const n = shape[axis];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    const lanes: number[][] = [];
    for (let i = 0; i < inner; i++) {
      lanes.push(fn(Array.from({ length: n }, (_, k) => values[(o * n + k) * inner + i])));
    }
    const m = lanes[0]?.length ?? 0;
    for (let k = 0; k < m; k++) for (let i = 0; i < inner; i++) out.push(lanes[i][k]);
  }
  return out;
}

/**
 * Random shapes of rank 1 to 3 for property tests: sizes up to 300, so lanes longer than a workgroup and sizes
 * that are not multiples of any tile occur, capped at `maxSize` elements.
 */
export const randomShape = (maxSize = 4000) =>
  fc
    .array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 })
    .filter((s) => s.reduce((a, b) => a * b, 1) <= maxSize);

/** Property-test runs for `backend`: fewer off the CPU, where each new shape compiles pipelines (slow on SwiftShader). */
export const runsFor = (backend: string, cpuRuns: number, otherRuns: number) =>
  backend === 'cpu' ? cpuRuns : otherRuns;
