import { describe, expect, it } from 'vitest';
import {
  einsum,
  getKernel,
  type KernelDef,
  matmul,
  memory,
  mul,
  randomNormal,
  registerKernel,
  slice,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  unsqueeze,
  zeros,
} from '../../src/index.js';
import {
  assertClose,
  backendsUnderTest,
  checkGradients,
  expectValues,
  readItem,
} from '../../src/testing/index.js';
import { cpuUnderTest, onCpu } from '../helpers.js';

/** Independent matmul: broadcast multiply `a[..., m, k, 1] * b[..., 1, k, n]` and sum over k. */
const refMatmul = (a: Tensor, b: Tensor) => sum(mul(unsqueeze(a, -1), unsqueeze(b, -3)), { axis: -2 });

/** Counts the `contiguous` copies `fn` causes on `backend`. */
function countCopies(backend: string, fn: () => void): number {
  const original = getKernel('contiguous', backend) as KernelDef;
  let copies = 0;
  registerKernel({
    ...original,
    run: (inputs, attrs) => {
      copies++;
      return original.run(inputs, attrs);
    },
  });
  try {
    fn();
  } finally {
    registerKernel(original);
  }
  return copies;
}

/**
 * Einsum by brute force over every assignment of the labels (explicit output, letters only): the oracle for
 * `einsum`, sharing no code with it.
 */
function naiveEinsum(eq: string, xs: { data: ArrayLike<number>; shape: readonly number[] }[]): number[] {
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((l, j) => size.set(l, xs[i].shape[j])));
  const labels = [...size.keys()];
  const outSize = [...rhs].reduce((n, l) => n * size.get(l)!, 1);
  const out = new Array<number>(outSize).fill(0);
  const val = new Map<string, number>(labels.map((l) => [l, 0]));
  const flat = (ls: string, shape: readonly number[]) =>
    [...ls].reduce((o, l, j) => o * (shape[j] ?? size.get(l)!) + val.get(l)!, 0);
  const visit = (d: number) => {
    if (d === labels.length) {
      let p = 1;
      terms.forEach((t, i) => {
        p *= xs[i].data[flat(t, xs[i].shape)];
      });
      out[flat(rhs, [])] += p;
      return;
    }
    for (let v = 0; v < size.get(labels[d])!; v++) {
      val.set(labels[d], v);
      visit(d + 1);
    }
  };
  visit(0);
  return out;
}

describe.each(backendsUnderTest())('matmul on %s', (backend) => {
  const rand = (shape: number[], seed: number) => randomNormal(shape, { seed, backend });

  it('multiplies matrices (hand-computed)', async () => {
    const a = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { backend },
    );
    const b = tensor(
      [
        [5, 6],
        [7, 8],
      ],
      { backend },
    );
    await expectValues(matmul(a, b), [
      [19, 22],
      [43, 50],
    ]);
    const c = tensor([[1, 0, 2]], { backend });
    const d = tensor([[1], [2], [3]], { backend });
    await expectValues(matmul(c, d), [[7]]);
    await expectValues(matmul(d, c), [
      [1, 0, 2],
      [2, 0, 4],
      [3, 0, 6],
    ]);
  });

  it('promotes 1-D operands as torch.matmul', async () => {
    const v = tensor([1, 2, 3], { backend });
    const m = tensor(
      [
        [1, 0, 1],
        [0, 1, 0],
      ],
      { backend },
    );
    const dot = matmul(v, v);
    expect(dot.shape).toEqual([]);
    expect(await readItem(dot)).toBe(14);
    await expectValues(matmul(m, v), [4, 2]);
    await expectValues(matmul(tensor([1, 2], { backend }), m), [1, 2, 1]);
    const batched = tensor([[[1, 1, 1]], [[0, 0, 2]]], { backend });
    await expectValues(matmul(batched, v), [[6], [6]]);
    await expectValues(matmul(v, transpose(batched)), [[6], [6]]);
  });

  it('broadcasts batch axes', async () => {
    const a = rand([2, 1, 3, 4], 1);
    const b = rand([5, 4, 2], 2);
    const y = matmul(a, b);
    expect(y.shape).toEqual([2, 5, 3, 2]);
    await assertClose(y, refMatmul(a, b));
    await assertClose(
      matmul(rand([3, 4], 3), rand([2, 2, 4, 5], 4)),
      refMatmul(rand([3, 4], 3), rand([2, 2, 4, 5], 4)),
    );
  });

  it('reads transposed views without copying them', async () => {
    const a = rand([2, 3, 4], 5);
    const b = rand([2, 5, 4], 6);
    const at = rand([2, 4, 3], 7);
    let y!: Tensor;
    let y2!: Tensor;
    let y3!: Tensor;
    const copies = countCopies(backend, () => {
      y = matmul(a, transpose(b));
      y2 = matmul(transpose(at), transpose(b));
      y3 = matmul(transpose(at), at);
    });
    expect(copies).toBe(0);
    await assertClose(y, refMatmul(a, transpose(b)));
    await assertClose(y2, refMatmul(transpose(at), transpose(b)));
    await assertClose(y3, refMatmul(transpose(at), at));
    // Other strided views are copied, and still right.
    const stepped = slice(rand([5, 4], 8), [[0, 5, 2]]);
    await assertClose(matmul(stepped, rand([4, 2], 9)), refMatmul(stepped, rand([4, 2], 9)));
  });

  it('is right at sizes that are not multiples of the tile sizes', async () => {
    // The oracle runs on the CPU: the same broadcast-multiply-sum, on the CPU copies of the operands.
    for (const [aShape, bShape] of [
      [
        [33, 17],
        [17, 65],
      ],
      [
        [1, 1],
        [1, 1],
      ],
      [
        [2, 31, 45],
        [45, 33],
      ],
      [
        [3, 1, 65, 7],
        [2, 7, 97],
      ],
    ]) {
      const a = rand(aShape, aShape[0]);
      const b = rand(bShape, bShape[1]);
      await assertClose(matmul(a, b), refMatmul(await onCpu(a), await onCpu(b)));
    }
  });

  it('handles empty axes', async () => {
    const y = matmul(zeros([2, 0], { backend }), zeros([0, 3], { backend }));
    await expectValues(y, [
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(matmul(zeros([0, 2], { backend }), zeros([2, 3], { backend })).shape).toEqual([0, 3]);
  });

  it('gradients', async () => {
    // Off the CPU every matmul shape compiles its own WGSL pipeline (1-2 s each on SwiftShader), and the
    // forward tests above already cover the shapes: there, one case per path of the vjp (batch broadcasting
    // summed back, 1-D operands, transposed views, one operand constant) keeps the run short.
    const every = backend === 'cpu';
    if (every) await checkGradients(matmul, [rand([3, 2], 10), rand([2, 4], 11)]);
    await checkGradients(matmul, [rand([2, 1, 3, 2], 12), rand([3, 2, 1], 13)]);
    if (every) await checkGradients(matmul, [rand([3], 14), rand([2, 3, 2], 15)]);
    await checkGradients(matmul, [rand([2, 2, 3], 16), rand([3], 17)]);
    if (every) await checkGradients(matmul, [rand([3], 18), rand([3], 19)]);
    await checkGradients(
      (a, b) => matmul(transpose(a), transpose(b)),
      [rand([2, 3, 2], 20), rand([1, 4, 3], 21)],
    );
    if (every) await checkGradients((a) => matmul(a, transpose(a)), [rand([3, 2], 22)]);
    // Only one operand needing a gradient.
    const constA = rand([2, 3], 23);
    await checkGradients((b, c) => matmul(c, b), [rand([2, 3, 2], 24), constA], { wrt: [0] });
    if (every)
      await checkGradients((a, c) => matmul(a, transpose(c)), [rand([4, 3], 25), constA], { wrt: [0] });
  });

  it('frees its temporaries', async () => {
    const a = rand([2, 3], 26).setRequiresGrad();
    const v = rand([3], 27);
    const sq = rand([3, 3], 28);
    const before = memory(backend);
    matmul(a, v).dispose();
    einsum('ij,j->i', a, v).dispose();
    einsum('ii->i', sq).dispose();
    tidy(() => sum(einsum('ij,kj->ik', a, a)).backward());
    a.grad!.dispose();
    a.grad = null;
    expect(memory(backend)).toEqual(before);
  });

  it('rejects bad arguments', async () => {
    const m = rand([2, 3], 23);
    expect(() => matmul(tensor(1, { backend }), m)).toThrow(
      /matmul: a must be a tensor with at least 1 axis/,
    );
    expect(() => matmul(m, rand([2, 3], 24))).toThrow(/matmul: b must be a tensor with 3 rows/);
    expect(() => matmul(rand([2, 2, 3], 1), rand([3, 3, 1], 2))).toThrow(
      /matmul: shapes must be broadcastable/,
    );
    expect(() => matmul(tensor([[1]], { dtype: 'int32', backend }), m)).toThrow(
      /matmul: a must be a float32/,
    );
  });
});

describe.each(backendsUnderTest())('einsum on %s', (backend) => {
  const rand = (shape: number[], seed: number) => randomNormal(shape, { seed, backend });
  const check = async (eq: string, ...xs: Tensor[]) => {
    const expected = naiveEinsum(
      eq,
      await Promise.all(xs.map(async (x) => ({ data: await x.data(), shape: x.shape }))),
    );
    const y = einsum(eq, ...xs);
    await assertClose(y, expected);
    return y;
  };

  it('matches a brute-force sum over labels', async () => {
    const a = rand([2, 3], 1);
    const b = rand([3, 4], 2);
    // The planning of an equation is the same on every backend; off the CPU (a pipeline compile per matmul
    // shape, slow on SwiftShader) the equations that reach each kernel combination run: a contraction, a sum,
    // a batched contraction with a transposed operand, a chain, diagonals.
    const every = backend === 'cpu';
    expect((await check('ij,jk->ik', a, b)).shape).toEqual([2, 4]);
    if (every) await check('ij,jk->ki', a, b);
    if (every) await check('ij->ji', a);
    if (every) await check('ij->', a);
    await check('ij->j', a);
    if (every) await check('i,j->ij', rand([3], 3), rand([2], 4));
    if (every) await check('i,i->', rand([3], 3), rand([3], 5));
    await check('bhqd,bhkd->bhqk', rand([2, 2, 3, 4], 6), rand([2, 2, 5, 4], 7));
    await check('ij,jk,kl->il', a, b, rand([4, 2], 8));
    if (every) await check('ij,jk,ik->ij', a, b, rand([2, 4], 9));
    if (every) await check('abc,cd,ad->bd', rand([2, 3, 2], 10), rand([2, 3], 11), rand([2, 3], 12));
    await check('ii->i', rand([3, 3], 13));
    if (every) await check('ii->', rand([3, 3], 14));
    await check('iij,jk->ik', rand([2, 2, 3], 15), rand([3, 2], 16));
  });

  it('implicit output: labels used once, in alphabetical order', async () => {
    const a = rand([2, 3], 1);
    const b = rand([3, 4], 2);
    await assertClose(
      einsum('ij,jk', a, b),
      naiveEinsum('ij,jk->ik', [
        { data: await a.data(), shape: a.shape },
        { data: await b.data(), shape: b.shape },
      ]),
    );
    expect(einsum('ba', a).shape).toEqual([3, 2]);
    await assertClose(einsum('ba', a), transpose(a));
    const m = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { backend },
    );
    expect(await readItem(einsum('ii', m))).toBe(5);
    await expectValues(einsum('ii->i', m), [1, 4]);
  });

  it('ellipsis and size-1 broadcasting', async () => {
    const a = rand([2, 1, 2, 3], 1);
    const b = rand([4, 3, 2], 2);
    const y = einsum('...ij,...jk->...ik', a, b);
    expect(y.shape).toEqual([2, 4, 2, 2]);
    await assertClose(y, refMatmul(a, b));
    await assertClose(einsum('...ij,...jk', a, b), y);
    // Ellipsis axes left out of an explicit output are summed.
    await assertClose(einsum('...ij->ij', a), sum(a, { axis: [0, 1] }));
    const r = rand([1, 3], 3);
    const c = rand([2, 3], 4);
    await assertClose(einsum('ij,ij->ij', r, c), mul(r, c));
    await assertClose(einsum('ij,ij->i', r, c), sum(mul(r, c), { axis: 1 }));
  });

  it('contracts attention-style layouts without copies', async () => {
    const q = rand([2, 2, 3, 4], 1);
    const k = rand([2, 2, 5, 4], 2);
    let y!: Tensor;
    expect(countCopies(backend, () => (y = einsum('bhqd,bhkd->bhqk', q, k)))).toBe(0);
    await assertClose(y, refMatmul(q, transpose(k)));
  });

  it('gradients', async () => {
    // As for matmul: off the CPU (a pipeline compile per matmul shape), the cases whose gradients take paths
    // the others do not (a diagonal, ellipsis broadcasting, a summed label).
    const every = backend === 'cpu';
    if (every)
      await checkGradients((a, b) => einsum('bij,bjk->bik', a, b), [rand([2, 2, 3], 1), rand([2, 3, 2], 2)]);
    if (every)
      await checkGradients(
        (a, b, c) => einsum('ij,jk,kl->il', a, b, c),
        [rand([2, 3], 3), rand([3, 2], 4), rand([2, 3], 5)],
      );
    await checkGradients((a) => einsum('ii->i', a), [rand([3, 3], 6)]);
    if (every) await checkGradients((a, b) => einsum('i,j->ij', a, b), [rand([3], 7), rand([2], 8)]);
    await checkGradients((a, b) => einsum('...ij,...jk', a, b), [rand([2, 1, 2, 3], 9), rand([2, 3, 1], 10)]);
    await checkGradients((a, b) => einsum('ij,ij->j', a, b), [rand([1, 3], 11), rand([2, 3], 12)]);
  });

  it('rejects bad equations and operands', async () => {
    const a = rand([2, 3], 1);
    expect(() => einsum('ij,jk->ik', a)).toThrow(/einsum: operands must be 2 tensors/);
    expect(() => einsum('ijk->i', a)).toThrow(/einsum: operand 0 must be 3 axes/);
    expect(() => einsum('ij,ij->i', a, rand([3, 3], 2))).toThrow(
      /einsum: operand 1 must be size 2 \(or 1\) for label 'i', got 3/,
    );
    expect(() => einsum('i1->i', a)).toThrow(/einsum: equation must be letters/);
    expect(() => einsum('ij->k', a)).toThrow(
      /einsum: equation must be output labels that appear in an input/,
    );
    expect(() => einsum('ij->ii', a)).toThrow(/einsum: equation must be each output label at most once/);
    expect(() => einsum('ii->i', a)).toThrow(
      /einsum: operand 0 must be size 2 \(or 1\) for label 'i', got 3/,
    );
    expect(() => einsum('ii->i', rand([1, 3], 2))).toThrow(
      /einsum: operand 0 must be equal sizes on the axes of repeated label 'i'/,
    );
    expect(() => einsum('ij->i->j', a)).toThrow(/einsum: equation must be at most one '->'/);
    expect(() => einsum('i', tensor([1], { dtype: 'int32', backend }))).toThrow(
      /einsum: operand 0 must be a float32/,
    );
    expect(() => einsum('......i', a)).toThrow(/einsum: equation must be at most one '...'/);
  });
});

describe.runIf(cpuUnderTest)('matmul with float64 (CPU only)', () => {
  it('refuses mixed float dtypes', () => {
    const m = randomNormal([2, 3], { seed: 23, backend: 'cpu' });
    expect(() => matmul(m, tensor([[1], [2], [3]], { dtype: 'float64', backend: 'cpu' }))).toThrow(
      /matmul: b must be float32 like a, got float64/,
    );
  });
});
