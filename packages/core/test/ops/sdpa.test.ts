import { describe, expect, it } from 'vitest';
import {
  add,
  expand,
  logicalAnd,
  logicalOr,
  logsumexp,
  matmul,
  memory,
  mul,
  permute,
  randomNormal,
  randomUniform,
  reshape,
  sdpa,
  softmax,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  where,
  zeros,
  zerosLike,
} from '../../src/index.js';
import { assertClose, backendsUnderTest, checkGradients, readFlat } from '../../src/testing/index.js';
import { onCpu } from '../helpers.js';

interface RefOptions {
  mask?: Tensor;
  bias?: Tensor;
  causal?: boolean;
  scale?: number;
}

/**
 * Attention composed from public ops, independent of the sdpa kernels: `softmax(scale q k^T + bias, masked) v`
 * in `[batch, heads, tokens, dim]` layout, with kv heads repeated for grouped-query attention. Meant for inputs
 * without fully masked rows (softmax gives NaN there; those rows are checked by hand).
 */
function refSdpa(q: Tensor, k: Tensor, v: Tensor, o: RefOptions = {}): { out: Tensor; lse: Tensor } {
  return tidy(() => {
    const [b, h, d] = [q.shape[0], q.shape[q.rank - 2], q.shape[q.rank - 1]];
    const hk = k.shape[k.rank - 2];
    const dv = v.shape[v.rank - 1];
    const nq = q.size / (b * h * d);
    const nk = k.size / (b * hk * d);
    const heads = (t: Tensor, n: number, dim: number) => {
      const t4 = permute(reshape(t, [b, n, t.shape[t.rank - 2], dim]), [0, 2, 1, 3]);
      const g = h / t.shape[t.rank - 2];
      if (g === 1) return t4;
      // Query head i reads kv head floor(i / g): repeat each kv head g times, in order.
      const rep = expand(reshape(t4, [b, hk, 1, n, dim]), [b, hk, g, n, dim]);
      return reshape(rep, [b, h, n, dim]);
    };
    const q4 = heads(q, nq, d);
    const k4 = heads(k, nk, d);
    const v4 = heads(v, nk, dv);
    let s = mul(matmul(q4, transpose(k4)), o.scale ?? 1 / Math.sqrt(d));
    if (o.bias) s = add(s, o.bias);
    let allowed: Tensor | undefined = o.mask;
    if (o.causal) {
      const tri = Array.from({ length: nq }, (_, i) => Array.from({ length: nk }, (_, j) => Number(j <= i)));
      const t = tensor(tri, { dtype: 'bool', backend: q.backend.name });
      allowed = allowed ? logicalAnd(allowed, t) : t;
    }
    // Masked scores become -Infinity by adding a constant (so the reference's gradient flows through add).
    if (allowed) s = add(s, where(allowed, zerosLike(s), Number.NEGATIVE_INFINITY));
    const out = permute(matmul(softmax(s), v4), [0, 2, 1, 3]);
    const lse = permute(logsumexp(s, { axis: -1 }), [0, 2, 1]);
    return {
      out: reshape(out, [...q.shape.slice(0, -1), dv]),
      lse: reshape(lse, q.shape.slice(0, -1)),
    };
  });
}

describe.each(backendsUnderTest())('sdpa on %s', (backend) => {
  const rand = (shape: number[], seed: number) => randomNormal(shape, { seed, backend });
  const bools = (shape: number[], seed: number, p = 0.7) =>
    tidy(() => {
      // Drawn on the CPU (a synchronous read), then placed on the backend under test.
      const u = randomUniform(shape, { seed, backend: 'cpu' }).dataSync();
      return tensor(
        Array.from(u, (x) => x < p),
        { shape, dtype: 'bool', backend },
      );
    });
  // The reference runs on the CPU copies of the inputs: the oracle, and cheaper than composing it on a GPU.
  const optionsOnCpu = async (o: RefOptions): Promise<RefOptions> => ({
    ...o,
    mask: o.mask && (await onCpu(o.mask)),
    bias: o.bias && (await onCpu(o.bias)),
  });
  const expectMatch = async (q: Tensor, k: Tensor, v: Tensor, o: RefOptions = {}) => {
    const got = sdpa(q, k, v, { ...o, returnLse: true });
    const ref = refSdpa(await onCpu(q), await onCpu(k), await onCpu(v), await optionsOnCpu(o));
    await assertClose(got.out, ref.out);
    await assertClose(got.lse, ref.lse);
  };

  it('matches hand computation', async () => {
    // One head, one dim: scores q_i k_j with scale 1.
    const q = tensor([[[[1]], [[0]]]], { backend });
    const k = tensor([[[[1]], [[2]]]], { backend });
    const v = tensor([[[[10]], [[20]]]], { backend });
    const p1 = Math.exp(2) / (Math.exp(1) + Math.exp(2));
    const y = sdpa(q, k, v, { scale: 1 });
    expect(y.shape).toEqual([1, 2, 1, 1]);
    await assertClose(y, [10 * (1 - p1) + 20 * p1, 15]);
    await assertClose(sdpa(q, k, v, { scale: 1, causal: true }), [10, 15]);
    const { lse } = sdpa(q, k, v, { scale: 1, returnLse: true });
    await assertClose(lse, [Math.log(Math.exp(1) + Math.exp(2)), Math.log(2)]);
    // The default scale is 1/sqrt(headDim): with headDim 4 and q.k = 4, the score is 2.
    const q4 = tensor([[[[1, 1, 1, 1]]]], { backend });
    const k4 = tensor([[[[1, 1, 1, 1]], [[0, 0, 0, 0]]]], { backend });
    const v4 = tensor([[[[1]], [[0]]]], { backend });
    await assertClose(sdpa(q4, k4, v4), [Math.exp(2) / (Math.exp(2) + 1)]);
  });

  it('matches the composed reference: value dim, cross attention, GQA, scale', async () => {
    await expectMatch(rand([2, 5, 3, 4], 1), rand([2, 5, 3, 4], 2), rand([2, 5, 3, 4], 3));
    await expectMatch(rand([2, 3, 2, 4], 4), rand([2, 5, 2, 4], 5), rand([2, 5, 2, 3], 6));
    await expectMatch(rand([1, 4, 6, 2], 7), rand([1, 3, 2, 2], 8), rand([1, 3, 2, 5], 9), { scale: 0.3 });
    await expectMatch(rand([1, 4, 4, 2], 10), rand([1, 4, 1, 2], 11), rand([1, 4, 1, 2], 12));
  });

  it('causal (top-left aligned), masks and biases broadcast to [batch, heads, nq, nk]', async () => {
    const q = rand([2, 4, 2, 3], 13);
    const k = rand([2, 6, 2, 3], 14);
    const v = rand([2, 6, 2, 3], 15);
    await expectMatch(q, k, v, { causal: true });
    await expectMatch(k, q, rand([2, 4, 2, 3], 16), { causal: true });
    // Key padding mask [batch, 1, 1, nk], with causal: key 0 is always allowed so no row is empty.
    const pad = tensor([[[[1, 1, 0, 1, 0, 1]]], [[[1, 0, 1, 1, 1, 1]]]], {
      dtype: 'bool',
      backend,
    });
    await expectMatch(q, k, v, { mask: pad, causal: true });
    // A random [heads, nq, nk] mask; key 0 is always allowed so no row is empty.
    const first = tensor([1, 0, 0, 0, 0, 0], { dtype: 'bool', backend });
    await expectMatch(q, k, v, { mask: logicalOr(bools([2, 4, 6], 17), first) });
    await expectMatch(q, k, v, { mask: logicalOr(bools([4, 6], 18, 0.4), first), causal: true });
    await expectMatch(q, k, v, { bias: rand([2, 4, 6], 19) });
    await expectMatch(q, k, v, { bias: rand([2, 1, 4, 6], 20), mask: pad, scale: 0.5 });
    await expectMatch(q, k, v, { bias: rand([6], 21), causal: true });
  });

  it('flattens several token axes in row-major order', async () => {
    const q = rand([1, 2, 3, 2, 4], 22);
    const k = rand([1, 2, 3, 1, 4], 23);
    const v = rand([1, 2, 3, 1, 2], 24);
    const y = sdpa(q, k, v, { causal: true });
    expect(y.shape).toEqual([1, 2, 3, 2, 2]);
    await expectMatch(q, k, v, { causal: true, bias: rand([2, 6, 6], 25) });
    // Same as attention over the flattened tokens.
    const flat = sdpa(reshape(q, [1, 6, 2, 4]), reshape(k, [1, 6, 1, 4]), reshape(v, [1, 6, 1, 2]), {
      causal: true,
    });
    await assertClose(y, reshape(flat, [1, 2, 3, 2, 2]));
    // Query and key token axes may differ in number.
    await expectMatch(q, rand([1, 5, 1, 4], 26), rand([1, 5, 1, 3], 27));
  });

  it('gives 0 and lse -Infinity where a query attends no key', async () => {
    const q = rand([1, 3, 2, 2], 28);
    const k = rand([1, 4, 2, 2], 29);
    const v = rand([1, 4, 2, 2], 30);
    // Query 1 attends nothing in head 0; other rows attend some keys.
    const m = [
      [
        [1, 0, 1, 0],
        [0, 0, 0, 0],
        [1, 1, 1, 1],
      ],
      [
        [1, 1, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 1],
      ],
    ];
    const mask = tensor(m, { dtype: 'bool', backend });
    const { out, lse } = sdpa(q, k, v, { mask, returnLse: true });
    const ref = refSdpa(await onCpu(q), await onCpu(k), await onCpu(v), { mask: await onCpu(mask) });
    const o = (await out.array()) as number[][][][];
    const r = (await ref.out.array()) as number[][][][];
    const l = (await lse.array()) as number[][][];
    expect(o[0][1][0]).toEqual([0, 0]);
    expect(l[0][1][0]).toBe(Number.NEGATIVE_INFINITY);
    expect(r[0][1][0].every(Number.isNaN)).toBe(true); // what plain softmax (and PyTorch) give
    await assertClose(tensor(o[0][1][1], { backend }), r[0][1][1]);
    await assertClose(tensor(o[0][2][0], { backend }), r[0][2][0]);
    // With a bias of -Infinity on every allowed key the row attends nothing too.
    const ninf = tensor([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0], { backend });
    const causalRows = sdpa(q, k, v, { bias: ninf, causal: true, returnLse: true });
    expect(((await causalRows.lse.array()) as number[][][])[0][1]).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    // No keys at all.
    const none = sdpa(q, zeros([1, 0, 2, 2], { backend }), zeros([1, 0, 2, 3], { backend }), {
      returnLse: true,
    });
    expect(none.out.shape).toEqual([1, 3, 2, 3]);
    expect((await readFlat(none.out)).every((x) => x === 0)).toBe(true);
    expect((await readFlat(none.lse)).every((x) => x === Number.NEGATIVE_INFINITY)).toBe(true);
  });

  it('gradients of q, k, v, bias and lse', async () => {
    const q = rand([2, 3, 2, 2], 31);
    const k = rand([2, 4, 1, 2], 32);
    const v = rand([2, 4, 1, 3], 33);
    await checkGradients((a, b, c) => sdpa(a, b, c), [q, k, v]);
    await checkGradients(
      (a, b, c, bias) => sdpa(a, b, c, { bias, causal: true }),
      [q, k, v, rand([2, 3, 4], 34)],
    );
    await checkGradients(
      (a, b, c, bias) => sdpa(a, b, c, { bias, scale: 0.7 }),
      [q, k, v, rand([2, 1, 1, 4], 35)],
    );
    // A fully masked row (query 1 of every head) gets no gradient, and does not disturb the others.
    const mask = tensor(
      [
        [1, 0, 1, 1],
        [0, 0, 0, 0],
        [0, 1, 1, 0],
      ],
      { dtype: 'bool', backend },
    );
    await checkGradients((a, b, c, m) => sdpa(a, b, c, { mask: m }), [q, k, v, mask]);
    // A bias that is a constant (no gradient wanted) takes the path without dbias.
    await checkGradients(
      (a, b, c, bias) => sdpa(a, b, c, { bias, causal: true }),
      [q, k, v, rand([3, 4], 36)],
      {
        wrt: [0, 1, 2],
      },
    );
    // Gradient through lse as well as out.
    await checkGradients(
      (a, b, c) => {
        const { out, lse } = sdpa(a, b, c, { returnLse: true, causal: true });
        return add(sum(out, { axis: -1 }), mul(lse, lse));
      },
      [q, k, v],
    );
    // Two token axes.
    await checkGradients(
      (a, b, c) => sdpa(a, b, c, { causal: true }),
      [rand([1, 2, 2, 1, 2], 37), rand([1, 2, 2, 1, 2], 38), rand([1, 2, 2, 1, 2], 39)],
    );
  });

  it('backward matches the composed reference', async () => {
    const q = rand([1, 3, 2, 2], 40).setRequiresGrad();
    const k = rand([1, 4, 1, 2], 41).setRequiresGrad();
    const v = rand([1, 4, 1, 2], 42).setRequiresGrad();
    const bias = rand([2, 3, 4], 43).setRequiresGrad();
    const w = rand([1, 3, 2, 2], 44);
    const grads = (f: () => Tensor, leaves: Tensor[], weight: Tensor) => {
      for (const t of leaves) t.grad = null;
      sum(mul(f(), weight)).backward();
      return leaves.map((t) => t.grad!);
    };
    // The reference's gradients come from autograd through the composed ops, on CPU copies of the inputs.
    const [qc, kc, vc, bc, wc] = await Promise.all([q, k, v, bias, w].map(onCpu));
    for (const t of [qc, kc, vc, bc]) t.setRequiresGrad();
    const mask = tensor([1, 0, 1, 1], { dtype: 'bool', backend });
    const maskCpu = await onCpu(mask);
    for (const causal of [false, true]) {
      const got = grads(
        () => sdpa(q, k, v, { bias, causal, mask: causal ? mask : undefined }),
        [q, k, v, bias],
        w,
      );
      const want = grads(
        () => refSdpa(qc, kc, vc, { bias: bc, causal, mask: causal ? maskCpu : undefined }).out,
        [qc, kc, vc, bc],
        wc,
      );
      for (let i = 0; i < 4; i++) await assertClose(got[i], want[i]);
    }
  });

  it('frees its temporaries', async () => {
    const q = rand([1, 3, 2, 2], 50).setRequiresGrad();
    const kv = rand([1, 3, 1, 2], 51);
    const mask = bools([3, 3], 52);
    const bias = zeros([3], { backend });
    const before = memory(backend);
    sdpa(q, kv, kv, { mask }).dispose();
    const r = sdpa(q, kv, kv, { returnLse: true, bias });
    tidy(() => add(sum(r.out), sum(r.lse)).backward());
    r.out.dispose();
    r.lse.dispose();
    q.grad!.dispose();
    q.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('types the lse overload', async () => {
    const q = rand([1, 2, 1, 2], 46);
    const plain: Tensor = sdpa(q, q, q, { causal: true });
    const both: { out: Tensor; lse: Tensor } = sdpa(q, q, q, { returnLse: true });
    expect(plain.shape).toEqual([1, 2, 1, 2]);
    expect(both.lse.shape).toEqual([1, 2, 1]);
  });

  it('rejects bad arguments', async () => {
    const q = rand([2, 3, 4, 2], 47);
    const k = rand([2, 5, 2, 2], 48);
    const v = rand([2, 5, 2, 3], 49);
    expect(() => sdpa(rand([3, 2], 1), k, v)).toThrow(
      /sdpa: q must be a tensor \[batch, \.\.\.tokenAxes, heads, headDim\] with at least one token axis, got \[3, 2\]/,
    );
    expect(() => sdpa(q, rand([1, 5, 2, 2], 1), v)).toThrow(/sdpa: k must be batch 2 like q/);
    expect(() => sdpa(q, rand([2, 5, 3, 2], 1), rand([2, 5, 3, 3], 2))).toThrow(
      /sdpa: k must be a number of heads dividing q's 4, got 3 heads/,
    );
    expect(() => sdpa(q, rand([2, 5, 2, 3], 1), v)).toThrow(/sdpa: k must be headDim 2 like q/);
    expect(() => sdpa(q, k, rand([2, 4, 2, 3], 1))).toThrow(
      /sdpa: v must be of shape \[2, 5, 2, valueDim\] like k, got \[2, 4, 2, 3\]/,
    );
    expect(() => sdpa(tensor([[[[1]]]], { dtype: 'int32', backend }), k, v)).toThrow(
      /sdpa: q must be a float32 or float64 tensor, got int32/,
    );
    expect(() => sdpa(q, k, v, { mask: zeros([3, 5], { backend }) })).toThrow(
      /sdpa: mask must be a bool tensor, got float32/,
    );
    expect(() => sdpa(q, k, v, { mask: bools([4, 4, 5], 1) })).toThrow(
      /sdpa: mask must be broadcastable to \[batch, heads, nq, nk\] = \[2, 4, 3, 5\], got \[4, 4, 5\]/,
    );
    expect(() => sdpa(q, k, v, { mask: bools([1, 2, 4, 3, 5], 1) })).toThrow(
      /sdpa: mask must be broadcastable/,
    );
    expect(() => sdpa(q, k, v, { bias: bools([3, 5], 1) })).toThrow(
      /sdpa: bias must be float32 like q, got bool/,
    );
    expect(() => sdpa(q, k, v, { bias: rand([3, 4], 1) })).toThrow(/sdpa: bias must be broadcastable/);
    expect(() => sdpa(q, k, v, { scale: Number.NaN })).toThrow(
      /sdpa: scale must be a finite number, got NaN/,
    );
  });
});
