import { cpuAlloc, cpuData, cpuTensor } from '../../backend/cpu/cpu-backend.js';
import { registerKernel } from '../../backend/registry.js';
import { broadcastStrides, sizeOf } from '../../shape.js';
import type { MatmulAttrs } from './matmul.js';

/** Element offset of each (broadcast) batch matrix of an input with batch axes `shape` inside `batch`. */
function batchOffsets(shape: readonly number[], batch: readonly number[], matrixSize: number): Float64Array {
  const strides = broadcastStrides(shape, batch);
  const count = sizeOf(batch);
  const out = new Float64Array(count);
  const idx = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < count; t++) {
    let o = 0;
    for (let d = 0; d < batch.length; d++) o += idx[d] * strides[d];
    out[t] = o * matrixSize;
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

registerKernel<MatmulAttrs>({
  op: 'matmul',
  backend: 'cpu',
  run: ([a, b], { transA, transB, m, n, k, shape }) => {
    const batch = shape.slice(0, -2);
    const aOff = batchOffsets(a.shape.slice(0, -2), batch, m * k);
    const bOff = batchOffsets(b.shape.slice(0, -2), batch, k * n);
    const A = cpuData(a);
    const B = cpuData(b);
    const out = cpuAlloc(a.dtype, sizeOf(shape));
    // A[i, p] = A[ao + i * sAi + p * sAp], whichever way A is stored.
    const sAi = transA ? 1 : k;
    const sAp = transA ? m : 1;
    const row = new Float64Array(n);
    for (let t = 0; t < aOff.length; t++) {
      const ao = aOff[t];
      const bo = bOff[t];
      const oo = t * m * n;
      for (let i = 0; i < m; i++) {
        if (transB) {
          // B is stored as rows of length k (B^T): a dot product of two contiguous rows per output element.
          for (let j = 0; j < n; j++) {
            let s = 0;
            let ap = ao + i * sAi;
            const bj = bo + j * k;
            for (let p = 0; p < k; p++, ap += sAp) s += A[ap] * B[bj + p];
            out[oo + i * n + j] = s;
          }
        } else {
          // i-k-j order: stream contiguous rows of B into a float64 accumulator row.
          row.fill(0);
          for (let p = 0; p < k; p++) {
            const aip = A[ao + i * sAi + p * sAp];
            const bp = bo + p * n;
            for (let j = 0; j < n; j++) row[j] += aip * B[bp + j];
          }
          for (let j = 0; j < n; j++) out[oo + i * n + j] = row[j];
        }
      }
    }
    return [cpuTensor(out, shape)];
  },
});
