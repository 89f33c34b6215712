import type { GradNode } from '../autograd/node.js';
import type { Backend } from '../backend/backend.js';
import { type DType, isFloat, type TypedArray } from '../dtype.js';
import { BackendError, ValueError } from '../errors.js';
import { isRowMajor, sizeOf, stridesOf } from '../shape.js';
import { trackTensor, untrackTensor } from './scope.js';
import { countTensor, type Storage } from './storage.js';
import * as ops from './tensor-methods.js';

let nextId = 1;

/** A nested array of numbers, as returned by {@link Tensor.toArray}. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on one backend: a view (shape, strides, offset) of a reference-counted storage.
 * Views made by reshape, permute, slice and expand share the storage; nothing is copied until a kernel needs
 * a contiguous layout.
 */
export class Tensor {
  /** @internal Marker used by scopes to recognise tensors without importing this class. */
  readonly __isTensor = true;
  /** A process-unique id, for debugging. */
  readonly id: number;
  /** Sizes of each axis. */
  readonly shape: readonly number[];
  /** Element strides of each axis into the storage (0 on broadcast axes). */
  readonly strides: readonly number[];
  /** Element offset of the first element in the storage. */
  readonly offset: number;
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients are computed for this tensor (see {@link Tensor.backward}). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`; null before. */
  grad: Tensor | null = null;
  /** @internal The op that produced this tensor, while gradients may flow through it. */
  node: GradNode | null = null;
  /** @internal Which output of `node` this tensor is. */
  outputIndex = 0;
  /** @internal The storage this tensor views. */
  storage: Storage;
  private disposed = false;

  /**
   * @internal Use the creation functions (`tensor`, `zeros`, ...) instead. `track` false makes an alias that
   * scopes do not see (used by autograd to save tensors).
   */
  constructor(
    storage: Storage,
    shape: readonly number[],
    strides?: readonly number[],
    offset = 0,
    track = true,
  ) {
    this.id = nextId++;
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : stridesOf(shape));
    this.offset = offset;
    this.dtype = storage.dtype;
    this.size = sizeOf(shape);
    storage.retain();
    countTensor(storage.backend.name, 1);
    if (track) trackTensor(this);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** The backend holding the data. */
  get backend(): Backend {
    return this.storage.backend;
  }

  /** Whether {@link Tensor.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Whether the elements are laid out row-major (possibly at an offset) in the storage. */
  get isContiguous(): boolean {
    return isRowMajor(this.shape, this.strides);
  }

  /** True for tensors not produced by a recorded op (parameters, inputs). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /**
   * Frees this tensor. Its storage is released when no other view uses it. Safe to call twice. The gradient
   * graph that produced it is freed once nothing else needs it.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    untrackTensor(this);
    countTensor(this.storage.backend.name, -1);
    this.storage.release();
    const node = this.node;
    this.node = null;
    if (node) node.unref();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** @internal Throws if the tensor was disposed. */
  assertAlive(op: string, arg = 'tensor'): void {
    if (this.disposed) throw new BackendError(op, arg, 'a live tensor', `tensor #${this.id} after dispose()`);
  }

  /** Reads the elements (row-major) back to the host. Works on every backend. */
  async data(): Promise<TypedArray> {
    this.assertAlive('data');
    const src = this.isContiguous ? this : ops.contiguous(this);
    try {
      return await src.backend.read(src.storage.handle, src.dtype, src.offset, src.size);
    } finally {
      if (src !== this) src.dispose();
    }
  }

  /** Reads the elements (row-major) synchronously; only backends that can (the CPU) support it. */
  dataSync(): TypedArray {
    this.assertAlive('dataSync');
    const b = this.backend;
    if (!b.readSync) {
      throw new BackendError(
        'dataSync',
        'tensor',
        'on a backend with synchronous readback',
        `'${b.name}' (use await data())`,
      );
    }
    const src = this.isContiguous ? this : ops.contiguous(this);
    try {
      return b.readSync(src.storage.handle, src.dtype, src.offset, src.size);
    } finally {
      if (src !== this) src.dispose();
    }
  }

  /** The elements as nested arrays (synchronous; see {@link Tensor.array} for every backend). */
  toArray(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  /** The elements as nested arrays, read asynchronously. */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  /** The single element of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new ValueError('item', 'tensor', 'a tensor with one element', `shape [${this.shape}]`);
    return this.dataSync()[0];
  }

  /**
   * Back-propagates from this tensor: accumulates d(this)/d(leaf) into the `.grad` of every leaf that requires
   * gradients. A non-scalar tensor needs `grad` (the gradient of some scalar with respect to it).
   */
  backward(grad?: Tensor, options?: { retainGraph?: boolean }): void {
    ops.backward(this, grad, options);
  }

  /** Turns gradient tracking on or off for this leaf tensor. Returns this. */
  setRequiresGrad(flag = true): this {
    if (flag && !isFloat(this.dtype)) {
      throw new ValueError('setRequiresGrad', 'tensor', 'a floating-point tensor', this.dtype);
    }
    if (!this.isLeaf)
      throw new ValueError('setRequiresGrad', 'tensor', 'a leaf tensor', 'the output of an op');
    this.requiresGrad = flag;
    return this;
  }

  /** A new tensor sharing this one's storage but cut off from the gradient graph. */
  detach(): Tensor {
    this.assertAlive('detach');
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  /**
   * Replaces this leaf tensor's contents with `value` (same shape), in place: what optimizers use to update
   * parameters. `value` is consumed (disposed). Views of the old storage keep the old values.
   */
  assign(value: Tensor): this {
    this.assertAlive('assign');
    if (!this.isLeaf) throw new ValueError('assign', 'this', 'a leaf tensor', 'the output of an op');
    if (value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i])) {
      throw new ValueError('assign', 'value', `shape [${this.shape}]`, `[${value.shape}]`);
    }
    if (value.dtype !== this.dtype)
      throw new ValueError('assign', 'value', `dtype ${this.dtype}`, value.dtype);
    if (value.backend !== this.backend) {
      throw new ValueError('assign', 'value', `on backend ${this.backend.name}`, value.backend.name);
    }
    this.adopt(value);
    return this;
  }

  /**
   * Moves this leaf tensor's data to another backend in place, with its gradient: the object keeps its
   * identity, so modules and optimizers holding it keep working (PyTorch's `p.data = p.data.to(device)`).
   */
  moveTo(backend: string): this {
    this.assertAlive('moveTo');
    if (!this.isLeaf) throw new ValueError('moveTo', 'this', 'a leaf tensor', 'the output of an op');
    if (this.backend.name === backend) return this;
    const grad = this.grad;
    this.adopt(ops.withGradMode(false, () => ops.toBackend(this, backend)));
    if (grad) {
      this.grad = ops.keep(ops.withGradMode(false, () => ops.toBackend(grad, backend)));
      grad.dispose();
    }
    return this;
  }

  /** Takes over `value`'s data (packed first if needed) and disposes `value`. */
  private adopt(value: Tensor): void {
    const src =
      value.isContiguous && value.offset === 0 ? value : ops.withGradMode(false, () => ops.contiguous(value));
    src.storage.retain();
    countTensor(this.storage.backend.name, -1);
    countTensor(src.storage.backend.name, 1);
    this.storage.release();
    this.storage = src.storage;
    (this as { strides: readonly number[] }).strides = Object.freeze(stridesOf(this.shape));
    (this as { offset: number }).offset = 0;
    if (src !== value) src.dispose();
    value.dispose();
  }

  /** A copy of this tensor on another backend (or this tensor's backend: a plain copy). */
  to(backend: string): Tensor {
    return ops.toBackend(this, backend);
  }

  /** A contiguous copy, recorded for autograd. */
  clone(): Tensor {
    return ops.clone(this);
  }

  /** A contiguous version: this tensor itself when it already is. */
  contiguous(): Tensor {
    return this.isContiguous ? this : ops.contiguous(this);
  }

  /** Same elements, new shape (a view when the layout allows, else a copy). One size may be -1. */
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }

  /** Reorders axes (a view). */
  permute(axes: readonly number[]): Tensor {
    return ops.permute(this, axes);
  }

  /** Swaps two axes (a view). */
  transpose(a = -2, b = -1): Tensor {
    return ops.transpose(this, a, b);
  }

  /** Broadcasts to a larger shape (a view with stride 0 on broadcast axes). */
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }

  /** Casts to another dtype (a copy; this tensor itself when the dtype already matches). */
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }

  /** Element-wise sum with broadcasting. */
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }

  /** Element-wise difference with broadcasting. */
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }

  /** Element-wise product with broadcasting. */
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }

  /** Element-wise quotient with broadcasting. */
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }

  /** Sum over `axis` (all axes by default). */
  sum(axis?: number | number[], keepDims = false): Tensor {
    return ops.sum(this, { axis, keepDims });
  }

  /** Mean over `axis` (all axes by default). */
  mean(axis?: number | number[], keepDims = false): Tensor {
    return ops.mean(this, { axis, keepDims });
  }

  /** A short description with the shape, dtype and backend (and values for small CPU tensors). */
  toString(): string {
    const head = `Tensor(shape=[${this.shape}], dtype=${this.dtype}, backend=${this.backend.name})`;
    if (this.disposed || this.size > 64 || !this.backend.readSync) return head;
    return `${head} ${JSON.stringify(this.toArray())}`;
  }
}

function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  const out: NestedArray[] = [];
  const inner = sizeOf(shape.slice(1));
  for (let i = 0; i < shape[0]; i++) {
    out.push(nest(data.subarray(i * inner, (i + 1) * inner), shape.slice(1)));
  }
  return out;
}
