import { isFloat } from '../dtype.js';
import { BackendError, fmtShape, ShapeError, ValueError } from '../errors.js';
import { add } from '../ops/elementwise/binary.js';
import { shapesEqual } from '../shape.js';
import { full, zerosLike } from '../tensor/creation.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { withGradMode } from './mode.js';
import type { GradNode } from './node.js';

/** Options of a backward pass. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so it can be differentiated again (default false). */
  retainGraph?: boolean;
}

function accumulate(prev: Tensor | undefined, g: Tensor): Tensor {
  if (!prev) return g;
  const s = add(prev, g);
  prev.dispose();
  g.dispose();
  return s;
}

/** Nodes reachable from `root`, ordered so that every node comes before the nodes it depends on. */
function topoOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1]++;
      const e = node.edges[i];
      if (e && 'node' in e && !seen.has(e.node)) {
        seen.add(e.node);
        stack.push([e.node, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

/**
 * The core of reverse mode: propagates `seed` (the gradient of some scalar with respect to `root`) back through
 * the recorded graph and returns the gradient for every leaf reached. Gradients are summed where paths join.
 */
export function propagate(root: Tensor, seed: Tensor, opts: BackwardOptions = {}): Map<Tensor, Tensor> {
  const leaves = new Map<Tensor, Tensor>();
  if (!root.node) {
    if (root.requiresGrad) leaves.set(root, seed);
    return leaves;
  }
  if (root.node.freed) {
    throw new BackendError(
      'backward',
      'graph',
      'a graph that was not freed by an earlier backward()',
      'a freed graph (pass { retainGraph: true } to the first backward to go through it twice)',
    );
  }
  const slots = new Map<GradNode, (Tensor | undefined)[]>();
  slots.set(root.node, []);
  slots.get(root.node)![root.outputIndex] = seed;
  const order = topoOrder(root.node);
  for (const node of order) {
    const gs = slots.get(node);
    slots.delete(node);
    if (!gs) continue;
    if (node.freed) {
      throw new BackendError(
        'backward',
        'graph',
        'saved tensors of every op on the path',
        `op '${node.op.name}' already freed`,
      );
    }
    const inGrads = withGradMode(false, () =>
      tidy(() => {
        const grads = node.outputs.map((o, i) => gs[i] ?? (isFloat(o.dtype) ? zerosLike(o) : null));
        return node.op.vjp!(grads, node.inputs, node.outputs, node.attrs);
      }),
    );
    // A vjp may hand an incoming gradient straight through (add, reshape) or return one tensor for two
    // inputs: each edge must own its gradient, so repeats are copied and only unused incoming ones freed.
    const used = new Set<Tensor>();
    for (let i = 0; i < inGrads.length; i++) {
      const g = inGrads[i];
      if (!g) continue;
      if (used.has(g)) inGrads[i] = withGradMode(false, () => g.clone());
      else used.add(g);
    }
    for (const g of gs) if (g && !used.has(g)) g.dispose();
    node.edges.forEach((e, i) => {
      const g = inGrads[i];
      if (!e || !g) {
        g?.dispose();
        return;
      }
      const want = node.inputs[i].shape;
      if (!shapesEqual(g.shape, want)) {
        throw new ShapeError(
          `${node.op.name} (vjp)`,
          `gradient of input ${i}`,
          fmtShape(want),
          fmtShape(g.shape),
        );
      }
      if ('leaf' in e) {
        leaves.set(e.leaf, accumulate(leaves.get(e.leaf), g));
      } else {
        let s = slots.get(e.node);
        if (!s) {
          s = [];
          slots.set(e.node, s);
        }
        s[e.index] = accumulate(s[e.index], g);
      }
    });
  }
  // Freed only after the pass: freeing a node releases its hold on earlier ones, which must stay until reached.
  if (!opts.retainGraph) for (const node of order) node.free();
  return leaves;
}

/** Implements `tensor.backward()`: accumulates into `.grad` of every leaf that requires gradients. */
export function backward(root: Tensor, grad?: Tensor, opts?: BackwardOptions): void {
  root.assertAlive('backward', 'tensor');
  if (!root.requiresGrad) {
    throw new ValueError(
      'backward',
      'tensor',
      'a tensor that requires grad (computed from leaves with requiresGrad)',
      'one that does not',
    );
  }
  if (!grad && root.size !== 1) {
    throw new ShapeError(
      'backward',
      'grad',
      `given for a non-scalar output of shape ${fmtShape(root.shape)}`,
      'nothing',
    );
  }
  if (grad && !shapesEqual(grad.shape, root.shape)) {
    throw new ShapeError('backward', 'grad', fmtShape(root.shape), fmtShape(grad.shape));
  }
  const seed = grad ? grad.clone() : full(root.shape, 1, { dtype: root.dtype, backend: root.backend.name });
  keep(seed);
  const leaves = propagate(root, seed, opts);
  for (const [leaf, g] of leaves) {
    if (leaf.isDisposed) {
      g.dispose();
      continue;
    }
    keep(g);
    leaf.grad = leaf.grad ? keep(accumulate(leaf.grad, g)) : g;
  }
}
