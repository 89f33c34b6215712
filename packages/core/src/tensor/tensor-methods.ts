// The functions behind Tensor's convenience methods, gathered in one module so tensor.ts imports ops from a
// single place (ES modules resolve this cycle because the functions are only called after loading).
export { backward } from '../autograd/backward.js';
export { withGradMode } from '../autograd/mode.js';
export { add, div, mul, sub } from '../ops/elementwise/binary.js';
export { cast } from '../ops/elementwise/cast.js';
export { mean, sum } from '../ops/reduce/reduce.js';
export { clone, contiguous, expand, permute, reshape, toBackend, transpose } from '../ops/views/views.js';
export { keep } from './scope.js';
