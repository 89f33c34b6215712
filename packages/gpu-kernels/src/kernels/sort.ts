import { registerKernel, type Tensor } from '@attnkit/core';
import { bufferOf, grid, launch, MATH_WGSL, output, wgSize, wgslType } from './common.js';

// argsort and topk (imported by scan.ts): a bitonic sort of element indices per lane, in global memory. Each
// lane (the elements of x along the axis, for one position of the other axes) is padded to a power of two P,
// and the log2(P) * (log2(P) + 1) / 2 compare-exchange steps run as one dispatch each over all lanes. The
// comparator is a strict total order, so the result is unique and equals the CPU's stable sort: NaN counts as
// larger than every number, equal values go lower index first in both directions, padding goes last.

/** The next power of two at least `n` (1 for n <= 1). */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Records the compare-exchange steps sorting each lane of `e` ([lanes, p] u32 entries) by the WGSL function
 * `before(a: u32, b: u32, lane: u32) -> bool` of `header` (which declares `before` and binds any data at
 * binding 0; `e` goes to binding `eBinding`).
 */
function bitonic(
  op: string,
  keyBase: string,
  header: string,
  data: readonly GPUBuffer[],
  e: GPUBuffer,
  lanes: number,
  p: number,
): void {
  const count = lanes * p;
  const wg = wgSize();
  const { groups, index } = grid(count, wg);
  for (let k = 2; k <= p; k *= 2) {
    for (let j = k / 2; j >= 1; j /= 2) {
      launch(
        op,
        `${keyBase}|${lanes}|${p}|${k}|${j}|${wg}|${groups}`,
        () => /* wgsl */ `${header}
@group(0) @binding(${data.length}) var<storage, read_write> E: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ${index};
  if (g >= ${count}u) { return; }
  let i = g % ${p}u;
  let l = i ^ ${j}u;
  if (l <= i) { return; }
  let lane = g / ${p}u;
  let a = E[lane * ${p}u + i];
  let b = E[lane * ${p}u + l];
  // Within an ascending run (bit k of i clear) the entry at l must not come before the one at i.
  let swap = select(before(a, b, lane), before(b, a, lane), (i & ${k}u) == 0u);
  if (swap) {
    E[lane * ${p}u + i] = b;
    E[lane * ${p}u + l] = a;
  }
}`,
        [...data, e],
        groups,
      );
    }
  }
}

/** WGSL of `before` on element indices of x: the better value first, ties lower index first, padding last. */
function valueOrder(x: Tensor, axis: number, descending: boolean): string {
  const ty = wgslType(x);
  const n = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const nan = ty === 'f32' ? 'is_nan' : 'never_nan';
  const better = descending ? '>' : '<';
  return `${MATH_WGSL}
fn never_nan(v: ${ty}) -> bool { return false; }
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
fn value(lane: u32, k: u32) -> ${ty} {
  return X[((lane / ${inner}u) * ${n}u + k) * ${inner}u + lane % ${inner}u + ${x.offset}u];
}
fn before(a: u32, b: u32, lane: u32) -> bool {
  if (a >= ${n}u || b >= ${n}u) { return a < b; }
  let va = value(lane, a);
  let vb = value(lane, b);
  let na = ${nan}(va);
  let nb = ${nan}(vb);
  // NaN is the largest value: first when descending, last when ascending.
  if (na != nb) { return ${descending ? 'na' : 'nb'}; }
  if (!na && va != vb) { return va ${better} vb; }
  return a < b;
}`;
}

/**
 * Sorts the element indices of every lane of x along `axis` into a new [lanes, P] u32 buffer (a temporary
 * int32 tensor the caller disposes).
 */
function sortIndices(op: string, x: Tensor, axis: number, descending: boolean): { tmp: Tensor; p: number } {
  // Bool (stored as u32 0/1) orders like the CPU's false < true with the same comparator: no NaN, ties by index.
  const ty = wgslType(x);
  const n = x.shape[axis];
  const lanes = x.size / n;
  const p = pow2(n);
  const { t: tmp, h } = output(op, 'int32', [lanes * p]);
  const wg = wgSize();
  const init = grid(lanes * p, wg);
  launch(
    op,
    `sortInit|${lanes}|${p}|${wg}|${init.groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> E: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ${init.index};
  if (g >= ${lanes * p}u) { return; }
  E[g] = g % ${p}u;
}`,
    [h.buffer],
    init.groups,
  );
  const key = `sortStep|${ty}|${x.shape}|${x.offset}|${axis}|${descending}`;
  bitonic(op, key, valueOrder(x, axis, descending), [bufferOf(op, x)], h.buffer, lanes, p);
  return { tmp, p };
}

/**
 * Records the copy of the first `k` sorted entries of each lane of `e` ([lanes, p]) into `y`, laid out like x
 * with `k` in place of the axis size.
 */
function writeIndices(
  op: string,
  e: GPUBuffer,
  p: number,
  y: GPUBuffer,
  lanes: number,
  k: number,
  inner: number,
) {
  const count = lanes * k;
  const wg = wgSize();
  const { groups, index } = grid(count, wg);
  launch(
    op,
    `sortWrite|${lanes}|${p}|${k}|${inner}|${wg}|${groups}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> E: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<i32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ${index};
  if (g >= ${count}u) { return; }
  let lane = g / ${k}u;
  let j = g % ${k}u;
  Y[((lane / ${inner}u) * ${k}u + j) * ${inner}u + lane % ${inner}u] = i32(E[lane * ${p}u + j]);
}`,
    [e, y],
    groups,
  );
}

registerKernel<{ axis: number; descending: boolean }>({
  op: 'argsort',
  backend: 'webgpu',
  run: ([x], { axis, descending }) => {
    const { t, h } = output('argsort', 'int32', x.shape);
    if (t.size === 0) return [t];
    const { tmp, p } = sortIndices('argsort', x, axis, descending);
    const n = x.shape[axis];
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    writeIndices('argsort', bufferOf('argsort', tmp), p, h.buffer, x.size / n, n, inner);
    tmp.dispose();
    return [t];
  },
});

// topk: the full sort, then the first k entries. Unsorted (sorted: false) output lists them by increasing
// index, as the CPU does: the first k entries are sorted again, by index, with a second bitonic pass.
registerKernel<{ axis: number; k: number; largest: boolean; sorted: boolean }>({
  op: 'topk',
  backend: 'webgpu',
  run: ([x], { axis, k, largest, sorted }) => {
    const shape = x.shape.map((d, a) => (a === axis ? k : d));
    const { t, h } = output('topk', 'int32', shape);
    if (t.size === 0) return [t];
    const n = x.shape[axis];
    const lanes = x.size / n;
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const { tmp, p } = sortIndices('topk', x, axis, largest);
    if (sorted) {
      writeIndices('topk', bufferOf('topk', tmp), p, h.buffer, lanes, k, inner);
      tmp.dispose();
      return [t];
    }
    // Keep the first k entries of each lane (the rest become 0xffffffff, which sorts last) and order them.
    const q = pow2(k);
    const { t: best, h: bh } = output('topk', 'int32', [lanes * q]);
    const wg = wgSize();
    const cut = grid(lanes * q, wg);
    launch(
      'topk',
      `topkCut|${lanes}|${p}|${q}|${k}|${wg}|${cut.groups}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> E: array<u32>;
@group(0) @binding(1) var<storage, read_write> B: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let g = ${cut.index};
  if (g >= ${lanes * q}u) { return; }
  let j = g % ${q}u;
  B[g] = select(0xffffffffu, E[(g / ${q}u) * ${p}u + j], j < ${k}u);
}`,
      [bufferOf('topk', tmp), bh.buffer],
      cut.groups,
    );
    tmp.dispose();
    const byIndex = 'fn before(a: u32, b: u32, lane: u32) -> bool { return a < b; }';
    bitonic('topk', 'topkByIndex', byIndex, [], bh.buffer, lanes, q);
    writeIndices('topk', bh.buffer, q, h.buffer, lanes, k, inner);
    best.dispose();
    return [t];
  },
});
