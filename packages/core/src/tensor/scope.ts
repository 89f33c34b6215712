import type { Tensor } from './tensor.js';

/**
 * Scopes free intermediate tensors deterministically. Every tensor created while a scope is open is recorded
 * in it; when the scope ends, each recorded tensor that was not returned and not kept is disposed.
 */
const stack: Set<Tensor>[] = [];

/** @internal Records a new tensor in the innermost open scope. */
export function trackTensor(t: Tensor): void {
  if (stack.length > 0) stack[stack.length - 1].add(t);
}

/** @internal Forgets a tensor (it was disposed, kept, or handed to an outer owner). */
export function untrackTensor(t: Tensor): void {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i].delete(t)) return;
}

/** Opens a scope by hand (for async code, where {@link tidy} cannot be used). Pair it with {@link endScope}. */
export function startScope(): void {
  stack.push(new Set());
}

/**
 * Closes the innermost scope opened with {@link startScope}: disposes what it recorded, except the tensors in
 * `result` (any nesting of arrays, maps and plain objects), which move to the enclosing scope.
 */
export function endScope(result?: unknown): void {
  const scope = stack.pop();
  if (!scope) throw new Error('endScope: no scope is open (startScope was not called)');
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  for (const t of scope) {
    if (keep.has(t)) {
      if (stack.length > 0) stack[stack.length - 1].add(t);
    } else {
      t.dispose();
    }
  }
}

/**
 * Runs `fn` in a scope: every tensor it creates is disposed when it returns, except those it returns (in any
 * nesting of arrays, maps and plain objects) and those marked with {@link keep}. `fn` must be synchronous.
 *
 * @example
 * const y = tidy(() => relu(add(matmul(x, w), b))); // the matmul and add results are freed
 */
export function tidy<T>(fn: () => T): T {
  startScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope();
    throw e;
  }
  if (result instanceof Promise) {
    endScope();
    throw new Error('tidy: fn must be synchronous; use startScope/endScope around async code');
  }
  endScope(result);
  return result;
}

/** Exempts a tensor from every open scope: it lives until disposed by hand. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collectTensors(x: unknown, out: Set<Tensor>): void {
  if (x === null || typeof x !== 'object') return;
  if ((x as { __isTensor?: boolean }).__isTensor === true) {
    out.add(x as Tensor);
    return;
  }
  if (Array.isArray(x)) {
    for (const v of x) collectTensors(v, out);
  } else if (x instanceof Map) {
    for (const v of x.values()) collectTensors(v, out);
  } else if (Object.getPrototypeOf(x) === Object.prototype) {
    for (const v of Object.values(x)) collectTensors(v, out);
  }
}
