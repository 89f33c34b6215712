/**
 * `@attnkit/core/testing`: what attnkit's test suites share, and what other packages reuse: the float64
 * finite-difference gradient checker, tolerant comparison with the per-backend tolerances kept in one place,
 * asynchronous reads and gradient checks that run on every backend, and the list of backends a suite runs on.
 *
 * @packageDocumentation
 */
export { backendsUnderTest } from './backends.js';
export { assertClose, compareArrays, type Discrepancy } from './compare.js';
export { type GradcheckOptions, gradcheck } from './gradcheck.js';
export { checkGradients } from './gradients.js';
export {
  GRADCHECK_DEFAULTS,
  type GradcheckDefaults,
  setTolerance,
  type Tolerance,
  toleranceFor,
} from './tolerances.js';
export { expectValues, readFlat, readItem } from './values.js';
