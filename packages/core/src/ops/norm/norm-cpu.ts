import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import type { TypedArray } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import type { GroupNormAttrs, LayerNormAttrs, RmsNormAttrs } from './norm.js';

/** `[mean, 1 / sqrt(var + eps)]` of `len` elements from `start` (biased variance, two passes in float64). */
function stats(x: TypedArray, start: number, len: number, eps: number, center: boolean): [number, number] {
  let mu = 0;
  if (center) {
    for (let j = 0; j < len; j++) mu += x[start + j];
    mu /= len;
  }
  let ss = 0;
  for (let j = 0; j < len; j++) ss += (x[start + j] - mu) ** 2;
  return [mu, 1 / Math.sqrt(ss / len + eps)];
}

function rowNormKernel(op: 'layerNorm' | 'rmsNorm', center: boolean) {
  registerKernel<LayerNormAttrs | RmsNormAttrs>({
    op,
    backend: 'cpu',
    run: ([x, ...rest], attrs) => {
      const { size, hasWeight, eps } = attrs;
      const hasBias = 'hasBias' in attrs && attrs.hasBias;
      const src = cpuData(x);
      const w = hasWeight ? cpuData(rest[0]) : null;
      const b = hasBias ? cpuData(rest[hasWeight ? 1 : 0]) : null;
      const out = cpuAlloc(x.dtype, x.size);
      for (let r = 0; r < x.size / size; r++) {
        const start = r * size;
        const [mu, rstd] = stats(src, start, size, eps, center);
        for (let j = 0; j < size; j++) {
          const y = (src[start + j] - mu) * rstd;
          out[start + j] = (w ? y * w[j] : y) + (b ? b[j] : 0);
        }
      }
      return [cpuTensor(out, x.shape)];
    },
  });
}

rowNormKernel('layerNorm', true);
rowNormKernel('rmsNorm', false);

registerKernel<GroupNormAttrs>({
  op: 'groupNorm',
  backend: 'cpu',
  run: ([x, ...rest], { groups, hasWeight, hasBias, eps }) => {
    const [n, c] = x.shape;
    const spatial = sizeOf(x.shape.slice(2));
    const perGroup = (c / groups) * spatial;
    const src = cpuData(x);
    const w = hasWeight ? cpuData(rest[0]) : null;
    const b = hasBias ? cpuData(rest[hasWeight ? 1 : 0]) : null;
    const out = cpuAlloc(x.dtype, x.size);
    // In [N, C, S] row-major order, group g of sample i is one contiguous block of (C / groups) * S elements.
    for (let blk = 0; blk < n * groups; blk++) {
      const start = blk * perGroup;
      const [mu, rstd] = stats(src, start, perGroup, eps, true);
      for (let j = 0; j < perGroup; j++) {
        const ch = (blk % groups) * (c / groups) + Math.floor(j / spatial);
        const y = (src[start + j] - mu) * rstd;
        out[start + j] = (w ? y * w[ch] : y) + (b ? b[ch] : 0);
      }
    }
    return [cpuTensor(out, x.shape)];
  },
});
