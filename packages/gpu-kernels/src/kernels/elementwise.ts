import {
  ARITHMETIC_OPS,
  BackendError,
  type BinaryAttrs,
  COMPARISON_OPS,
  type DType,
  LOGICAL_OPS,
  registerKernel,
  type Tensor,
  UNARY_OPS,
} from '@attnkit/core';
import {
  broadcastStridesOf,
  bufferOf,
  elementKernel,
  f32,
  grid,
  i32,
  launch,
  MATH_WGSL,
  offsetsCode,
  output,
  rowMajor,
  wgSize,
  wgslType,
} from './common.js';

type Attrs = Record<string, number | string>;
type Ty = 'f32' | 'i32' | 'u32';

/** WGSL of each unary op on f32 `x`. */
const UNARY_F32: Record<string, (a: Attrs) => string> = {
  neg: () => '-x',
  abs: () => 'abs(x)',
  sign: () => 'select(sign(x), x, is_nan(x))',
  exp: () => 'exp(x)',
  log: () => 'log(x)',
  log1p: () => 'log1p_s(x)',
  expm1: () => 'expm1_s(x)',
  sqrt: () => 'sqrt(x)',
  rsqrt: () => '1.0 / sqrt(x)',
  square: () => 'x * x',
  reciprocal: () => '1.0 / x',
  sin: () => 'sin(x)',
  cos: () => 'cos(x)',
  tanh: () => 'tanh_s(x)',
  sigmoid: () => 'sigmoid_s(x)',
  erf: () => 'erf_s(x)',
  relu: () => 'select(0.0, x, x > 0.0)',
  silu: () => 'x * sigmoid_s(x)',
  gelu: (a) =>
    a.approximate === 'tanh'
      ? `0.5 * x * (1.0 + tanh_s(${f32(Math.sqrt(2 / Math.PI))} * (x + 0.044715 * x * x * x)))`
      : `0.5 * x * (1.0 + erf_s(x * ${f32(Math.SQRT1_2)}))`,
  elu: (a) => `select(${f32(a.alpha as number)} * expm1_s(x), x, x > 0.0)`,
  leakyRelu: (a) => `select(${f32(a.slope as number)} * x, x, x > 0.0)`,
  softplus: (a) => {
    const b = f32(a.beta as number);
    return `select(log1p_s(exp(${b} * x)) / ${b}, x, ${b} * x > ${f32(a.threshold as number)})`;
  },
  clamp: (a) => `min(max(x, ${f32(a.min as number)}), ${f32(a.max as number)})`,
  floor: () => 'floor(x)',
  ceil: () => 'ceil(x)',
  round: () => 'round(x)',
  logicalNot: () => 'select(0u, 1u, x == 0.0)',
};

/** Integer clamp with the CPU's semantics: compare in the integers, store the truncated bound. */
function clampInt(a: Attrs): string {
  const lo = a.min as number;
  const hi = a.max as number;
  const fit = (v: number) => Math.min(Math.max(v, -2147483648), 2147483647);
  let e = 'x';
  if (lo > -2147483648) e = `select(${e}, ${i32(fit(Math.trunc(lo)))}, x < ${i32(fit(Math.ceil(lo)))})`;
  if (hi < 2147483647) e = `select(${e}, ${i32(fit(Math.trunc(hi)))}, x > ${i32(fit(Math.floor(hi)))})`;
  return e;
}

/** WGSL of the unary ops that keep integer input integer (the others get float input from core). */
const UNARY_I32: Record<string, (a: Attrs) => string> = {
  neg: () => '-x',
  abs: () => 'abs(x)',
  sign: () => 'sign(x)',
  square: () => 'x * x',
  relu: () => 'max(x, 0i)',
  clamp: clampInt,
  floor: () => 'x',
  ceil: () => 'x',
  round: () => 'x',
  logicalNot: () => 'select(0u, 1u, x == 0i)',
};

function unaryExpr(op: string, ty: Ty, attrs: Attrs): string {
  if (ty === 'f32') return UNARY_F32[op](attrs);
  if (ty === 'i32' && UNARY_I32[op]) return UNARY_I32[op](attrs);
  if (ty === 'u32' && op === 'logicalNot') return 'select(0u, 1u, x == 0u)';
  throw new BackendError(op, 'x', 'a float32 or int32 tensor on WebGPU', ty === 'u32' ? 'bool' : 'int32');
}

for (const [op, kind] of Object.entries(UNARY_OPS)) {
  if (!UNARY_F32[op]) throw new Error(`@attnkit/gpu-kernels: no WGSL for unary op '${op}'`);
  registerKernel<Attrs>({
    op,
    backend: 'webgpu',
    run: ([x], attrs) => {
      const ty = wgslType(x);
      const outDType: DType = kind === 'bool' ? 'bool' : x.dtype;
      const outTy = wgslType(outDType);
      const expr = unaryExpr(op, ty, attrs);
      const { t, h } = output(op, outDType, x.shape);
      if (x.size === 0) return [t];
      const wg = wgSize();
      const { groups, index } = grid(x.size, wg);
      launch(
        op,
        `${op}|${ty}|${JSON.stringify(attrs)}|${x.size}|${x.offset}|${wg}|${groups}`,
        () => /* wgsl */ `${MATH_WGSL}
@group(0) @binding(0) var<storage, read> X: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${outTy}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = ${index};
  if (i >= ${x.size}u) { return; }
  let x = X[i + ${x.offset}u];
  Y[i] = ${expr};
}`,
        [bufferOf(op, x), h.buffer],
        groups,
      );
      return [t];
    },
  });
}

/** WGSL of each binary op on `a` and `b` of type `ty` (same for both; core promotes first). */
function binaryExpr(op: string, ty: Ty): string {
  const zero = ty === 'f32' ? '0.0' : ty === 'i32' ? '0i' : '0u';
  const nanGuard = (e: string) => (ty === 'f32' ? `select(${e}, nan_f32(), is_nan(a) || is_nan(b))` : e);
  switch (op) {
    case 'add':
      return 'a + b';
    case 'sub':
      return 'a - b';
    case 'mul':
      return 'a * b';
    case 'div':
      if (ty !== 'f32') break;
      return 'a / b';
    case 'pow':
      if (ty !== 'f32') break;
      return 'pow_s(a, b)';
    case 'maximum':
      return nanGuard('max(a, b)');
    case 'minimum':
      return nanGuard('min(a, b)');
    case 'eq':
      return 'select(0u, 1u, a == b)';
    case 'ne':
      return 'select(0u, 1u, a != b)';
    case 'lt':
      return 'select(0u, 1u, a < b)';
    case 'le':
      return 'select(0u, 1u, a <= b)';
    case 'gt':
      return 'select(0u, 1u, a > b)';
    case 'ge':
      return 'select(0u, 1u, a >= b)';
    case 'logicalAnd':
      return `select(0u, 1u, a != ${zero} && b != ${zero})`;
    case 'logicalOr':
      return `select(0u, 1u, a != ${zero} || b != ${zero})`;
    case 'logicalXor':
      return `select(0u, 1u, (a != ${zero}) != (b != ${zero}))`;
  }
  throw new BackendError(op, 'a', 'float32 operands on WebGPU', ty);
}

/** Records an elementwise kernel over the broadcast `shape` of `inputs`. */
function broadcastKernel(
  op: string,
  inputs: readonly Tensor[],
  shape: readonly number[],
  outDType: DType,
  body: string,
  keyExtra: string,
): Tensor {
  const { t, h } = output(op, outDType, shape);
  if (t.size === 0) return t;
  const operands = inputs.map((x) => ({ strides: broadcastStridesOf(x, shape), offset: x.offset }));
  const same = inputs.every((x) => x.size === t.size);
  const wg = wgSize();
  const { groups, index } = grid(t.size, wg);
  const tys = inputs.map((x) => wgslType(x));
  const outTy = wgslType(outDType);
  const key = `${op}|${keyExtra}|${tys}|${shape}|${JSON.stringify(operands)}|${same}|${wg}|${groups}`;
  launch(
    op,
    key,
    () => {
      const decls = inputs
        .map((_, k) => `@group(0) @binding(${k}) var<storage, read> I${k}: array<${tys[k]}>;`)
        .join('\n');
      const offsets = same
        ? operands.map((o, k) => `let o${k} = i + ${o.offset}u;`).join('\n    ')
        : offsetsCode(shape, operands);
      return /* wgsl */ `${MATH_WGSL}
${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> Y: array<${outTy}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = ${index};
  if (i >= ${t.size}u) { return; }
  {
    ${offsets}
    ${body}
  }
}`;
    },
    [...inputs.map((x) => bufferOf(op, x)), h.buffer],
    groups,
  );
  return t;
}

const BOOL_OUT = new Set<string>([...COMPARISON_OPS, ...LOGICAL_OPS]);
for (const op of [...ARITHMETIC_OPS, ...COMPARISON_OPS, ...LOGICAL_OPS]) {
  registerKernel<BinaryAttrs>({
    op,
    backend: 'webgpu',
    run: ([a, b], { shape }) => {
      const ty = wgslType(a);
      if (wgslType(b) !== ty) throw new BackendError(op, 'b', `${a.dtype} like a`, b.dtype);
      const expr = binaryExpr(op, ty);
      const outDType: DType = BOOL_OUT.has(op) ? 'bool' : a.dtype;
      return [
        broadcastKernel(op, [a, b], shape, outDType, `let a = I0[o0]; let b = I1[o1]; Y[i] = ${expr};`, ''),
      ];
    },
  });
}

registerKernel<{ shape: number[] }>({
  op: 'where',
  backend: 'webgpu',
  run: ([c, a, b], { shape }) => [
    broadcastKernel('where', [c, a, b], shape, a.dtype, 'Y[i] = select(I2[o2], I1[o1], I0[o0] != 0u);', ''),
  ],
});

/** WGSL converting `x` of type `from` to `to`, with the CPU's semantics (truncation, `!= 0` for bool). */
function castExpr(from: Ty, to: Ty): string {
  if (to === 'u32')
    return from === 'f32' ? 'select(0u, 1u, x != 0.0)' : from === 'i32' ? 'select(0u, 1u, x != 0i)' : 'x';
  if (to === 'f32') return 'f32(x)';
  if (from === 'f32') return 'i32(trunc(x))';
  return 'i32(x)';
}

registerKernel<{ dtype: DType }>({
  op: 'cast',
  backend: 'webgpu',
  run: ([x], { dtype }) => {
    const from = wgslType(x);
    const to = wgslType(dtype);
    return [
      broadcastKernel('cast', [x], x.shape, dtype, `let x = I0[o0]; Y[i] = ${castExpr(from, to)};`, to),
    ];
  },
});

// A strided copy: the bits of any 4-byte dtype, moved as u32.
registerKernel({
  op: 'contiguous',
  backend: 'webgpu',
  inputLayout: 'strided',
  run: ([x]) => {
    const { t, h } = output('contiguous', x.dtype, x.shape);
    if (t.size === 0) return [t];
    const wg = wgSize();
    const { groups, index } = grid(t.size, wg);
    const operand = { strides: x.strides, offset: x.offset };
    launch(
      'contiguous',
      `contiguous|${x.shape}|${x.strides}|${x.offset}|${wg}|${groups}`,
      () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = ${index};
  if (i >= ${t.size}u) { return; }
  ${offsetsCode(x.shape, [operand])}
  Y[i] = X[o0];
}`,
      [bufferOf('contiguous', x), h.buffer],
      groups,
    );
    return [t];
  },
});

interface UnsliceAttrs {
  starts: number[];
  sizes: number[];
  steps: number[];
  drop: boolean[];
  inputShape: number[];
}

// The gradient of slice: each output element is g's element when it lies on the slice's lattice, else 0.
registerKernel<UnsliceAttrs>({
  op: 'unslice',
  backend: 'webgpu',
  run: ([g], { starts, sizes, steps, inputShape }) => {
    const { t, h } = output('unslice', g.dtype, inputShape);
    if (t.size === 0) return [t];
    const gStrides = rowMajor(sizes);
    const lines: string[] = ['var r = e;', `var src = ${g.offset}u;`, 'var inside = true;'];
    for (let d = inputShape.length - 1; d >= 0; d--) {
      lines.push(`{ let c = i32(r % ${inputShape[d]}u); r = r / ${inputShape[d]}u;`);
      lines.push(`  let q = c - ${starts[d]}; let k = q / ${steps[d]};`);
      lines.push(`  if (q < 0 || q % ${steps[d]} != 0 || k >= ${sizes[d]}) { inside = false; }`);
      lines.push(`  else { src += u32(k) * ${gStrides[d]}u; } }`);
    }
    elementKernel(
      'unslice',
      `${inputShape}|${starts}|${sizes}|${steps}|${g.offset}`,
      t.size,
      [
        { name: 'G', ty: 'u32', buf: bufferOf('unslice', g) },
        { name: 'Y', ty: 'u32', buf: h.buffer, write: true },
      ],
      `${lines.join('\n  ')}
  _ = r;
  Y[e] = select(0u, G[src], inside);`,
    );
    return [t];
  },
});
