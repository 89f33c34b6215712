// MD-LRPE, LightNet's multi-dimensional linearised relative positional encoding (cosine form, as xopes
// `md_lrpe_cosine_torch` and vector_quants `MdLrpe`): the head dim is split across the m token axes, each slice
// rotated by angles p_i * theta_j, and the output is [x cos(theta), x sin(theta)], so that the dot product of an
// encoded query and key depends only on the difference of their grid positions.
import { concat, mul, reshape, type Tensor, tensor, tidy, ValueError } from '@attnkit/core';
import { checkInt, checkNumber } from '../util/check.js';

/** Options of {@link mdLrpe}. */
export interface MdLrpeOptions {
  /** Frequency base: `theta_j = base^(-2j/d)` (default 10000). */
  base?: number;
  /**
   * The token grid, when `x` has one token axis holding `clsTokens` extra tokens followed by the grid in
   * row-major order (default: `x`'s own token axes and no extra tokens).
   */
  grid?: readonly number[];
  /** Leading tokens left at angle 0 (output `[x, 0]`), e.g. a class token (default 0; needs `grid`). */
  clsTokens?: number;
}

/**
 * The angles `theta_token[c]` of every token: channel c of a d-dim head belongs to axis `floor(c / ceil(d/m))`
 * and frequency `j = c mod ceil(d/m)`, and gets `p_axis * base^(-2j/d)`. Returns `[clsTokens + prod(grid), d]`.
 */
export function mdLrpeAngles(
  grid: readonly number[],
  headDim: number,
  base = 10000,
  clsTokens = 0,
): Float64Array {
  const m = grid.length;
  const per = Math.ceil(headDim / m);
  const n = grid.reduce((a, b) => a * b, 1);
  const out = new Float64Array((clsTokens + n) * headDim);
  const pos = new Array<number>(m).fill(0);
  for (let t = 0; t < n; t++) {
    let rest = t;
    for (let a = m - 1; a >= 0; a--) {
      pos[a] = rest % grid[a];
      rest = Math.floor(rest / grid[a]);
    }
    for (let c = 0; c < headDim; c++) {
      const axis = Math.floor(c / per);
      const j = c % per;
      out[(clsTokens + t) * headDim + c] = pos[axis] * base ** ((-2 * j) / headDim);
    }
  }
  return out;
}

/**
 * MD-LRPE (cosine form): `x` `[batch, ...tokens, heads, d]` to `[batch, ...tokens, heads, 2d]` =
 * `[x * cos(theta_token), x * sin(theta_token)]` with the angles of {@link mdLrpeAngles}. Encoded queries and
 * keys then satisfy `q~ . k~ = sum_c q_c k_c cos(theta_c(p_q) - theta_c(p_k))`, a function of the relative
 * position in each axis only. Applied to q and k (not v) before linear attention. Differentiable in x.
 */
export function mdLrpe(x: Tensor, opts: MdLrpeOptions = {}): Tensor {
  const op = 'mdLrpe';
  x.assertAlive(op, 'x');
  if (x.rank < 4) {
    throw new ValueError(op, 'x', 'a tensor [batch, ...tokens, heads, dim]', `[${x.shape.join(', ')}]`);
  }
  const base = checkNumber(op, 'base', opts.base ?? 10000, 0, true);
  const cls = checkInt(op, 'clsTokens', opts.clsTokens ?? 0, 0);
  const tokens = x.shape.slice(1, -2);
  const grid = opts.grid ? [...opts.grid] : tokens;
  grid.forEach((g, i) => checkInt(op, `grid[${i}]`, g, 1));
  const n = grid.reduce((a, b) => a * b, 1);
  const tokenCount = tokens.reduce((a, b) => a * b, 1);
  if (tokenCount !== n + cls || (cls > 0 && tokens.length !== 1)) {
    throw new ValueError(
      op,
      'x',
      `${cls > 0 ? 'one token axis' : 'token axes'} holding clsTokens + prod(grid) = ${cls + n} tokens`,
      `[${x.shape.join(', ')}]`,
    );
  }
  const d = x.shape[x.rank - 1];
  const angles = mdLrpeAngles(grid, d, base, cls);
  const f = { dtype: x.dtype, backend: x.backend.name };
  const shape = [1, ...tokens, 1, d];
  return tidy(() => {
    const cos = reshape(tensor(angles.map(Math.cos), { ...f, shape: [cls + n, d] }), shape);
    const sin = reshape(tensor(angles.map(Math.sin), { ...f, shape: [cls + n, d] }), shape);
    return concat([mul(x, cos), mul(x, sin)], x.rank - 1);
  });
}
