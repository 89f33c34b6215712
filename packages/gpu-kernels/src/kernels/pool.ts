import {
  type AvgPool2dAttrs,
  BackendError,
  type MaxPool2dAttrs,
  type PoolShapes,
  registerKernel,
  type Tensor,
} from '@attnkit/core';
import { bufferOf, elementKernel, f32, output } from './common.js';

function checkFloat(op: string, x: Tensor): void {
  if (x.dtype !== 'float32') throw new BackendError(op, 'x', 'a float32 tensor on WebGPU', x.dtype);
}

/** Cache key of a pooling geometry. */
const shapeKey = (a: PoolShapes) => `${a.xShape}|${a.yShape}`;

/**
 * WGSL that splits the flat index `e` of an `[N * C, rows, cols]` tensor into `plane`, `oy`, `ox`. Used for
 * outputs (rows, cols = OH, OW) and inputs (H, W).
 */
function splitIndex(rows: number, cols: number, y = 'oy', x = 'ox'): string {
  return `let ${x} = e % ${cols}u;
  let ${y} = (e / ${cols}u) % ${rows}u;
  let plane = e / ${rows * cols}u;`;
}

/**
 * WGSL of torch's average-pool window along one axis (as the CPU oracle): `fn avg_<axis>(o) -> vec3i` gives the
 * clipped `start`, `end` and the padded extent used by `countIncludePad`.
 */
function avgSpanFn(axis: string, len: number, k: number, s: number, p: number): string {
  return `fn avg_${axis}(o: i32) -> vec3i {
  let start = o * ${s} - ${p};
  let endPadded = min(start + ${k}, ${len + p});
  return vec3i(max(start, 0), min(endPadded, ${len}), endPadded - start);
}`;
}

/** WGSL of the divisor of the average-pool window spanning `hs` x `ws`. */
function avgDivisor(a: AvgPool2dAttrs): string {
  if (a.divisor !== 0) return f32(a.divisor);
  return a.countIncludePad ? 'f32(hs.z * ws.z)' : 'f32((hs.y - hs.x) * (ws.y - ws.x))';
}

/** WGSL of torch's adaptive window along one axis: `fn ad_<axis>(o) -> vec2i`, `[floor(o*len/out), ceil(..))`. */
function adaptiveSpanFn(axis: string, len: number, out: number): string {
  return `fn ad_${axis}(o: i32) -> vec2i {
  return vec2i((o * ${len}) / ${out}, ((o + 1) * ${len} + ${out - 1}) / ${out});
}`;
}

/**
 * An average over windows, as WGSL: `span` names the window functions (`<span>_h(o)`, `<span>_w(o)`, defined in
 * `helpers`, giving `[start, end)` in `.x`, `.y`), `divisor` divides the sum over the window `hs` x `ws`, and
 * `covering` defines `y0, y1, x0, x1`: the outputs (end exclusive) whose windows may cover input `(i, j)`.
 */
interface AvgWindows {
  /** What the WGSL bakes in besides the shapes and offsets. */
  key: string;
  span: 'avg' | 'ad';
  helpers: string;
  divisor: string;
  covering: string;
}

/** Average-pool forward: one thread per output, summing its clipped window. */
function avgForward(op: string, x: Tensor, a: PoolShapes, w: AvgWindows): Tensor[] {
  checkFloat(op, x);
  const { t, h } = output(op, 'float32', a.yShape);
  if (t.size === 0) return [t];
  const [, , H, W] = a.xShape;
  const [, , OH, OW] = a.yShape;
  elementKernel(
    op,
    `${shapeKey(a)}|${w.key}|${x.offset}`,
    t.size,
    [
      { name: 'X', ty: 'f32', buf: bufferOf(op, x) },
      { name: 'Y', ty: 'f32', buf: h.buffer, write: true },
    ],
    `${splitIndex(OH, OW)}
  let hs = ${w.span}_h(i32(oy));
  let ws = ${w.span}_w(i32(ox));
  let base = ${x.offset}u + plane * ${H * W}u;
  var acc = 0.0;
  for (var i = hs.x; i < hs.y; i++) {
    for (var j = ws.x; j < ws.y; j++) { acc += X[base + u32(i * ${W} + j)]; }
  }
  Y[e] = acc / ${w.divisor};`,
    w.helpers,
  );
  return [t];
}

/**
 * Average-pool gradient, gathered: one thread per input element sums `g / divisor` over the outputs whose window
 * covers it (each candidate checked against its window), so no atomics are needed.
 */
function avgGrad(op: string, g: Tensor, a: PoolShapes, w: AvgWindows): Tensor[] {
  checkFloat(op, g);
  const { t, h } = output(op, 'float32', a.xShape);
  if (t.size === 0) return [t];
  const [, , H, W] = a.xShape;
  const [, , OH, OW] = a.yShape;
  elementKernel(
    op,
    `${shapeKey(a)}|${w.key}|${g.offset}`,
    t.size,
    [
      { name: 'G', ty: 'f32', buf: bufferOf(op, g) },
      { name: 'DX', ty: 'f32', buf: h.buffer, write: true },
    ],
    `${splitIndex(H, W, 'iy', 'ix')}
  let i = i32(iy);
  let j = i32(ix);
  ${w.covering}
  let base = ${g.offset}u + plane * ${OH * OW}u;
  var acc = 0.0;
  for (var oy = y0; oy < y1; oy++) {
    let hs = ${w.span}_h(oy);
    if (i < hs.x || i >= hs.y) { continue; }
    for (var ox = x0; ox < x1; ox++) {
      let ws = ${w.span}_w(ox);
      if (j < ws.x || j >= ws.y) { continue; }
      acc += G[base + u32(oy * ${OW} + ox)] / ${w.divisor};
    }
  }
  DX[e] = acc;`,
    w.helpers,
  );
  return [t];
}

/** torch's average pool: windows `k` by stride `s` from `-p`, clipped to the input. */
function avgWindows(a: AvgPool2dAttrs): AvgWindows {
  const [H, W] = a.xShape.slice(2);
  const [, , OH, OW] = a.yShape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [ph, pw] = a.padding;
  return {
    key: `${a.kernel}|${a.stride}|${a.padding}|${a.countIncludePad}|${a.divisor}`,
    span: 'avg',
    helpers: `${avgSpanFn('h', H, kh, sh, ph)}\n${avgSpanFn('w', W, kw, sw, pw)}`,
    divisor: avgDivisor(a),
    // Outputs o with o * s - p <= i < o * s - p + k: o in [ceil((i + p - k + 1) / s), floor((i + p) / s)]
    // (the ceiling of a possibly negative numerator, shifted by a multiple of s to stay non-negative).
    covering: `let y0 = max((i + ${ph - kh + sh + sh * (kh + 1)}) / ${sh} - ${kh + 1}, 0);
  let y1 = min((i + ${ph}) / ${sh} + 1, ${OH});
  let x0 = max((j + ${pw - kw + sw + sw * (kw + 1)}) / ${sw} - ${kw + 1}, 0);
  let x1 = min((j + ${pw}) / ${sw} + 1, ${OW});`,
  };
}

/**
 * torch's adaptive average pool: output `o` averages `[floor(o * len / out), ceil((o + 1) * len / out))`; the
 * windows covering input row `i` are those of outputs `floor(i * OH / H) .. ceil((i + 1) * OH / H) - 1`.
 */
function adaptiveWindows(a: PoolShapes): AvgWindows {
  const [, , H, W] = a.xShape;
  const [, , OH, OW] = a.yShape;
  return {
    key: 'adaptive',
    span: 'ad',
    helpers: `${adaptiveSpanFn('h', H, OH)}\n${adaptiveSpanFn('w', W, OW)}`,
    divisor: 'f32((hs.y - hs.x) * (ws.y - ws.x))',
    covering: `let y0 = (i * ${OH}) / ${H};
  let y1 = min(((i + 1) * ${OH} + ${H - 1}) / ${H}, ${OH});
  let x0 = (j * ${OW}) / ${W};
  let x1 = min(((j + 1) * ${OW} + ${W - 1}) / ${W}, ${OW});`,
  };
}

registerKernel<AvgPool2dAttrs>({
  op: 'avgPool2d',
  backend: 'webgpu',
  run: ([x], a) => avgForward('avgPool2d', x, a, avgWindows(a)),
});
registerKernel<AvgPool2dAttrs>({
  op: 'avgPool2dGrad',
  backend: 'webgpu',
  run: ([g], a) => avgGrad('avgPool2dGrad', g, a, avgWindows(a)),
});
registerKernel<PoolShapes>({
  op: 'adaptiveAvgPool2d',
  backend: 'webgpu',
  run: ([x], a) => avgForward('adaptiveAvgPool2d', x, a, adaptiveWindows(a)),
});
registerKernel<PoolShapes>({
  op: 'adaptiveAvgPool2dGrad',
  backend: 'webgpu',
  run: ([g], a) => avgGrad('adaptiveAvgPool2dGrad', g, a, adaptiveWindows(a)),
});

/**
 * Records a max pool: one thread per output takes the max over its window's taps in row-major order, as the CPU
 * oracle: the first maximum wins, a NaN replaces the running best (so the last NaN wins), and a window with no
 * tap inside the input gives -inf and index -1. `rowsOpen` / `colsOpen` open the two loops (each ends inside
 * the loop body, with `r` / `q` bound to an in-plane row / column inside the input); they are closed here.
 * Outputs `[values, int32 in-plane indices r * W + q]`.
 */
function runMax(
  op: string,
  x: Tensor,
  a: PoolShapes,
  key: string,
  rowsOpen: string,
  colsOpen: string,
  helpers: string,
): Tensor[] {
  checkFloat(op, x);
  const values = output(op, 'float32', a.yShape);
  const indices = output(op, 'int32', a.yShape);
  if (values.t.size === 0) return [values.t, indices.t];
  const [, , H, W] = a.xShape;
  const [, , OH, OW] = a.yShape;
  elementKernel(
    op,
    `${shapeKey(a)}|${key}|${x.offset}`,
    values.t.size,
    [
      { name: 'X', ty: 'f32', buf: bufferOf(op, x) },
      { name: 'Y', ty: 'f32', buf: values.h.buffer, write: true },
      { name: 'I', ty: 'i32', buf: indices.h.buffer, write: true },
    ],
    `${splitIndex(OH, OW)}
  let base = ${x.offset}u + plane * ${H * W}u;
  var best = ${f32(Number.NEGATIVE_INFINITY)};
  var at = -1;
  ${rowsOpen}
    ${colsOpen}
      let v = X[base + u32(r * ${W} + q)];
      if (at < 0 || v > best || is_nan(v)) { best = v; at = r * ${W} + q; }
    }
  }
  Y[e] = best;
  I[e] = at;`,
    helpers,
  );
  return [values.t, indices.t];
}

// Max pooling over the dilated taps o * s - p + t * d (t < k) that lie inside the input.
registerKernel<MaxPool2dAttrs>({
  op: 'maxPool2d',
  backend: 'webgpu',
  run: ([x], a) => {
    const [, , H, W] = a.xShape;
    const tapLoop = (v: string, o: string, axis: 0 | 1, len: number) =>
      `for (var t${v} = 0; t${v} < ${a.kernel[axis]}; t${v}++) {
    let ${v} = i32(${o}) * ${a.stride[axis]} - ${a.padding[axis]} + t${v} * ${a.dilation[axis]};
    if (${v} < 0 || ${v} >= ${len}) { continue; }`;
    const key = `${a.kernel}|${a.stride}|${a.padding}|${a.dilation}`;
    return runMax('maxPool2d', x, a, key, tapLoop('r', 'oy', 0, H), tapLoop('q', 'ox', 1, W), '');
  },
});

// Adaptive max pooling over the windows of adaptiveAvgPool2d.
registerKernel<PoolShapes>({
  op: 'adaptiveMaxPool2d',
  backend: 'webgpu',
  run: ([x], a) => {
    const [, , H, W] = a.xShape;
    const [, , OH, OW] = a.yShape;
    return runMax(
      'adaptiveMaxPool2d',
      x,
      a,
      '',
      'let hs = ad_h(i32(oy));\n  for (var r = hs.x; r < hs.y; r++) {',
      'let ws = ad_w(i32(ox));\n    for (var q = ws.x; q < ws.y; q++) {',
      `${adaptiveSpanFn('h', H, OH)}
${adaptiveSpanFn('w', W, OW)}`,
    );
  },
});

/** WGSL of the flat input index an in-plane index points to (or -1), as the CPU's `planeIndex`. */
function planeIndexCode(a: PoolShapes): string {
  const [, , H, W] = a.xShape;
  const [, , OH, OW] = a.yShape;
  return `fn plane_index(k: i32, yi: u32) -> i32 {
  if (k < 0) { return -1; }
  return i32((yi / ${OH * OW}u) * ${H * W}u) + k;
}`;
}

// The max pools' gradient: g scattered into zeros at the recorded indices. The op carries no window geometry,
// so one thread owns one input plane: it zeroes the plane and adds its outputs' gradients in output order (the
// CPU oracle's order), so no atomics are needed.
registerKernel<PoolShapes>({
  op: 'maxPool2dGrad',
  backend: 'webgpu',
  run: ([g, idx], a) => {
    const op = 'maxPool2dGrad';
    checkFloat(op, g);
    if (idx.dtype !== 'int32') throw new BackendError(op, 'indices', 'an int32 tensor', idx.dtype);
    const { t, h } = output(op, 'float32', a.xShape);
    if (t.size === 0) return [t];
    const [n, c, H, W] = a.xShape;
    const [, , OH, OW] = a.yShape;
    elementKernel(
      op,
      `${shapeKey(a)}|${g.offset}|${idx.offset}`,
      n * c,
      [
        { name: 'G', ty: 'f32', buf: bufferOf(op, g) },
        { name: 'IX', ty: 'i32', buf: bufferOf(op, idx) },
        { name: 'DX', ty: 'f32', buf: h.buffer, write: true },
      ],
      `let xb = e * ${H * W}u;
  for (var k = 0u; k < ${H * W}u; k++) { DX[xb + k] = 0.0; }
  let yb = e * ${OH * OW}u;
  for (var o = 0u; o < ${OH * OW}u; o++) {
    let k = IX[${idx.offset}u + yb + o];
    if (k >= 0 && k < ${H * W}) { DX[xb + u32(k)] += G[${g.offset}u + yb + o]; }
  }`,
    );
    return [t];
  },
});

// The adjoint of maxPool2dGrad: x read at the recorded indices (0 where the index is -1).
registerKernel<PoolShapes>({
  op: 'maxPool2dGather',
  backend: 'webgpu',
  run: ([x, idx], a) => {
    const op = 'maxPool2dGather';
    checkFloat(op, x);
    if (idx.dtype !== 'int32') throw new BackendError(op, 'indices', 'an int32 tensor', idx.dtype);
    const { t, h } = output(op, 'float32', a.yShape);
    if (t.size === 0) return [t];
    elementKernel(
      op,
      `${shapeKey(a)}|${x.offset}|${idx.offset}`,
      t.size,
      [
        { name: 'X', ty: 'f32', buf: bufferOf(op, x) },
        { name: 'IX', ty: 'i32', buf: bufferOf(op, idx) },
        { name: 'Y', ty: 'f32', buf: h.buffer, write: true },
      ],
      `let xi = plane_index(IX[${idx.offset}u + e], e);
  if (xi < 0) { Y[e] = 0.0; } else { Y[e] = X[${x.offset}u + u32(xi)]; }`,
      planeIndexCode(a),
    );
    return [t];
  },
});
