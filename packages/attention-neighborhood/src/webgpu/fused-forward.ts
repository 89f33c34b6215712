// The fused forward of neighborhood attention (`neighborhood.forward`): flash-style, the logits never leave
// the workgroup. One workgroup per (tile of queries of one dilation group, head, batch item), one thread per
// query holding its query vector and output accumulator in registers. The keys of the tile's windows form a
// box (window starts and ends never decrease along an axis); it is staged chunk by chunk in workgroup memory,
// and each thread walks exactly the part of its own window inside the chunk, folding it in with the online
// softmax (running max and sum). Dilation is index arithmetic (tiles live in one dilation group), stride and
// causality only move the per-query windows. Extra keys (neighborhood cross-attention) are staged after the
// neighborhood and join the same softmax; the relative positional bias is read per logit. Head vectors are vec4
// (zero-padded past the head dim) in registers and in workgroup memory, whose rows have an odd vec4 stride so
// that a SIMD group reading different rows is free of bank conflicts.
import type { KernelDef } from '@attnkit/core';
import { type NeighborhoodAttrs, neighborhoodForwardOp } from '../ops/defs.js';
import { kitOf } from './bindings.js';
import { fusedInputs, fusedSupports } from './fused-common.js';
import { launchQueryTilePass } from './fused-query-tile.js';
import { geometryOf } from './geometry.js';
import { store4 } from './tiles.js';

/** The online-softmax step of one (query, key) pair: fold `exp(x - m)` and the staged value row into `acc`. */
const FOLD = /* wgsl */ `if (x > m) {
                  let alpha = select(exp(m - x), 0.0, m == neg_inf());
                  l *= alpha;
                  for (var c = 0u; c < DV4; c++) { acc[c] *= alpha; }
                  m = x;
                }
                let p = exp(x - m);
                l += p;
                for (var c = 0u; c < DV4; c++) { acc[c] += p * VS[kk * SV + c]; }`;

const forwardKernel: KernelDef<NeighborhoodAttrs> = {
  op: neighborhoodForwardOp.name,
  backend: 'webgpu',
  supports: (inputs, a) => fusedSupports(neighborhoodForwardOp.name, inputs, a),
  run: (inputs, a) => {
    const op = neighborhoodForwardOp.name;
    const ins = fusedInputs(inputs, a, 0);
    const { q, v } = ins;
    const kit = kitOf(q);
    const g = geometryOf(q, a, v.shape[v.rank - 2], v.shape[v.rank - 1]);
    const rowsShape = q.shape.slice(0, -1);
    const out = kit.output(op, 'float32', [...rowsShape, g.valueDim]);
    const lse = kit.output(op, 'float32', rowsShape);
    if (out.t.size === 0) return [out.t, lse.t];
    launchQueryTilePass(kit, op, g, a, ins, {
      key: 'fwd',
      bindOutputs: (bind) => {
        bind.add('OUT', out.h.buffer, true);
        bind.add('LSE', lse.h.buffer, true);
      },
      setup: /* wgsl */ `var acc: array<vec4<f32>, DV4>;
  var m = neg_inf();
  var l = 0.0;`,
      pair: FOLD,
      finish: /* wgsl */ `let inv = 1.0 / l;
    for (var c = 0u; c < DV4; c++) ${store4('OUT', 'qr * DV', 'c', 'acc[c] * inv', g.valueDim)}
    LSE[qr] = m + log(l);`,
    });
    return [out.t, lse.t];
  },
};

/** The fused forward kernel. */
export const FORWARD_KERNELS = [forwardKernel] as KernelDef[];
