// The query-tile pass that the fused forward and the backward's dQ share, so that the two stay one kernel layout:
// a workgroup per (tile of queries of one dilation group, head, batch item), one thread per query holding its
// query vector in registers; the keys and values of the tile's windows are staged chunk by chunk in workgroup
// memory (KS, VS), then the extra keys, and every (query, key) pair of the thread's window runs the caller's WGSL
// with the logit `x` and the staged row `kk`. Only that per-pair WGSL, the registers it needs, the bindings
// around the inputs and what a thread writes at the end differ between the two.
import type { WebGPUKernelKit } from '@attnkit/gpu-kernels';
import type { NeighborhoodAttrs } from '../ops/defs.js';
import { Bindings } from './bindings.js';
import {
  boxInChunk,
  extraLoop,
  fusedHeader,
  type fusedInputs,
  logitCode,
  rpbOffset,
  stageExtra,
  windowsAndBox,
} from './fused-common.js';
import { type Geometry, geometryKey } from './geometry.js';
import {
  chunkDecls,
  chunkLoops,
  chunkRows,
  load4,
  paddedStride,
  quads,
  stageRows,
  tileCode,
  tilingOf,
} from './tiles.js';

/** What a query-tile pass adds to the shared layout. */
export interface QueryTilePass {
  /** Pipeline key part naming the pass (with everything its WGSL bakes in beyond the shared layout). */
  key: string;
  /** Binds what comes between V and the optional inputs (the backward's packed rows). */
  bindAfterV?: (bind: Bindings) => void;
  /** Binds the outputs, after every input. */
  bindOutputs: (bind: Bindings) => void;
  /** WGSL module-scope declarations after the shared header. */
  decls?: string;
  /** WGSL after the query vector `qv` is loaded (row `qr`): the thread's other registers. */
  setup: string;
  /** WGSL per (query, key) pair, given the logit `x` and `kk`, the key's row in KS and VS. */
  pair: string;
  /** WGSL a valid thread runs at the end. */
  finish: string;
}

/** Records the query-tile pass `pass` of op `op` over the fused inputs `ins`. */
export function launchQueryTilePass(
  kit: WebGPUKernelKit,
  op: string,
  g: Geometry,
  a: NeighborhoodAttrs,
  ins: ReturnType<typeof fusedInputs>,
  pass: QueryTilePass,
): void {
  const { q, k, v, rpb, extraK, extraV } = ins;
  const tiling = tilingOf(g);
  const [sk, sv] = [paddedStride(quads(g.headDim)), paddedStride(quads(g.valueDim))];
  const rows = chunkRows(q, op, 4 * (sk + sv));
  const bind = new Bindings();
  bind.input(kit, op, 'Q', q);
  bind.input(kit, op, 'K', k);
  bind.input(kit, op, 'V', v);
  pass.bindAfterV?.(bind);
  if (rpb) bind.input(kit, op, 'RPB', rpb);
  if (extraK && extraV) {
    bind.input(kit, op, 'EK', extraK);
    bind.input(kit, op, 'EV', extraV);
  }
  pass.bindOutputs(bind);
  const scale = kit.f32(g.scale);
  const kvRow = (t: string) => `((b * T + ${t}) * KVH + kh)`;
  const extra = extraK
    ? extraLoop(
        rows,
        `${stageExtra('KS', 'EK', g.headDim, 'SK')}\n    ${stageExtra('VS', 'EV', g.valueDim, 'SV')}`,
        `${logitCode(scale, 'qv', 'KS', null)}
        ${pass.pair}`,
      )
    : '';
  kit.launch(
    op,
    `${op}|${pass.key}|${geometryKey(g)}|${a.hasRpb}|${a.numExtra}|${bind.key()}|${rows}|${JSON.stringify(tiling)}`,
    () => /* wgsl */ `${fusedHeader(kit, g, bind, a.numExtra)}
${pass.decls ?? ''}
const SK = ${sk}u;
const SV = ${sv}u;
${chunkDecls(rows, tiling)}
var<workgroup> KS: array<vec4<f32>, ${rows * sk}>;
var<workgroup> VS: array<vec4<f32>, ${rows * sv}>;
@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let b = wid.z;
  let h = wid.y;
  let kh = h / GROUP;
  ${tileCode(tiling)}
  ${windowsAndBox('window', 'w')}
  let qr = (b * T + tok) * H + h;
  var qv: array<vec4<f32>, D4>;
  for (var c = 0u; c < D4; c++) { qv[c] = ${load4('Q', 'Q_OFF + qr * D', 'c', g.headDim)}; }
  ${pass.setup}
  ${chunkLoops(
    rows,
    `${stageRows('KS', 'K', g.headDim, (t) => `K_OFF + ${kvRow(t)} * D`, 'SK')}
        ${stageRows('VS', 'V', g.valueDim, (t) => `V_OFF + ${kvRow(t)} * DV`, 'SV')}`,
    `if (valid) {
          ${boxInChunk(`${logitCode(scale, 'qv', 'KS', rpb ? rpbOffset(g, 'cp', 'j') : null)}
                ${pass.pair}`)}
        }`,
  )}
  ${extra}
  if (valid) {
    ${pass.finish}
  }
}`,
    bind.buffers,
    [tiling.total, g.heads, g.batch],
  );
}
