import type { Backend } from '../backend/backend.js';
import { currentBackendName, getBackend } from '../backend/registry.js';
import { allocArray, type DType, dtypeOfArray, type TypedArray } from '../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../errors.js';
import { checkShape, sizeOf } from '../shape.js';
import { makeTensor } from './make.js';
import type { Tensor } from './tensor.js';

/** Values accepted by {@link tensor}: numbers or booleans, nested to any depth. */
export type NestedInput = number | boolean | readonly NestedInput[];

/** Where and how to create a tensor. */
export interface CreateOptions {
  /** Element type (default float32, or the typed array's own type). */
  dtype?: DType;
  /** Backend name (default: the current backend). */
  backend?: string;
}

function backendFor(op: string, opts?: CreateOptions): Backend {
  const b = getBackend(opts?.backend ?? currentBackendName());
  const dtype = opts?.dtype ?? 'float32';
  if (!b.dtypes.includes(dtype)) {
    throw new DTypeError(op, 'dtype', `one of ${b.dtypes.join(', ')} on backend '${b.name}'`, dtype);
  }
  return b;
}

function flattenNested(
  op: string,
  values: NestedInput | readonly unknown[],
): { flat: number[]; shape: number[]; bools: boolean } {
  const shape: number[] = [];
  let probe: unknown = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat: number[] = [];
  let bools = 0;
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      if (typeof v === 'boolean') {
        flat.push(v ? 1 : 0);
        bools++;
      } else if (typeof v === 'number') flat.push(v);
      else throw new ValueError(op, 'values', 'numbers or booleans', typeof v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(
        op,
        'values',
        `a rectangular nested array of shape ${fmtShape(shape)}`,
        'a ragged array',
      );
    }
    for (const x of v) walk(x, depth + 1);
  };
  walk(values, 0);
  return { flat, shape, bools: bools > 0 && bools === flat.length };
}

/**
 * Creates a tensor from nested arrays, a flat array with `shape`, a typed array, or a number.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);              // float32, shape [2, 2]
 * const m = tensor([true, false], { dtype: 'bool' });
 * const y = tensor(new Float32Array(6), { shape: [2, 3] });
 */
export function tensor(
  values: NestedInput | TypedArray,
  opts?: CreateOptions & { shape?: readonly number[] },
): Tensor {
  let flat: ArrayLike<number>;
  let shape: number[];
  let bools = false;
  if (ArrayBuffer.isView(values)) {
    flat = values as TypedArray;
    shape = opts?.shape ? [...opts.shape] : [flat.length];
  } else {
    const r = flattenNested('tensor', values as NestedInput);
    flat = r.flat;
    bools = r.bools;
    shape = opts?.shape ? [...opts.shape] : r.shape;
  }
  checkShape('tensor', 'shape', shape);
  if (sizeOf(shape) !== flat.length) {
    throw new ShapeError(
      'tensor',
      'shape',
      `${flat.length} elements`,
      `${fmtShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const dtype = opts?.dtype ?? dtypeOfArray(flat) ?? (bools ? 'bool' : 'float32');
  const backend = backendFor('tensor', { ...opts, dtype });
  const arr = allocArray(dtype, flat.length);
  if (ArrayBuffer.isView(flat) && dtype !== 'bool') arr.set(flat as TypedArray);
  else for (let i = 0; i < flat.length; i++) arr[i] = flat[i];
  return makeTensor(backend, arr, shape);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, opts?: CreateOptions): Tensor {
  checkShape('full', 'shape', shape);
  const dtype = opts?.dtype ?? 'float32';
  const arr = allocArray(dtype, sizeOf(shape));
  if (value !== 0) arr.fill(value);
  return makeTensor(backendFor('full', { ...opts, dtype }), arr, shape);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], opts?: CreateOptions): Tensor {
  return full(shape, 0, opts);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], opts?: CreateOptions): Tensor {
  return full(shape, 1, opts);
}

/** A 0-d tensor holding `value`. */
export function scalar(value: number, opts?: CreateOptions): Tensor {
  return full([], value, opts);
}

/** Zeros with the shape, dtype and backend of `x`. */
export function zerosLike(x: Tensor, opts?: CreateOptions): Tensor {
  return full(x.shape, 0, { dtype: x.dtype, backend: x.backend.name, ...opts });
}

/** Ones with the shape, dtype and backend of `x`. */
export function onesLike(x: Tensor, opts?: CreateOptions): Tensor {
  return full(x.shape, 1, { dtype: x.dtype, backend: x.backend.name, ...opts });
}

/** Values `start, start+step, ...` below `end` (as `torch.arange`). With one argument, `0..start-1`. */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step))
    throw new ValueError('arange', 'step', 'a non-zero number', String(step));
  const n = Math.max(0, Math.ceil((e - s) / step));
  const dtype = opts?.dtype ?? (Number.isInteger(s) && Number.isInteger(step) ? 'int32' : 'float32');
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = s + i * step;
  return makeTensor(backendFor('arange', { ...opts, dtype }), arr, [n]);
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new ValueError('linspace', 'steps', 'a non-negative integer', String(steps));
  const dtype = opts?.dtype ?? 'float32';
  const arr = allocArray(dtype, steps);
  for (let i = 0; i < steps; i++) arr[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return makeTensor(backendFor('linspace', { ...opts, dtype }), arr, [steps]);
}

/** The `n x m` identity matrix (m defaults to n). */
export function eye(n: number, m = n, opts?: CreateOptions): Tensor {
  checkShape('eye', 'n, m', [n, m]);
  const dtype = opts?.dtype ?? 'float32';
  const arr = allocArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) arr[i * m + i] = 1;
  return makeTensor(backendFor('eye', { ...opts, dtype }), arr, [n, m]);
}
