import { BackendError, registerKernel, type Tensor } from '@attnkit/core';
import './join.js';
import './resize.js';
import { bufferOf, elementKernel, output, rowMajor, wgslType } from './common.js';

// Indexing kernels. Indices are int32. The CPU checks every index before its kernel runs; WebGPU cannot stop to
// read them back, so these kernels define what an index outside [0, n) does instead of failing: `gather` and
// `indexSelect` clamp it into range, `scatter` and `scatterAdd` ignore it (it matches no element of x).
//
// `scatterAdd` and `scatter` run one thread per element of the OUTPUT (x's shape), each looping over the index
// entries along the axis that could point at it, in increasing order. No float atomics, no races: results are
// deterministic, repeated indices accumulate in index order, and for `scatter` the last matching entry wins,
// exactly as on the CPU. The cost is x.size * index.shape[axis] comparisons, fine for the gradient of gather /
// indexSelect (their main use) and moderate index lengths.

/** WGSL statements that turn flat index `v` of the row-major `shape` into coordinates `c0, c1, ...`. */
function coordsCode(shape: readonly number[], v: string): string {
  const lines = [`var r = ${v};`];
  for (let d = shape.length - 1; d >= 0; d--) {
    lines.push(`let c${d} = r % ${shape[d]}u; r = r / ${shape[d]}u;`);
  }
  lines.push('_ = r;');
  return lines.join('\n  ');
}

/** WGSL of sum over `dims` of `c{d} * strides[d]` (0 when empty). */
function dot(strides: readonly number[], dims: readonly number[]): string {
  const terms = dims.filter((d) => strides[d] !== 0).map((d) => `c${d} * ${strides[d]}u`);
  return terms.length ? terms.join(' + ') : '0u';
}

/** Checks that `index` is an int32 tensor (core does, but a kernel must not misread other bits). */
function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'int32') throw new BackendError(op, 'index', 'an int32 tensor', index.dtype);
}

const range = (n: number) => Array.from({ length: n }, (_, d) => d);

registerKernel<{ axis: number }>({
  op: 'gather',
  backend: 'webgpu',
  run: ([x, index], { axis }) => {
    checkIndex('gather', index);
    const ty = wgslType(x);
    const { t, h } = output('gather', x.dtype, index.shape);
    if (t.size === 0) return [t];
    const xs = rowMajor(x.shape);
    const n = x.shape[axis];
    const others = range(x.rank).filter((d) => d !== axis);
    elementKernel(
      'gather',
      `${ty}|${x.shape}|${x.offset}|${index.shape}|${index.offset}|${axis}`,
      t.size,
      [
        { name: 'X', ty, buf: bufferOf('gather', x) },
        { name: 'I', ty: 'i32', buf: bufferOf('gather', index) },
        { name: 'Y', ty, buf: h.buffer, write: true },
      ],
      `let i = e;
  ${coordsCode(index.shape, 'i')}
  let k = u32(clamp(I[i + ${index.offset}u], 0i, ${n - 1}i));
  Y[i] = X[${x.offset}u + ${dot(xs, others)} + k * ${xs[axis]}u];`,
    );
    return [t];
  },
});

registerKernel<{ axis: number }>({
  op: 'indexSelect',
  backend: 'webgpu',
  run: ([x, index], { axis }) => {
    checkIndex('indexSelect', index);
    const ty = wgslType(x);
    const k = index.size;
    const shape = x.shape.map((d, a) => (a === axis ? k : d));
    const { t, h } = output('indexSelect', x.dtype, shape);
    if (t.size === 0) return [t];
    const n = x.shape[axis];
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    elementKernel(
      'indexSelect',
      `${ty}|${n}|${k}|${inner}|${t.size}|${x.offset}|${index.offset}`,
      t.size,
      [
        { name: 'X', ty, buf: bufferOf('indexSelect', x) },
        { name: 'I', ty: 'i32', buf: bufferOf('indexSelect', index) },
        { name: 'Y', ty, buf: h.buffer, write: true },
      ],
      `let ii = e % ${inner}u;
  let j = (e / ${inner}u) % ${k}u;
  let o = e / ${inner * k}u;
  let row = u32(clamp(I[j + ${index.offset}u], 0i, ${n - 1}i));
  Y[e] = X[${x.offset}u + (o * ${n}u + row) * ${inner}u + ii];`,
    );
    return [t];
  },
});

// scatterAdd and scatter: one thread per element of x (see the note at the top of the file).
for (const op of ['scatterAdd', 'scatter'] as const) {
  registerKernel<{ axis: number }>({
    op,
    backend: 'webgpu',
    run: ([x, index, src], { axis }) => {
      checkIndex(op, index);
      const ty = wgslType(x);
      if (op === 'scatterAdd' && ty === 'u32') {
        throw new BackendError(op, 'x', 'a float32 or int32 tensor', x.dtype);
      }
      if (src.dtype !== x.dtype) throw new BackendError(op, 'src', `of x's dtype ${x.dtype}`, src.dtype);
      const { t, h } = output(op, x.dtype, x.shape);
      if (t.size === 0) return [t];
      const is = rowMajor(index.shape);
      const others = range(x.rank).filter((d) => d !== axis);
      // The element of x at coordinates c can be hit only when c fits in index's shape on the other axes.
      const fits = others.filter((d) => index.shape[d] < x.shape[d]).map((d) => `c${d} < ${index.shape[d]}u`);
      const m = index.shape[axis];
      const update = op === 'scatterAdd' ? 'acc += S[p + SOFF];' : 'acc = S[p + SOFF];';
      elementKernel(
        op,
        `${ty}|${x.shape}|${x.offset}|${index.shape}|${index.offset}|${src.offset}|${axis}`,
        t.size,
        [
          { name: 'X', ty, buf: bufferOf(op, x) },
          { name: 'I', ty: 'i32', buf: bufferOf(op, index) },
          { name: 'S', ty, buf: bufferOf(op, src) },
          { name: 'Y', ty, buf: h.buffer, write: true },
        ],
        `let i = e;
  ${coordsCode(x.shape, 'i')}
  var acc = X[i + ${x.offset}u];
  if (${fits.length ? fits.join(' && ') : 'true'}) {
    let base = ${dot(is, others)};
    let want = i32(c${axis});
    for (var q = 0u; q < ${m}u; q++) {
      let p = base + q * ${is[axis]}u;
      if (I[p + ${index.offset}u] == want) { ${update} }
    }
  }
  Y[i] = acc;`,
        `const SOFF = ${src.offset}u;`,
      );
      return [t];
    },
  });
}
