// The unfused pair of the Faster-NA paper's "naive" baseline (and the blocks of its gradient) as WGSL: one
// thread per output element, each walking its own window (qk, av) or inverse neighborhood (scatter), so every
// kernel is deterministic. Shapes, attributes and offsets are baked into the WGSL (pipelines cached per key).
import type { KernelDef, Tensor } from '@attnkit/core';
import {
  type NeighborhoodAttrs,
  type NeighborhoodScatterAttrs,
  neighborhoodAvOp,
  neighborhoodQkOp,
  neighborhoodScatterOp,
} from '../ops/defs.js';
import { Bindings, kitOf } from './bindings.js';
import { type Geometry, geometryKey, geometryOf, indexCode } from './geometry.js';
import { allFloat32 } from './support.js';

/** WGSL that splits flat token index `tok` into coordinates `c0, c1, c2` and their windows `w0, w1, w2`. */
const QUERY_WINDOWS = /* wgsl */ `
  let c2 = tok % N2;
  let c1 = (tok / N2) % N1;
  let c0 = tok / (N2 * N1);
  let w0 = axis_window(0u, c0);
  let w1 = axis_window(1u, c1);
  let w2 = axis_window(2u, c2);`;

/** WGSL of the relative-bias offset (within one head's table) of key `j0, j1, j2` for the query of `w0..w2`. */
export const RPB_INDEX = /* wgsl */ `(((j0 + KS0 - 1u - w0.w) * (2u * KS1 - 1u) + j1 + KS1 - 1u - w1.w) * (2u * KS2 - 1u) + j2 + KS2 - 1u - w2.w)`;

/** The table size of one head of the relative positional bias. */
export function rpbPerHead(g: Geometry): number {
  return g.axes.reduce((x, a) => x * (2 * a.k - 1), 1);
}

/**
 * WGSL that splits flat index `e` of a `[batch, tokens, heads, inner]` output into `b`, `tok`, the head `${head}`
 * (of `${heads}` heads) and the inner index `${inner}` (of `${size}`).
 */
function splitRow(inner: string, size: string, head = 'h', heads = 'H'): string {
  return `
  let ${inner} = e % ${size};
  var r = e / ${size};
  let ${head} = r % ${heads};
  r = r / ${heads};
  let tok = r % T;
  let b = r / T;`;
}

/**
 * Runs one thread per element of a new float32 output `[name, shape]`, bound after the named `inputs`;
 * `key` holds what `body` bakes in beyond the geometry. Every kernel here has this frame.
 */
function perOutputElement(
  op: string,
  g: Geometry,
  inputs: [name: string, t: Tensor][],
  [outName, shape]: [name: string, shape: number[]],
  key: string,
  body: string,
): Tensor {
  const kit = kitOf(inputs[0][1]);
  const out = kit.output(op, 'float32', shape);
  const bind = new Bindings();
  for (const [name, t] of inputs) bind.input(kit, op, name, t);
  bind.add(outName, out.h.buffer, true);
  bind.perElement(kit, op, key, out.t.size, indexCode(g), body);
  return out.t;
}

const qkKernel: KernelDef<NeighborhoodAttrs> = {
  op: neighborhoodQkOp.name,
  backend: 'webgpu',
  supports: (inputs) => allFloat32(inputs),
  run: (inputs, a) => {
    const op = neighborhoodQkOp.name;
    const [q, k, rpb] = inputs;
    const g = geometryOf(q, a, k.shape[k.rank - 2], k.shape[k.rank - 1]);
    const bias = a.hasRpb ? `x += RPB[RPB_OFF + h * ${rpbPerHead(g)}u + ${RPB_INDEX}];` : '';
    const named: [string, Tensor][] = [
      ['Q', q],
      ['K', k],
    ];
    if (a.hasRpb) named.push(['RPB', rpb]);
    const out = perOutputElement(
      op,
      g,
      named,
      ['L', [...q.shape.slice(0, -1), g.neighbors]],
      `${geometryKey(g)}|${a.hasRpb}`,
      /* wgsl */ `${splitRow('slot', 'NB')}
  ${QUERY_WINDOWS}
  let j2 = w2.x + slot % KS2;
  let j1 = w1.x + (slot / KS2) % KS1;
  let j0 = w0.x + slot / (KS2 * KS1);
  if (j0 > w0.y || j1 > w1.y || j2 > w2.y) {
    L[e] = bitcast<f32>(BITS_NEG_INF);
    return;
  }
  let key = token_of(j0 * DL0 + w0.z, j1 * DL1 + w1.z, j2 * DL2 + w2.z);
  let qo = Q_OFF + ((b * T + tok) * H + h) * D;
  let ko = K_OFF + ((b * T + key) * KVH + h / GROUP) * D;
  var dot = 0.0;
  for (var c = 0u; c < D; c++) { dot += Q[qo + c] * K[ko + c]; }
  var x = dot * ${kitOf(q).f32(g.scale)};
  ${bias}
  L[e] = x;`,
    );
    return [out];
  },
};

const avKernel: KernelDef<NeighborhoodAttrs> = {
  op: neighborhoodAvOp.name,
  backend: 'webgpu',
  supports: (inputs) => allFloat32(inputs),
  run: (inputs, a) => {
    const op = neighborhoodAvOp.name;
    const [w, v] = inputs;
    const g = geometryOf(w, a, v.shape[v.rank - 2], v.shape[v.rank - 1]);
    const out = perOutputElement(
      op,
      g,
      [
        ['W', w],
        ['V', v],
      ],
      ['O', [...w.shape.slice(0, -1), g.valueDim]],
      geometryKey(g),
      /* wgsl */ `${splitRow('c', 'DV')}
  ${QUERY_WINDOWS}
  let wo = W_OFF + ((b * T + tok) * H + h) * NB;
  var acc = 0.0;
  for (var s0 = 0u; s0 < KS0; s0++) {
    let j0 = w0.x + s0;
    if (j0 > w0.y) { break; }
    for (var s1 = 0u; s1 < KS1; s1++) {
      let j1 = w1.x + s1;
      if (j1 > w1.y) { break; }
      for (var s2 = 0u; s2 < KS2; s2++) {
        let j2 = w2.x + s2;
        if (j2 > w2.y) { break; }
        let key = token_of(j0 * DL0 + w0.z, j1 * DL1 + w1.z, j2 * DL2 + w2.z);
        let wt = W[wo + (s0 * KS1 + s1) * KS2 + s2];
        acc += wt * V[V_OFF + ((b * T + key) * KVH + h / GROUP) * DV + c];
      }
    }
  }
  O[e] = acc;`,
    );
    return [out];
  },
};

const scatterKernel: KernelDef<NeighborhoodScatterAttrs> = {
  op: neighborhoodScatterOp.name,
  backend: 'webgpu',
  supports: (inputs) => allFloat32(inputs),
  run: (inputs, a) => {
    const op = neighborhoodScatterOp.name;
    const [w, x] = inputs;
    // The "query" side is w / x (heads H, dim D); the output has the kv heads.
    const g = geometryOf(x, a, a.kvHeads, x.shape[x.rank - 1]);
    const out = perOutputElement(
      op,
      g,
      [
        ['W', w],
        ['X', x],
      ],
      ['Y', [...x.shape.slice(0, -2), a.kvHeads, g.headDim]],
      geometryKey(g),
      /* wgsl */ `${splitRow('c', 'D', 'kh', 'KVH')}
  let v0 = axis_inverse(0u, tok / (N2 * N1));
  let v1 = axis_inverse(1u, (tok / N2) % N1);
  let v2 = axis_inverse(2u, tok % N2);
  var acc = 0.0;
  for (var hh = 0u; hh < GROUP; hh++) {
    let h = kh * GROUP + hh;
    for (var i0 = v0.x; i0 <= v0.y; i0++) {
      let q0 = i0 * DL0 + v0.z;
      let s0 = v0.w - axis_window(0u, q0).x;
      for (var i1 = v1.x; i1 <= v1.y; i1++) {
        let q1 = i1 * DL1 + v1.z;
        let s1 = v1.w - axis_window(1u, q1).x;
        for (var i2 = v2.x; i2 <= v2.y; i2++) {
          let q2 = i2 * DL2 + v2.z;
          let s2 = v2.w - axis_window(2u, q2).x;
          let row = (b * T + token_of(q0, q1, q2)) * H + h;
          acc += W[W_OFF + row * NB + (s0 * KS1 + s1) * KS2 + s2] * X[X_OFF + row * D + c];
        }
      }
    }
  }
  Y[e] = acc;`,
    );
    return [out];
  },
};

/** The WGSL kernels of `neighborhood.qk`, `neighborhood.av` and `neighborhood.scatter`. */
export const UNFUSED_KERNELS = [qkKernel, avKernel, scatterKernel] as KernelDef[];
