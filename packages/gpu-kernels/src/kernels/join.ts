import { BackendError, type PadAttrs, registerKernel } from '@attnkit/core';
import {
  bufferOf,
  elementKernel,
  f32,
  grid,
  i32,
  launch,
  output,
  rowMajor,
  wgSize,
  wgslType,
} from './common.js';

// concat, pad and padGrad on WebGPU (imported by indexing.ts).

// concat: one dispatch per input, each copying its [outer, n_i * inner] block of runs into the output at the
// column where the inputs before it end. Copies the bits as u32, so every dtype shares the kernels.
registerKernel<{ axis: number; shape: number[] }>({
  op: 'concat',
  backend: 'webgpu',
  run: (xs, { axis, shape }) => {
    const { t, h } = output('concat', xs[0].dtype, shape);
    if (t.size === 0) return [t];
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const row = shape[axis] * inner;
    let col = 0;
    for (const x of xs) {
      if (x.dtype !== xs[0].dtype)
        throw new BackendError('concat', 'xs', `all of dtype ${xs[0].dtype}`, x.dtype);
      const run = x.shape[axis] * inner;
      const count = outer * run;
      if (count > 0) {
        elementKernel(
          'concat',
          `${run}|${row}|${col}|${count}|${x.offset}`,
          count,
          [
            { name: 'X', ty: 'u32', buf: bufferOf('concat', x) },
            { name: 'Y', ty: 'u32', buf: h.buffer, write: true },
          ],
          `Y[(e / ${run}u) * ${row}u + ${col}u + e % ${run}u] = X[e + ${x.offset}u];`,
        );
      }
      col += run;
    }
    return [t];
  },
});

/** The input index that padded position `i` (already shifted by `-before`) reads, or -1 for the fill value. */
function source(i: number, n: number, mode: PadAttrs['mode']): number {
  if (i >= 0 && i < n) return i;
  if (mode === 'constant') return -1;
  if (mode === 'reflect') return i < 0 ? -i : 2 * (n - 1) - i;
  if (mode === 'replicate') return i < 0 ? 0 : n - 1;
  return ((i % n) + n) % n;
}

/** Per axis, the input index each output index reads (-1: the fill value), computed on the host. */
function sourceTables(a: PadAttrs): number[][] {
  return a.yShape.map((m, ax) =>
    Array.from({ length: m }, (_, o) => source(o - a.before[ax], a.xShape[ax], a.mode)),
  );
}

/** A WGSL private array of u32 (one dummy element when empty: WGSL arrays cannot be empty). */
function u32Array(name: string, values: readonly number[]): string {
  const v = values.length ? values : [0];
  return `var<private> ${name}: array<u32, ${v.length}> = array<u32, ${v.length}>(${v.map((x) => `${x}u`).join(', ')});`;
}

// pad: one thread per output element. Each axis maps its output coordinate to an input one through a table
// compiled into the shader (0xffffffff: the fill value), so all four modes share one kernel.
registerKernel<PadAttrs>({
  op: 'pad',
  backend: 'webgpu',
  run: ([x], a) => {
    const ty = wgslType(x);
    const { t, h } = output('pad', x.dtype, a.yShape);
    if (t.size === 0) return [t];
    const tables = sourceTables(a);
    const xs = rowMajor(a.xShape);
    // The fill value stored as the CPU stores it into the output's typed array.
    const fill =
      ty === 'f32' ? f32(a.value) : ty === 'i32' ? i32(Int32Array.of(a.value)[0]) : `${a.value ? 1 : 0}u`;
    const wg = wgSize();
    const { groups, index } = grid(t.size, wg);
    launch(
      'pad',
      `pad|${ty}|${JSON.stringify(a)}|${x.offset}|${wg}|${groups}`,
      () => {
        const decls = tables.map((tb, ax) =>
          u32Array(
            `P${ax}`,
            tb.map((s) => (s < 0 ? 0xffffffff : s)),
          ),
        );
        const lines = ['var r = i;', `var o = ${x.offset}u;`, 'var inside = true;'];
        for (let ax = a.yShape.length - 1; ax >= 0; ax--) {
          lines.push(`{ let s = P${ax}[r % ${a.yShape[ax]}u]; r = r / ${a.yShape[ax]}u;`);
          lines.push(
            `  inside = inside && s != 0xffffffffu; o += select(0u, s * ${xs[ax]}u, s != 0xffffffffu); }`,
          );
        }
        return /* wgsl */ `${fill.includes('BITS') ? 'var<private> BITS_NAN: u32 = 0x7fc00000u;\nvar<private> BITS_INF: u32 = 0x7f800000u;\nvar<private> BITS_NEG_INF: u32 = 0xff800000u;' : ''}
${decls.join('\n')}
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${ty}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = ${index};
  if (i >= ${t.size}u) { return; }
  ${lines.join('\n  ')}
  _ = r;
  if (inside) { Y[i] = X[o]; } else { Y[i] = ${fill}; }
}`;
      },
      [bufferOf('pad', x), h.buffer],
      groups,
    );
    return [t];
  },
});

// padGrad: one thread per INPUT element, summing the gradients of every output element that read it (no
// atomics, deterministic). Per axis, the output indices reading input index s are listed in a table compiled
// into the shader (CSR: Q{ax}[s] .. Q{ax}[s + 1] index into L{ax}); the thread loops over their product.
registerKernel<PadAttrs>({
  op: 'padGrad',
  backend: 'webgpu',
  run: ([g], a) => {
    const ty = wgslType(g);
    if (ty === 'u32') throw new BackendError('padGrad', 'g', 'a float32 or int32 tensor', g.dtype);
    const { t, h } = output('padGrad', g.dtype, a.xShape);
    if (t.size === 0) return [t];
    const tables = sourceTables(a);
    const ys = rowMajor(a.yShape);
    const wg = wgSize();
    const { groups, index } = grid(t.size, wg);
    launch(
      'padGrad',
      `padGrad|${ty}|${JSON.stringify(a)}|${g.offset}|${wg}|${groups}`,
      () => {
        const decls: string[] = [];
        tables.forEach((tb, ax) => {
          const n = a.xShape[ax];
          const lists: number[][] = Array.from({ length: n }, () => []);
          tb.forEach((s, o) => {
            if (s >= 0) lists[s].push(o);
          });
          const starts = [0];
          for (const l of lists) starts.push(starts[starts.length - 1] + l.length);
          decls.push(u32Array(`Q${ax}`, starts), u32Array(`L${ax}`, lists.flat()));
        });
        const rank = a.xShape.length;
        const coords = ['var r = i;'];
        for (let ax = rank - 1; ax >= 0; ax--)
          coords.push(`let c${ax} = r % ${a.xShape[ax]}u; r = r / ${a.xShape[ax]}u;`);
        let body = `acc += G[y${rank - 1} + ${g.offset}u];`;
        for (let ax = rank - 1; ax >= 0; ax--) {
          const prev = ax === 0 ? '0u' : `y${ax - 1}`;
          body = `for (var p${ax} = Q${ax}[c${ax}]; p${ax} < Q${ax}[c${ax} + 1u]; p${ax}++) {
    let y${ax} = ${prev} + L${ax}[p${ax}] * ${ys[ax]}u;
    ${body}
  }`;
        }
        return /* wgsl */ `
${decls.join('\n')}
@group(0) @binding(0) var<storage, read> G: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${ty}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = ${index};
  if (i >= ${t.size}u) { return; }
  ${coords.join('\n  ')}
  _ = r;
  var acc = ${ty === 'f32' ? '0.0' : '0i'};
  ${body}
  Y[i] = acc;
}`;
      },
      [bufferOf('padGrad', g), h.buffer],
      groups,
    );
    return [t];
  },
});
