// The element strides of a broadcast mask, shared by the CPU oracle and the WGSL kernels (which bake them into
// their code) so that both read the same mask element for (b, h, i, j).

/** Element strides of a (padded 4-D) mask `shape` over `[batch, heads, nq, nk]`: 0 on axes of size 1. */
export function maskStrides(shape: readonly number[]): number[] {
  const s = [0, 0, 0, 0];
  let acc = 1;
  for (let d = 3; d >= 0; d--) {
    s[d] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d];
  }
  return s;
}
