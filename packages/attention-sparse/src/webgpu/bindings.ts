import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';

// The storage bindings of the block-sparse kernels. The simple and the tiled variant of each kernel (forward,
// dK/dV, dQ) bind the same buffers under the same names, so they build them here; all of them declare the
// query-side rows, K, V, the layout, the mask when there is one, then their outputs.

/** Binding declarations in order, with the buffers that go with them. */
export class Bindings {
  readonly decls: string[] = [];
  readonly buffers: GPUBuffer[] = [];
  add(name: string, buffer: GPUBuffer, type: 'f32' | 'u32' | 'i32', write = false): void {
    const mode = write ? 'read_write' : 'read';
    this.decls.push(
      `@group(0) @binding(${this.decls.length}) var<storage, ${mode}> ${name}: array<${type}>;`,
    );
    this.buffers.push(buffer);
  }
  code(): string {
    return this.decls.join('\n');
  }
}

/**
 * The bindings of a block-sparse kernel: the query-side rows (`Q`, or the backward's packed rows `P`), `K`,
 * `V`, the layout (`KB`, or its transpose `QL`), the mask `M` when there is one, then the outputs (written).
 */
function kernelBindings(
  kit: WebGPUKernelKit,
  op: string,
  rows: [string, GPUBuffer],
  k: Tensor,
  v: Tensor,
  layout: [string, GPUBuffer],
  mask: Tensor | null,
  outputs: [string, GPUBuffer][],
): Bindings {
  const bind = new Bindings();
  bind.add(rows[0], rows[1], 'f32');
  bind.add('K', kit.bufferOf(op, k), 'f32');
  bind.add('V', kit.bufferOf(op, v), 'f32');
  bind.add(layout[0], layout[1], 'i32');
  if (mask) bind.add('M', kit.bufferOf(op, mask), 'u32');
  for (const [name, buffer] of outputs) bind.add(name, buffer, 'f32', true);
  return bind;
}

/** The forward kernels' bindings: Q, K, V, KB (inputs `q, k, v, kvBlocks`), M, and the outputs OUT and LSE. */
export function forwardBindings(
  kit: WebGPUKernelKit,
  op: string,
  inputs: Tensor[],
  mask: Tensor | null,
  out: GPUBuffer,
  lse: GPUBuffer,
): Bindings {
  const [q, k, v, kvBlocks] = inputs;
  return kernelBindings(kit, op, ['Q', kit.bufferOf(op, q)], k, v, ['KB', kit.bufferOf(op, kvBlocks)], mask, [
    ['OUT', out],
    ['LSE', lse],
  ]);
}

/** The dK/dV kernels' bindings: the packed rows P, K, V, the transposed layout QL, M, and the outputs DK, DVO. */
export function dkdvBindings(
  kit: WebGPUKernelKit,
  op: string,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  ql: GPUBuffer,
  dk: GPUBuffer,
  dv: GPUBuffer,
): Bindings {
  return kernelBindings(kit, op, ['P', packed], ins[1], ins[2], ['QL', ql], mask, [
    ['DK', dk],
    ['DVO', dv],
  ]);
}

/** The dQ kernels' bindings: the packed rows P, K, V, KB, M, and the output DQ. */
export function dqBindings(
  kit: WebGPUKernelKit,
  op: string,
  ins: Tensor[],
  mask: Tensor | null,
  packed: GPUBuffer,
  dq: GPUBuffer,
): Bindings {
  const [, k, v, kvBlocks] = ins;
  return kernelBindings(kit, op, ['P', packed], k, v, ['KB', kit.bufferOf(op, kvBlocks)], mask, [['DQ', dq]]);
}
