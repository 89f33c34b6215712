import {
  BackendError,
  contiguousCopy,
  fallbackStats,
  getBackend,
  getKernel,
  Tensor,
  type TypedArray,
  tensor,
  zeros,
} from '@attnkit/core';
import { output } from '../kernels/common.js';
import { enqueueHostTask, type GpuHandle, readBytesNow } from './queue.js';

/**
 * Runs an op that has no WebGPU kernel (or whose kernel declined these inputs) with its CPU kernel, keeping
 * program order without a synchronous read, which WebGPU lacks:
 *
 * 1. the output shapes and dtypes come from running the CPU kernel once on zero-filled inputs of the same
 *    shapes (ops whose output shape depends on values cannot fall back and get a clear error);
 * 2. the outputs are allocated on the GPU now, so later ops can be recorded against them;
 * 3. a host task, queued after the GPU work recorded so far, reads the inputs, runs the CPU kernel, and writes
 *    the outputs; GPU work recorded after it is held back until then (see `enqueueHostTask`).
 *
 * Each call counts in core's `fallbackStats` (ops, transfers and names), so tests can assert it did not happen.
 */
export function cpuFallback(name: string, inputs: Tensor[], attrs: unknown): Tensor[] | undefined {
  const kernel = getKernel(name, 'cpu');
  if (!kernel) return undefined;
  const cpu = getBackend('cpu');
  const specs = outputSpecs(name, kernel.run.bind(kernel), inputs, attrs);
  const outs = specs.map((sp) => output(name, sp.dtype, sp.shape));
  // Untracked views keep the inputs' buffers alive (and out of any scope that ends before the task runs);
  // a strided input is packed first, by a GPU kernel recorded before the task.
  const kept = inputs.map((t) => {
    const packed = t.isContiguous ? t : contiguousCopy(t);
    const view = new Tensor(packed.storage, packed.shape, undefined, packed.offset, false);
    if (packed !== t) packed.dispose();
    return view;
  });
  const outViews = outs.map(({ t }) => new Tensor(t.storage, t.shape, undefined, 0, false));
  fallbackStats.ops++;
  fallbackStats.names.add(name);
  fallbackStats.transfers += inputs.length + outs.length;
  enqueueHostTask(name, async (s) => {
    const onCpu: Tensor[] = [];
    try {
      for (const t of kept) {
        const bytes = await readBytesNow(t.storage.handle as GpuHandle, t.offset * 4, t.size * 4);
        onCpu.push(
          tensor(fromWords(bytes, t.dtype), { shape: [...t.shape], dtype: t.dtype, backend: cpu.name }),
        );
      }
      const results = kernel.run(onCpu, attrs);
      onCpu.push(...results);
      results.forEach((r, i) => {
        const values = cpu.readSync!(r.storage.handle, r.dtype, r.offset, r.size);
        const words = r.dtype === 'bool' ? Uint32Array.from(values as Uint8Array) : values;
        const buf = (outViews[i].storage.handle as GpuHandle).buffer;
        s.device.queue.writeBuffer(buf, 0, words.buffer, words.byteOffset, words.byteLength);
      });
    } finally {
      for (const t of onCpu) t.dispose();
      for (const t of kept) t.dispose();
      for (const t of outViews) t.dispose();
    }
  });
  return outs.map((o) => o.t);
}

/** Output shapes and dtypes of the CPU kernel, from a run on zero-filled inputs of the same shapes. */
function outputSpecs(
  name: string,
  run: (inputs: Tensor[], attrs: unknown) => Tensor[],
  inputs: Tensor[],
  attrs: unknown,
): { shape: number[]; dtype: Tensor['dtype'] }[] {
  const probes = inputs.map((t) => zeros([...t.shape], { dtype: t.dtype, backend: 'cpu' }));
  try {
    const outs = run(probes, attrs);
    const specs = outs.map((o) => ({ shape: [...o.shape], dtype: o.dtype }));
    for (const o of outs) o.dispose();
    return specs;
  } catch (e) {
    throw new BackendError(
      name,
      'backend',
      'a WebGPU kernel for these inputs, or a CPU kernel whose output shapes follow from the input shapes',
      `neither (the CPU kernel failed on zero-filled inputs: ${(e as Error).message}); move the inputs to the CPU`,
    );
  } finally {
    for (const p of probes) p.dispose();
  }
}

function fromWords(bytes: ArrayBuffer, dtype: Tensor['dtype']): TypedArray {
  if (dtype === 'float32') return new Float32Array(bytes);
  if (dtype === 'int32') return new Int32Array(bytes);
  return Uint8Array.from(new Uint32Array(bytes));
}
