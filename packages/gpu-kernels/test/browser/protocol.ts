// What the browser page returns to the vitest side (plain JSON: it crosses the DevTools protocol).

/** One op run on WebGPU and on the CPU oracle in the page. */
export interface OpResult {
  /** What was computed, with the shapes. */
  name: string;
  /** The backend the WebGPU-side result lives on (`'webgpu'` when the op ran on the GPU). */
  backend: string;
  /** Shape of the WebGPU result. */
  shape: number[];
  /** Shape of the CPU result. */
  cpuShape: number[];
  /** Elements of the WebGPU result. */
  gpu: number[];
  /** Elements of the CPU result. */
  cpu: number[];
  /** Largest absolute difference (infinite when an element is NaN on one side only). */
  maxAbsError: number;
}

/** The page's answer. */
export interface BrowserCheck {
  /** Whether the page saw `navigator.gpu`. */
  hasNavigatorGpu: boolean;
  /** The browser's user agent. */
  userAgent: string;
  /** Whether `initWebGPU()` found an adapter and made a device. */
  adapter: boolean;
  /** The notice `initWebGPU()` gave, if any (why there is no adapter). */
  why: string;
  /** The adapter's description. */
  description: string;
  /** The ops compared. */
  ops: OpResult[];
}
