import { isGradEnabled, withGradMode } from '../autograd/mode.js';
import { type GradEdge, GradNode } from '../autograd/node.js';
import type { Backend, KernelDef } from '../backend/backend.js';
import { currentBackendName, getBackend, getKernel } from '../backend/registry.js';
import { isFloat } from '../dtype.js';
import { BackendError } from '../errors.js';
import { makeTensor } from '../tensor/make.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * An op: a name that kernels are registered under, and how its gradient is computed. Kernels are looked up
 * per backend at call time, so a new backend or a third-party op needs no change here.
 */
export interface OpDef<A> {
  /** Registry name, e.g. `'add'` or `'na2d'`. Third-party packages should prefix theirs (`'mypkg.op'`). */
  name: string;
  /**
   * The vector-Jacobian product: given the gradients of the outputs (zeros for float outputs that got none,
   * null for non-float outputs), the gradients of the inputs, each of its input's shape, or null where an
   * input gets none. Written with public ops, so it runs on every backend (and is itself differentiable).
   */
  vjp?: (grads: (Tensor | null)[], inputs: Tensor[], outputs: Tensor[], attrs: A) => (Tensor | null)[];
  /**
   * For ops computed without a kernel: views (reshape, permute, slice, expand) build the output as a view of
   * the input; transfers move it to another backend. Backend-independent.
   */
  direct?: (input: Tensor, attrs: A) => Tensor;
}

/** Declares an op. The returned definition is passed to {@link runOp}. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}

/** Counts of data moved between backends because an op had no kernel on its backend. */
export const fallbackStats = {
  /** Ops that ran on the CPU instead of their backend. */
  ops: 0,
  /** Tensors copied between backends for those ops. */
  transfers: 0,
  /** Op names that fell back, for error messages and tests. */
  names: new Set<string>(),
  /** Resets the counters. */
  reset(): void {
    this.ops = 0;
    this.transfers = 0;
    this.names.clear();
  },
};

/** The backend all `inputs` live on (or the current default when there are none), with a clear error if mixed. */
export function backendOf(op: string, inputs: readonly Tensor[]): Backend {
  if (inputs.length === 0) return getBackend(currentBackendName());
  const b = inputs[0].backend;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i].backend !== b) {
      throw new BackendError(
        op,
        `input ${i}`,
        `on backend '${b.name}' like input 0`,
        `'${inputs[i].backend.name}'`,
      );
    }
  }
  return b;
}

/**
 * Runs an op: checks that inputs are alive and on one backend, finds the kernel for that backend (falling back
 * to the CPU where the backend has none), lays inputs out as the kernel wants, and records the op for autograd
 * when gradients are needed. Argument checks happen in the op's public function, before this.
 */
export function runOp<A>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor[] {
  for (let i = 0; i < inputs.length; i++) inputs[i].assertAlive(op.name, `input ${i}`);
  const backend = backendOf(op.name, inputs);
  const outputs = op.direct
    ? [op.direct(inputs[0], attrs)]
    : withGradMode(false, () => dispatch(op.name, backend, inputs, attrs));
  if (op.vjp && isGradEnabled() && inputs.some((t) => t.requiresGrad)) record(op, inputs, outputs, attrs);
  return outputs;
}

/** Runs an op with a single output. */
export function runOp1<A>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor {
  return runOp(op, inputs, attrs)[0];
}

function dispatch(name: string, backend: Backend, inputs: Tensor[], attrs: unknown): Tensor[] {
  const kernel = getKernel(name, backend.name);
  if (kernel && (!kernel.supports || kernel.supports(inputs, attrs))) return runKernel(kernel, inputs, attrs);
  if (backend.name !== 'cpu') {
    const viaCpu = backend.readSync
      ? fallbackToCpu(name, backend, inputs, attrs)
      : backend.fallback?.(name, inputs, attrs);
    if (viaCpu) return viaCpu;
  }
  throw new BackendError(
    name,
    'backend',
    'a backend with a kernel for this op',
    `'${backend.name}' has none`,
  );
}

function runKernel(kernel: KernelDef, inputs: Tensor[], attrs: unknown): Tensor[] {
  const layout = kernel.inputLayout ?? 'contiguous';
  const temps: Tensor[] = [];
  const laid = inputs.map((t) => {
    if (layout === 'strided') return t;
    if (t.isContiguous && (layout === 'contiguous' || t.offset === 0)) return t;
    const c = contiguousCopy(t);
    temps.push(c);
    return c;
  });
  try {
    return kernel.run(laid, attrs);
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** A packed (row-major, offset 0) copy of `t` made by the backend's `contiguous` kernel. */
export function contiguousCopy(t: Tensor): Tensor {
  const kernel = getKernel('contiguous', t.backend.name);
  if (!kernel) {
    throw new BackendError(
      'contiguous',
      'backend',
      'a backend with a contiguous kernel',
      `'${t.backend.name}'`,
    );
  }
  return kernel.run([t], {})[0];
}

function fallbackToCpu(
  name: string,
  backend: Backend,
  inputs: Tensor[],
  attrs: unknown,
): Tensor[] | undefined {
  const kernel = getKernel(name, 'cpu');
  if (!kernel) return undefined;
  const cpu = getBackend('cpu');
  const moved = inputs.map((t) => moveTensor(t, cpu));
  try {
    const out = runKernel(kernel, moved, attrs);
    fallbackStats.ops++;
    fallbackStats.names.add(name);
    fallbackStats.transfers += inputs.length + out.length;
    return out.map((o) => {
      const back = moveTensor(o, backend);
      o.dispose();
      return back;
    });
  } finally {
    for (const m of moved) m.dispose();
  }
}

/** A packed copy of `t` on `target`, read synchronously from `t`'s backend. */
export function moveTensor(t: Tensor, target: Backend): Tensor {
  const src = t.backend;
  if (!src.readSync) {
    throw new BackendError(
      'to',
      'tensor',
      'on a backend with synchronous readback',
      `'${src.name}' (use toAsync)`,
    );
  }
  if (t.isContiguous)
    return makeTensor(target, src.readSync(t.storage.handle, t.dtype, t.offset, t.size), t.shape);
  if (getKernel('contiguous', src.name)) {
    const packed = contiguousCopy(t);
    const values = src.readSync(packed.storage.handle, packed.dtype, 0, packed.size);
    packed.dispose();
    return makeTensor(target, values, t.shape);
  }
  // No strided copy on the source backend: read the whole storage and lay the view out on the CPU.
  const cpu = getBackend('cpu');
  const whole = src.readSync(t.storage.handle, t.dtype, 0, t.storage.size);
  const base = makeTensor(cpu, whole, [whole.length]);
  const view = new Tensor(base.storage, t.shape, t.strides, t.offset);
  const packed = contiguousCopy(view);
  view.dispose();
  base.dispose();
  if (target === cpu) return packed;
  const out = makeTensor(target, cpuReadAll(packed), t.shape);
  packed.dispose();
  return out;
}

function cpuReadAll(t: Tensor) {
  return getBackend('cpu').readSync!(t.storage.handle, t.dtype, t.offset, t.size);
}

function record<A>(op: OpDef<A>, inputs: Tensor[], outputs: Tensor[], attrs: A): void {
  const edges: GradEdge[] = inputs.map((t) => {
    if (!t.requiresGrad) return null;
    return t.node ? { node: t.node, index: t.outputIndex } : { leaf: t };
  });
  // Aliases keep the saved storage alive; they carry requiresGrad so a vjp can skip work for inputs that need
  // no gradient (vjps run with recording off, so the flag creates no graph).
  const alias = (t: Tensor) => {
    const a = new Tensor(t.storage, t.shape, t.strides, t.offset, false);
    a.requiresGrad = t.requiresGrad;
    return a;
  };
  const node = new GradNode(op as OpDef<unknown>, attrs, inputs.map(alias), outputs.map(alias), edges);
  outputs.forEach((o, i) => {
    if (!isFloat(o.dtype)) return;
    o.requiresGrad = true;
    o.node = node;
    o.outputIndex = i;
    node.ref();
  });
  // An op whose outputs are all non-float (argmax) keeps no node alive.
  if (!outputs.some((o) => isFloat(o.dtype))) node.free();
}
