// The platform's ceilings through WebGPU, measured in the same run as the kernels (so each kernel's figure is a
// fraction of what this card and driver reach): copy bandwidth (copyBufferToBuffer, read + write) and the f32
// FMA rate of a kernel with no memory traffic. With a case's FLOPs and least bytes they give its roofline: the
// time the better-bound of bandwidth and arithmetic allows, and which of the two limits it.
import { getWebGPUDevice } from '../src/index.js';

/** What the card reaches through WebGPU. */
export interface Ceilings {
  /** Copy bandwidth, GB/s counting bytes read plus bytes written. */
  copyGBs: number;
  /** f32 FMA throughput, GFLOP/s (an FMA counts 2). */
  fmaGflops: number;
  /** How they were measured. */
  method: string;
}

const COPY = 0x4 | 0x8; // COPY_SRC | COPY_DST
const STORAGE = 0x80;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function timeSubmits(device: GPUDevice, encode: (e: GPUCommandEncoder) => void, reps: number) {
  const times: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const e = device.createCommandEncoder();
    encode(e);
    const t0 = performance.now();
    device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (r > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

/** Measures the ceilings on the live WebGPU device; `small` keeps it quick on SwiftShader. */
export async function measureCeilings(small: boolean): Promise<Ceilings> {
  const device = getWebGPUDevice();
  if (!device) throw new Error('measureCeilings: no WebGPU device (call initWebGPU first)');
  // Copy: `copies` back-to-back copies of one large buffer into another, in one submit.
  const bytes = Math.min(small ? 16 << 20 : 1 << 30, device.limits.maxBufferSize);
  const src = device.createBuffer({ size: bytes, usage: COPY });
  const dst = device.createBuffer({ size: bytes, usage: COPY });
  const copies = small ? 2 : 10;
  const copyMs = await timeSubmits(
    device,
    (e) => {
      for (let i = 0; i < copies; i++) e.copyBufferToBuffer(src, 0, dst, 0, bytes);
    },
    small ? 2 : 5,
  );
  src.destroy();
  dst.destroy();
  // FMA: 8 independent chains per thread (enough to hide latency), written out so nothing is folded away.
  const iters = small ? 64 : 4096;
  const groups = small ? 64 : 65535;
  const wg = 256;
  const out = device.createBuffer({ size: groups * wg * 4, usage: STORAGE | COPY });
  const module = device.createShaderModule({
    code: /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let x = f32(g.x) * 1e-9;
  var a0 = x; var a1 = x + 1.0; var a2 = x + 2.0; var a3 = x + 3.0;
  var a4 = x + 4.0; var a5 = x + 5.0; var a6 = x + 6.0; var a7 = x + 7.0;
  for (var i = 0u; i < ${iters}u; i++) {
    a0 = fma(a0, 0.999, 0.001); a1 = fma(a1, 0.999, 0.001); a2 = fma(a2, 0.999, 0.001); a3 = fma(a3, 0.999, 0.001);
    a4 = fma(a4, 0.999, 0.001); a5 = fma(a5, 0.999, 0.001); a6 = fma(a6, 0.999, 0.001); a7 = fma(a7, 0.999, 0.001);
  }
  O[g.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: out } }],
  });
  const fmaMs = await timeSubmits(
    device,
    (e) => {
      const pass = e.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups);
      pass.end();
    },
    small ? 2 : 5,
  );
  out.destroy();
  const flops = 2 * 8 * iters * groups * wg;
  return {
    copyGBs: (2 * bytes * copies) / copyMs / 1e6,
    fmaGflops: flops / fmaMs / 1e6,
    method:
      `copy: ${copies} copyBufferToBuffer of ${bytes >> 20} MiB in one submit, (read + write) bytes / time; ` +
      `fma: ${groups}x${wg} threads x ${iters} iterations x 8 independent f32 FMAs; median of the submits`,
  };
}

/** Where a timed case sits against the ceilings. */
export interface Roofline {
  name: string;
  /** FLOPs per byte of least traffic. */
  intensity: number;
  /** The bound that limits it at this intensity. */
  limit: 'bandwidth' | 'arithmetic';
  /** The fastest time the ceilings allow, ms. */
  boundMs: number;
  /** boundMs / measured ms: how close the kernel is to its roofline. */
  fraction: number;
}

/** Places each timing on the roofline of `c`. */
export function roofline(
  rows: { name: string; medianMs: number; flops: number; bytes: number }[],
  c: Ceilings,
): Roofline[] {
  return rows.map((r) => {
    const intensity = r.flops / r.bytes;
    const memMs = r.bytes / (c.copyGBs * 1e6);
    const mathMs = r.flops / (c.fmaGflops * 1e6);
    const boundMs = Math.max(memMs, mathMs);
    return {
      name: r.name,
      intensity,
      limit: memMs >= mathMs ? 'bandwidth' : 'arithmetic',
      boundMs,
      fraction: boundMs / r.medianMs,
    };
  });
}

/** The roofline rows as a text table. */
export function rooflineTable(rows: Roofline[], c: Ceilings): string {
  const cells = [
    ['case', 'FLOP/byte', 'limited by', 'bound ms', 'of bound'],
    ...rows.map((r) => [
      r.name,
      r.intensity.toPrecision(3),
      r.limit,
      r.boundMs.toPrecision(3),
      `${(100 * r.fraction).toFixed(1)}%`,
    ]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const head = `ceilings: copy ${c.copyGBs.toFixed(0)} GB/s, f32 FMA ${c.fmaGflops.toPrecision(4)} GFLOP/s`;
  return `${head}\n${cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n')}`;
}
