/**
 * Every comparison tolerance of attnkit's test suites, in one place: per backend (the CPU oracle computes in
 * float64 and rounds once; GPU kernels accumulate in float32 in other orders) and for gradient checks.
 */
export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance (scaled by the expected value's magnitude). */
  rtol: number;
}

const perBackend = new Map<string, Tolerance>([
  ['cpu', { atol: 1e-6, rtol: 1e-5 }],
  ['webgpu', { atol: 2e-4, rtol: 2e-3 }],
]);

/** Tolerance for float32 results of `backend` against the float64 oracle. Unknown backends get the loosest. */
export function toleranceFor(backend: string): Tolerance {
  return perBackend.get(backend) ?? { atol: 1e-3, rtol: 1e-2 };
}

/** Sets the tolerance of a backend (for third-party backends; attnkit's own live in the table above). */
export function setTolerance(backend: string, t: Tolerance): void {
  perBackend.set(backend, t);
}

/** Defaults of the float64 finite-difference gradient check. */
export interface GradcheckDefaults {
  /** Finite-difference step. */
  readonly eps: number;
  /** Absolute tolerance. */
  readonly atol: number;
  /** Relative tolerance. */
  readonly rtol: number;
}

/** The values `gradcheck` uses unless told otherwise. */
export const GRADCHECK_DEFAULTS: GradcheckDefaults = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
