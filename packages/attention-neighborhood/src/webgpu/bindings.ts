import type { Tensor } from '@attnkit/core';
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';

/** The WebGPU kernel kit of the backend `t` lives on (only a type import of gpu-kernels: see kit.ts there). */
export function kitOf(t: Tensor): WebGPUKernelKit {
  return t.backend.kernelKit as WebGPUKernelKit;
}

/**
 * Storage-buffer bindings in declaration order: `code()` declares them at `@group(0) @binding(0..)`, `buffers`
 * are handed to `launch` in the same order, and `key` records the element offsets baked into the WGSL.
 */
export class Bindings {
  private readonly decls: string[] = [];
  /** The buffers, in binding order. */
  readonly buffers: GPUBuffer[] = [];

  /** Binds `buffer` as `array<f32>` named `name` (read-only unless `write`). */
  add(name: string, buffer: GPUBuffer, write = false): void {
    const mode = write ? 'read_write' : 'read';
    this.decls.push(`@group(0) @binding(${this.buffers.length}) var<storage, ${mode}> ${name}: array<f32>;`);
    this.buffers.push(buffer);
  }

  /** Binds input tensor `t` read-only as `name`, and declares `const ${name}_OFF` (its element offset). */
  input(kit: WebGPUKernelKit, op: string, name: string, t: Tensor): void {
    this.add(name, kit.bufferOf(op, t));
    this.decls.push(`const ${name}_OFF = ${t.offset}u;`);
  }

  /** The WGSL declarations. */
  code(): string {
    return this.decls.join('\n');
  }

  /** The part of a pipeline key that the bindings bake in (names, access modes and offsets). */
  key(): string {
    return this.decls.join('|');
  }

  /**
   * Records a kernel of one thread per element of a `total`-element output: `body` sees the flat index `e`
   * (bounds-checked) and these bindings; `helpers` is WGSL placed before the entry point. `key` must hold
   * everything `helpers` and `body` bake in.
   */
  perElement(
    kit: WebGPUKernelKit,
    op: string,
    key: string,
    total: number,
    helpers: string,
    body: string,
  ): void {
    if (total === 0) return;
    const wg = kit.wgSize();
    const { groups, index } = kit.grid(total, wg);
    kit.launch(
      op,
      `${op}|${key}|${this.key()}|${total}|${groups}`,
      () => /* wgsl */ `${kit.MATH_WGSL}
${this.code()}
${helpers}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let e = ${index};
  if (e >= ${total}u) { return; }
  ${body}
}`,
      this.buffers,
      groups,
    );
  }
}
