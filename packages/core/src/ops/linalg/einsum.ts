import { isFloat } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../errors.js';
import { sizeOf } from '../../shape.js';
import { eye } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { mul } from '../elementwise/binary.js';
import { sum } from '../reduce/reduce.js';
import { permute, reshape, squeeze, transpose } from '../views/views.js';
import { matmul } from './matmul.js';

/** A tensor with one label per axis. Ellipsis axes get labels `'0'`, `'1'`, ... (by broadcast position). */
interface Labeled {
  t: Tensor;
  labels: string[];
}

const LETTER = /^[a-zA-Z]$/;

/** Splits one side of the equation into letters, with `'...'` kept as one token. */
function tokens(term: string, what: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith('...', i)) {
      if (out.includes('...'))
        throw new ValueError('einsum', 'equation', `at most one '...' per ${what}`, JSON.stringify(term));
      out.push('...');
      i += 2;
    } else if (LETTER.test(term[i])) {
      out.push(term[i]);
    } else {
      throw new ValueError('einsum', 'equation', 'letters, "...", "," and "->"', JSON.stringify(term[i]));
    }
  }
  return out;
}

/** Labels of an operand's axes, with its ellipsis expanded to `ellRank` right-aligned positions. */
function expandLabels(toks: string[], rank: number, ellRank: number, i: number): string[] {
  const explicit = toks.filter((t) => t !== '...').length;
  const hasEll = toks.includes('...');
  if (hasEll ? rank < explicit : rank !== explicit) {
    throw new ShapeError(
      'einsum',
      `operand ${i}`,
      `${hasEll ? 'at least ' : ''}${explicit} axes for subscripts ${JSON.stringify(toks.join(''))}`,
      `${rank} axes`,
    );
  }
  const e = rank - explicit;
  const out: string[] = [];
  for (const t of toks) {
    if (t === '...') for (let d = 0; d < e; d++) out.push(String(ellRank - e + d));
    else out.push(t);
  }
  return out;
}

/** Takes the diagonal of every repeated label (`'ii' -> 'i'`) by masking with an identity and summing. */
function diagonalize(op: Labeled, i: number): Labeled {
  let { t, labels } = op;
  for (;;) {
    const q = labels.findIndex((l, j) => labels.indexOf(l) !== j);
    if (q < 0) return { t, labels };
    const p = labels.indexOf(labels[q]);
    if (t.shape[p] !== t.shape[q]) {
      throw new ShapeError(
        'einsum',
        `operand ${i}`,
        `equal sizes on the axes of repeated label '${labels[q]}'`,
        fmtShape(t.shape),
      );
    }
    const n = t.shape[p];
    const maskShape = t.shape.map((d, j) => (j === p || j === q ? d : 1));
    const mask = reshape(eye(n, n, { dtype: t.dtype, backend: t.backend.name }), maskShape);
    t = sum(mul(t, mask), { axis: q });
    labels = labels.filter((_, j) => j !== q);
  }
}

/** Sums away the axes of `op` whose labels are not in `keep`. */
function reduceTo(op: Labeled, keep: (l: string) => boolean): Labeled {
  const axes = op.labels.map((l, j) => (keep(l) ? -1 : j)).filter((j) => j >= 0);
  if (axes.length === 0) return op;
  return { t: sum(op.t, { axis: axes }), labels: op.labels.filter((l) => keep(l)) };
}

/** Contracts two labelled operands with one batched matmul, keeping the labels in `keep`. */
function contract(x: Labeled, y: Labeled, keep: Set<string>, size: Map<string, number>): Labeled {
  const xr = reduceTo(x, (l) => keep.has(l) || y.labels.includes(l));
  const yr = reduceTo(y, (l) => keep.has(l) || xr.labels.includes(l));
  const both = xr.labels.filter((l) => yr.labels.includes(l));
  const batch = both.filter((l) => keep.has(l));
  const inner = both.filter((l) => !keep.has(l));
  const left = xr.labels.filter((l) => !both.includes(l));
  const right = yr.labels.filter((l) => !both.includes(l));
  const prod = (ls: string[]) => sizeOf(ls.map((l) => size.get(l)!));
  // Packs `op` as a [batch, first, second] matrix stack. matmul reads a transposed view without a copy, so
  // each operand is packed in the order closest to its own (free labels before contracted ones, or after):
  // 'bhkd' in 'bhqd,bhkd->bhqk' then needs no copy at all.
  const stack = (op: Labeled, first: string[], second: string[]) =>
    reshape(
      permute(
        op.t,
        [...batch, ...first, ...second].map((l) => op.labels.indexOf(l)),
      ),
      [prod(batch), prod(first), prod(second)],
    );
  const precedes = (op: Labeled, p: string[], q: string[]) =>
    p.length > 0 && q.length > 0 && op.labels.indexOf(p[0]) < op.labels.indexOf(q[0]);
  const a = precedes(xr, inner, left) ? transpose(stack(xr, inner, left)) : stack(xr, left, inner);
  const b = precedes(yr, right, inner) ? transpose(stack(yr, right, inner)) : stack(yr, inner, right);
  const labels = [...batch, ...left, ...right];
  return {
    t: reshape(
      matmul(a, b),
      labels.map((l) => size.get(l)!),
    ),
    labels,
  };
}

/**
 * Einstein summation, as `torch.einsum`: `einsum('bij,bjk->bik', a, b)`. Labels are letters; `'...'` stands
 * for broadcast axes; without `'->'` the output has the ellipsis axes, then the labels used once, in
 * alphabetical order. A label repeated within an operand takes its diagonal (`'ii->i'`, trace `'ii->'`).
 * Axes of size 1 broadcast against other operands; ellipsis axes left out of an explicit output are summed.
 * Computed by pairwise batched matmuls (left to right) and sums, so it is differentiable and runs on every
 * backend.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (typeof equation !== 'string') throw new ValueError('einsum', 'equation', 'a string', typeof equation);
  if (operands.length === 0) throw new ValueError('einsum', 'operands', 'at least one tensor', 'none');
  operands.forEach((t, i) => t.assertAlive('einsum', `operand ${i}`));
  const dtype = operands[0].dtype;
  if (!isFloat(dtype)) throw new DTypeError('einsum', 'operand 0', 'a float32 or float64 tensor', dtype);
  operands.forEach((t, i) => {
    if (t.dtype !== dtype) throw new DTypeError('einsum', `operand ${i}`, `${dtype} like operand 0`, t.dtype);
  });
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  if (arrow >= 0 && eq.indexOf('->', arrow + 1) >= 0)
    throw new ValueError('einsum', 'equation', "at most one '->'", JSON.stringify(equation));
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(',');
  if (terms.length !== operands.length) {
    throw new ValueError(
      'einsum',
      'operands',
      `${terms.length} tensors for ${JSON.stringify(equation)}`,
      `${operands.length}`,
    );
  }
  const inToks = terms.map((t) => tokens(t, 'operand'));
  const ellRank = Math.max(
    0,
    ...inToks.map((tk, i) =>
      tk.includes('...') ? operands[i].rank - tk.filter((x) => x !== '...').length : 0,
    ),
  );
  const labelled = inToks.map((tk, i) => ({
    t: operands[i],
    labels: expandLabels(tk, operands[i].rank, ellRank, i),
  }));

  // Each label's size: operands must agree, except that size 1 broadcasts.
  const size = new Map<string, number>();
  labelled.forEach(({ t, labels }, i) => {
    labels.forEach((l, j) => {
      const d = t.shape[j];
      const s = size.get(l);
      if (s === undefined || s === 1) size.set(l, d);
      else if (d !== s && d !== 1) {
        const name = /\d/.test(l) ? `ellipsis axis ${l}` : `label '${l}'`;
        throw new ShapeError('einsum', `operand ${i}`, `size ${s} (or 1) for ${name}`, `${d}`);
      }
    });
  });

  const ellLabels = Array.from({ length: ellRank }, (_, d) => String(d));
  let outLabels: string[];
  if (arrow >= 0) {
    const outToks = tokens(eq.slice(arrow + 2), 'output');
    outLabels = outToks.flatMap((t) => (t === '...' ? ellLabels : [t]));
    for (const l of outLabels) {
      if (!size.has(l))
        throw new ValueError('einsum', 'equation', `output labels that appear in an input`, `'${l}'`);
    }
    if (new Set(outLabels).size !== outLabels.length) {
      throw new ValueError('einsum', 'equation', 'each output label at most once', JSON.stringify(equation));
    }
  } else {
    const count = new Map<string, number>();
    for (const { labels } of labelled) for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([l, c]) => c === 1 && LETTER.test(l)).map(([l]) => l);
    outLabels = [...ellLabels, ...once.sort()];
  }

  return tidy(() => {
    // An axis of size 1 where the label is larger elsewhere is constant along it: drop it (broadcasting).
    // Every output label then survives in some operand, and contractions keep it.
    const ops = labelled.map((op, i) => {
      const d = diagonalize(op, i);
      const drop = d.labels.map((l, j) => (d.t.shape[j] === 1 && size.get(l)! !== 1 ? j : -1));
      const axes = drop.filter((j) => j >= 0);
      if (axes.length === 0) return d;
      return { t: squeeze(d.t, axes), labels: d.labels.filter((_, j) => !axes.includes(j)) };
    });
    const out = new Set(outLabels);
    let acc = reduceTo(ops[0], (l) => out.has(l) || ops.slice(1).some((o) => o.labels.includes(l)));
    for (let i = 1; i < ops.length; i++) {
      const later = new Set([...outLabels, ...ops.slice(i + 1).flatMap((o) => o.labels)]);
      acc = contract(acc, ops[i], later, size);
    }
    return permute(
      acc.t,
      outLabels.map((l) => acc.labels.indexOf(l)),
    );
  });
}
