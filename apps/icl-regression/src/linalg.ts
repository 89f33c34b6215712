/**
 * Solves A·x = b for a small symmetric positive-definite n×n matrix A (row-major) by Cholesky
 * factorisation, in float64. Used per task by the ridge predictor, where n = d is tiny, so a dense
 * O(n³) factorisation per call is the simplest correct choice. `a` is not modified.
 */
export function solveSpd(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`solveSpd: matrix is not positive definite (pivot ${i} is ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  // Forward substitution L·u = b, then back substitution Lᵀ·x = u.
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k];
    x[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}
