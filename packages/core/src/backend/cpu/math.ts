/**
 * Scalar math the CPU kernels need beyond `Math`, written for float64 accuracy (these are oracles).
 */

/** The error function, accurate to ~1e-15: a Taylor series for |x| < 3, a continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcLarge(ax));
}

/** erfc(x) for x >= 3 by the Laplace continued fraction (evaluated bottom-up). */
function erfcLarge(x: number): number {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Round half to even (banker's rounding), as `torch.round`. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
