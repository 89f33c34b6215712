// Public ops, one folder per family. Each family's CPU kernels register themselves when its `-cpu` module
// loads; other backends register theirs from their own packages.
import './views/views-cpu.js';
import './elementwise/elementwise-cpu.js';
import './reduce/reduce-cpu.js';
import './linalg/matmul-cpu.js';
import './softmax/softmax-cpu.js';
import './norm/norm-cpu.js';
import './attention/sdpa-cpu.js';
import './conv/conv-cpu.js';
import './pool/pool-cpu.js';
import './resize/resize-cpu.js';
import './pad/pad-cpu.js';
import './indexing/indexing-cpu.js';
import './sort/sort-cpu.js';
import './scan/cumsum-cpu.js';
import './join/join-cpu.js';

export * from './attention/sdpa.js';
export * from './conv/conv.js';
export * from './elementwise/binary.js';
export * from './elementwise/cast.js';
export type { Operand } from './elementwise/operand.js';
export * from './elementwise/unary.js';
export * from './elementwise/where.js';
export * from './indexing/indexing.js';
export * from './join/join.js';
export * from './linalg/einsum.js';
export * from './linalg/matmul.js';
export * from './norm/norm.js';
export * from './pad/pad.js';
export * from './pool/pool.js';
export * from './reduce/reduce.js';
export * from './resize/resize.js';
export * from './scan/cumsum.js';
export * from './softmax/softmax.js';
export * from './sort/sort.js';
export type { SpatialArg } from './spatial-args.js';
export * from './views/views.js';
