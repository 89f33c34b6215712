import { registerKernel, type Tensor } from '@attnkit/core';
import type { BlockSparseAttrs } from '../engine/defs.js';
import { kitOf, supported } from './common.js';
import { simpleForward } from './forward-simple.js';
import { tiledForward } from './forward-tiled.js';
import { useTiled } from './variant.js';

// The WebGPU forward of `sparse.blockForward`: the simple or the tiled kernel, as variant.ts decides.

const OP = 'sparse.blockForward';

registerKernel<BlockSparseAttrs>({
  op: OP,
  backend: 'webgpu',
  supports: (inputs, a) => supported(inputs, a, [0, 1, 2]),
  run: (inputs: Tensor[], a) => {
    const kit = kitOf(inputs[0]);
    const o = kit.output(OP, 'float32', [a.batch, a.nq, a.heads, a.valueDim]);
    const l = kit.output(OP, 'float32', [a.batch, a.nq, a.heads]);
    (useTiled(kit, OP) ? tiledForward : simpleForward)(kit, inputs, a, o.h.buffer, l.h.buffer);
    return [o.t, l.t];
  },
});
