/**
 * `@attnkit/core/testing`: what attnkit's test suites share, and what other packages reuse: the float64
 * finite-difference gradient checker, tolerant comparison with the per-backend tolerances kept in one place,
 * and the list of backends a suite runs on.
 *
 * @packageDocumentation
 */
export { backendsUnderTest } from './backends.js';
export { assertClose, compareArrays, type Discrepancy } from './compare.js';
export { type GradcheckOptions, gradcheck } from './gradcheck.js';
export {
  GRADCHECK_DEFAULTS,
  type GradcheckDefaults,
  setTolerance,
  type Tolerance,
  toleranceFor,
} from './tolerances.js';
