import type { OpDef } from '../ops/op.js';
import type { Tensor } from '../tensor/tensor.js';

/** Where an input's gradient goes: into another node's output slot, or into a leaf tensor's `.grad`. */
export type GradEdge = { node: GradNode; index: number } | { leaf: Tensor } | null;

/**
 * One recorded op in the autograd graph. It keeps aliases of its inputs and outputs (views sharing their
 * storage, invisible to scopes) for the backward pass, and is freed deterministically: when nothing can reach
 * it any more (its outputs are disposed and no later node uses it) or when a backward pass has gone through it.
 */
export class GradNode {
  /** Number of live output tensors plus later nodes that point here. */
  private refs = 0;
  /** True once the saved tensors are gone; a second backward through it then fails clearly. */
  freed = false;

  constructor(
    readonly op: OpDef<unknown>,
    readonly attrs: unknown,
    /** Aliases of the inputs, as the op saw them. */
    public inputs: Tensor[],
    /** Aliases of the outputs. */
    public outputs: Tensor[],
    /** For each input, where its gradient goes (null when it needs none). */
    readonly edges: GradEdge[],
  ) {
    for (const e of edges) if (e && 'node' in e) e.node.ref();
  }

  /** Adds a reference. */
  ref(): void {
    this.refs++;
  }

  /** Drops a reference; frees the node with the last one. */
  unref(): void {
    this.refs--;
    if (this.refs <= 0) this.free();
  }

  /** Releases the saved tensors and the references this node holds on earlier nodes. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const t of this.inputs) t.dispose();
    for (const t of this.outputs) t.dispose();
    this.inputs = [];
    this.outputs = [];
    for (const e of this.edges) if (e && 'node' in e) e.node.unref();
  }
}
