// Float64 references of the registered ops, by their explicit (quadratic) formulas: independent of the kernels and
// of the composite implementations they check. Each reads CPU inputs laid out [batch, n, heads, dim] and returns
// the outputs of the query rows asked for, [batch, rows.length, heads, valueDim].

/** Flat inputs and sizes of one reference call. */
export interface RefInputs {
  /** Queries `[batch, n, heads, dk]`. */
  q: ArrayLike<number>;
  /** Keys `[batch, n, heads, dk]`. */
  k: ArrayLike<number>;
  /** Values `[batch, n, heads, dv]`. */
  v: ArrayLike<number>;
  /** Sizes. */
  batch: number;
  /** Tokens. */
  n: number;
  /** Heads. */
  heads: number;
  /** Query/key dim. */
  dk: number;
  /** Value dim. */
  dv: number;
}

/**
 * The output of each (batch, row, head) as `sum_j w(j) v_j / norm` where `weights` fills `w` (float64, one per key)
 * for that query and returns the divisor. The shared skeleton of every explicit reference.
 */
export function weightedRows(
  x: RefInputs,
  rows: readonly number[],
  weights: (b: number, i: number, h: number, w: Float64Array) => number,
): Float64Array {
  const out = new Float64Array(x.batch * rows.length * x.heads * x.dv);
  const w = new Float64Array(x.n);
  for (let b = 0; b < x.batch; b++) {
    for (let r = 0; r < rows.length; r++) {
      for (let h = 0; h < x.heads; h++) {
        w.fill(0);
        const norm = weights(b, rows[r], h, w);
        const oo = ((b * rows.length + r) * x.heads + h) * x.dv;
        for (let j = 0; j < x.n; j++) {
          if (w[j] === 0) continue;
          const vo = ((b * x.n + j) * x.heads + h) * x.dv;
          for (let e = 0; e < x.dv; e++) out[oo + e] += w[j] * x.v[vo + e];
        }
        for (let e = 0; e < x.dv; e++) out[oo + e] /= norm;
      }
    }
  }
  return out;
}

/** `a_i . b_j` of head h (a, b laid out `[batch, n, heads, dk]`), after `f` applied element-wise. */
export function headDot(
  x: RefInputs,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  i: number,
  j: number,
  h: number,
  f: (t: number) => number = (t) => t,
): number {
  const ao = ((batch * x.n + i) * x.heads + h) * x.dk;
  const bo = ((batch * x.n + j) * x.heads + h) * x.dk;
  let s = 0;
  for (let c = 0; c < x.dk; c++) s += f(a[ao + c]) * f(b[bo + c]);
  return s;
}

const eluPlusOne = (t: number) => (t > 0 ? t + 1 : Math.exp(t));

/** Classic linear attention with `phi = elu + 1`: explicit weights `phi(q_i).phi(k_j)` over the row normaliser + eps. */
export function linearAttentionRef(
  x: RefInputs,
  rows: readonly number[],
  causal: boolean,
  eps = 1e-6,
): Float64Array {
  return weightedRows(x, rows, (b, i, h, w) => {
    let total = 0;
    for (let j = 0; j <= (causal ? i : x.n - 1); j++) {
      w[j] = headDot(x, x.q, x.k, b, i, j, h, eluPlusOne);
      total += w[j];
    }
    return total + eps;
  });
}

/** LightNet: per key channel a softmax over the attended keys, weights summed against q's channels. */
export function lightnetRef(x: RefInputs, rows: readonly number[], causal: boolean): Float64Array {
  return weightedRows(x, rows, (b, i, h, w) => {
    const last = causal ? i : x.n - 1;
    const qo = ((b * x.n + i) * x.heads + h) * x.dk;
    for (let c = 0; c < x.dk; c++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let j = 0; j <= last; j++) mx = Math.max(mx, x.k[((b * x.n + j) * x.heads + h) * x.dk + c]);
      let z = 0;
      for (let j = 0; j <= last; j++) z += Math.exp(x.k[((b * x.n + j) * x.heads + h) * x.dk + c] - mx);
      for (let j = 0; j <= last; j++) {
        w[j] += (x.q[qo + c] * Math.exp(x.k[((b * x.n + j) * x.heads + h) * x.dk + c] - mx)) / z;
      }
    }
    return 1;
  });
}

/** InLine's explicit weights: `(scale/N) q_i.k_j - mean_s (scale/N) q_i.k_s + 1/N` (identity feature map). */
export function inlineRef(x: RefInputs, rows: readonly number[]): Float64Array {
  const scale = 1 / Math.sqrt(x.dk);
  return weightedRows(x, rows, (b, i, h, w) => {
    let meanDot = 0;
    for (let j = 0; j < x.n; j++) {
      w[j] = (headDot(x, x.q, x.k, b, i, j, h) * scale) / x.n;
      meanDot += w[j] / x.n;
    }
    for (let j = 0; j < x.n; j++) w[j] = w[j] - meanDot + 1 / x.n;
    return 1;
  });
}

/** L2ViT, qk-first: `tau sum_j (relu q_i . relu k_j) v_j / max(sum_j relu q_i . relu k_j, 100)`. */
export function enhancedLinearRef(x: RefInputs, rows: readonly number[]): Float64Array {
  const tau = 1 / Math.sqrt(x.dk);
  const relu = (t: number) => Math.max(t, 0);
  return weightedRows(x, rows, (b, i, h, w) => {
    let total = 0;
    for (let j = 0; j < x.n; j++) {
      const a = headDot(x, x.q, x.k, b, i, j, h, relu);
      total += a;
      w[j] = tau * a;
    }
    return Math.max(total, 100);
  });
}

/** Kronecker attention by its definition, with the extra keys and values `k2`, `v2` and logit scale `scale`. */
export function kroneckerRef(
  x: RefInputs,
  k2: ArrayLike<number>,
  v2: ArrayLike<number>,
  rows: readonly number[],
  scale: number,
): Float64Array {
  const { n, heads, dk, dv } = x;
  const out = new Float64Array(x.batch * rows.length * heads * dv);
  const logits = new Float64Array(n * n);
  for (let b = 0; b < x.batch; b++) {
    for (let r = 0; r < rows.length; r++) {
      for (let h = 0; h < heads; h++) {
        const qo = ((b * n + rows[r]) * heads + h) * dk;
        let mx = Number.NEGATIVE_INFINITY;
        for (let j1 = 0; j1 < n; j1++) {
          for (let j2 = 0; j2 < n; j2++) {
            const a = ((b * n + j1) * heads + h) * dk;
            const c = ((b * n + j2) * heads + h) * dk;
            let s = 0;
            for (let l = 0; l < dk; l++) s += x.q[qo + l] * x.k[a + l] * k2[c + l];
            logits[j1 * n + j2] = s * scale;
            mx = Math.max(mx, s * scale);
          }
        }
        let total = 0;
        const oo = ((b * rows.length + r) * heads + h) * dv;
        for (let j1 = 0; j1 < n; j1++) {
          for (let j2 = 0; j2 < n; j2++) {
            const p = Math.exp(logits[j1 * n + j2] - mx);
            total += p;
            const a = ((b * n + j1) * heads + h) * dv;
            const c = ((b * n + j2) * heads + h) * dv;
            for (let e = 0; e < dv; e++) out[oo + e] += p * x.v[a + e] * v2[c + e];
          }
        }
        for (let e = 0; e < dv; e++) out[oo + e] /= total;
      }
    }
  }
  return out;
}
