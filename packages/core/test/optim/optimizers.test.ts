import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  cpuBackend,
  fallbackStats,
  getBackend,
  getKernel,
  Linear,
  manualSeed,
  memory,
  moveTensor,
  mseLoss,
  mul,
  registerBackend,
  registerKernel,
  removeBackend,
  SGD,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '../../src/index.js';

/** loss = Σ c·p², so grad = 2·c·p: sets p.grad like backward would. */
function quadraticGrad(p: Tensor, c: number[]): void {
  tidy(() => sum(mul(mul(p, p), tensor(c, { dtype: p.dtype, backend: p.backend.name }))).backward());
}

function run(opt: { step(): void; zeroGrad(): void }, p: Tensor, c: number[], steps: number): number[] {
  for (let i = 0; i < steps; i++) {
    quadraticGrad(p, c);
    opt.step();
    opt.zeroGrad();
  }
  return Array.from(p.dataSync());
}

/** torch.optim.AdamW/Adam's single-tensor update, written out on numbers. */
function adamReference(
  p0: number[],
  c: number[],
  steps: number,
  h: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; amsgrad?: boolean },
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const vmax = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < p.length; i++) {
      let g = 2 * c[i] * p[i];
      if (h.decoupled) p[i] *= 1 - h.lr * h.wd;
      else g += h.wd * p[i];
      m[i] = m[i] + (g - m[i]) * (1 - h.b1);
      v[i] = h.b2 * v[i] + (1 - h.b2) * g * g;
      vmax[i] = Math.max(vmax[i], v[i]);
      const second = h.amsgrad ? vmax[i] : v[i];
      const denom = Math.sqrt(second) / Math.sqrt(1 - h.b2 ** t) + h.eps;
      p[i] -= (h.lr / (1 - h.b1 ** t)) * (m[i] / denom);
    }
  }
  return p;
}

describe('AdamW', () => {
  it('first step by hand: p·(1 - lr·wd) - lr·g/(|g| + eps)', () => {
    const p = tensor([1, -2], { dtype: 'float64' }).setRequiresGrad();
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.01 });
    // g = 2·[1, 0.5]·[1, -2] = [2, -2]; m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps).
    const [a, b] = run(opt, p, [1, 0.5], 1);
    expect(a).toBeCloseTo(1 * 0.999 - (0.1 * 2) / (2 + 1e-8), 12);
    expect(b).toBeCloseTo(-2 * 0.999 + (0.1 * 2) / (2 + 1e-8), 12);
    expect(a).toBeCloseTo(0.899, 7);
  });

  it('matches the reference loop over 3 steps', () => {
    const p = tensor([0.5, -1.5], { dtype: 'float64' }).setRequiresGrad();
    const opt = new AdamW([p], { lr: 0.05, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1 });
    const got = run(opt, p, [1, 3], 3);
    const want = adamReference([0.5, -1.5], [1, 3], 3, {
      lr: 0.05,
      b1: 0.8,
      b2: 0.95,
      eps: 1e-6,
      wd: 0.1,
      decoupled: true,
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    // Defaults are torch's.
    expect(opt.defaults.decoupledWeightDecay).toBe(true);
    expect(new AdamW([p]).defaults).toMatchObject({
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
    });
  });

  it('amsgrad matches the reference loop', () => {
    const p = tensor([2, -1], { dtype: 'float64' }).setRequiresGrad();
    const opt = new AdamW([p], { lr: 0.3, amsgrad: true });
    const got = run(opt, p, [1, 2], 6);
    const want = adamReference([2, -1], [1, 2], 6, {
      lr: 0.3,
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      wd: 0.01,
      decoupled: true,
      amsgrad: true,
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
  });

  it('Adam adds weight decay to the gradient instead', () => {
    const p = tensor([0.5, -1.5], { dtype: 'float64' }).setRequiresGrad();
    const opt = new Adam([p], { lr: 0.05, weightDecay: 0.1 });
    const got = run(opt, p, [1, 3], 3);
    const want = adamReference([0.5, -1.5], [1, 3], 3, {
      lr: 0.05,
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      wd: 0.1,
      decoupled: false,
    });
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    expect(new Adam([p]).defaults.weightDecay).toBe(0);
  });

  it('keeps torch state names and a step count', () => {
    const p = tensor([1, 2]).setRequiresGrad();
    const opt = new AdamW([p]);
    run(opt, p, [1, 1], 2);
    const sd = opt.stateDict();
    const s = sd.state.get(0)!;
    expect(Object.keys(s).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    expect(s.step).toBe(2);
    expect(sd.paramGroups[0]).toMatchObject({ lr: 1e-3, params: [0] });
    opt.dispose();
  });

  it('checks hyperparameters', () => {
    const p = tensor([1]).setRequiresGrad();
    expect(() => new AdamW([p], { lr: -1 })).toThrow(/AdamW: lr must be a finite number >= 0, got -1/);
    expect(() => new AdamW([p], { betas: [1, 0.9] })).toThrow(
      /AdamW: betas\[0\] must be a number in \[0, 1\)/,
    );
    expect(() => new Adam([p], { eps: Number.NaN })).toThrow(/Adam: eps must be/);
    expect(() => new AdamW([])).toThrow(/AdamW: params must be a non-empty list/);
  });
});

describe('Adam backends', () => {
  // The CPU runs the fused 'optim.adamStep' kernel; a backend without one gets the op-by-op update, and a
  // backend that registers the kernel gets it called.
  const cases = [
    { opts: { lr: 0.05, betas: [0.8, 0.95] as const, eps: 1e-6, weightDecay: 0.1 }, decoupled: true },
    { opts: { lr: 0.3, amsgrad: true }, decoupled: true },
    { opts: { lr: 0.05, weightDecay: 0.1, decoupledWeightDecay: false, maximize: true }, decoupled: false },
  ];

  it('op-by-op update on a backend without the fused kernel matches the reference', () => {
    registerBackend({ ...cpuBackend, name: 'plain' }, -1);
    try {
      for (const { opts, decoupled } of cases) {
        const p = tensor([0.5, -1.5], { dtype: 'float64', backend: 'plain' }).setRequiresGrad();
        const opt = new AdamW([p], opts);
        fallbackStats.reset();
        const got = run(opt, p, [1, 3], 3);
        expect(fallbackStats.names.has('optim.adamStep')).toBe(false);
        expect(fallbackStats.names.has('sqrt')).toBe(true);
        const {
          lr,
          betas = [0.9, 0.999],
          eps = 1e-8,
        } = opts as { lr: number; betas?: readonly number[]; eps?: number };
        const wd = (opts as { weightDecay?: number }).weightDecay ?? 0.01;
        const sign = (opts as { maximize?: boolean }).maximize ? -1 : 1;
        const want = adamReference([0.5, -1.5], [sign, 3 * sign], 3, {
          lr,
          b1: betas[0],
          b2: betas[1],
          eps,
          wd,
          decoupled,
          amsgrad: (opts as { amsgrad?: boolean }).amsgrad,
        });
        got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
        expect(p.backend.name).toBe('plain');
      }
    } finally {
      removeBackend('plain');
    }
  });

  it('a backend that registers the fused kernel gets it', () => {
    registerBackend({ ...cpuBackend, name: 'fused' }, -1);
    const cpuKernel = getKernel('optim.adamStep', 'cpu')!;
    let calls = 0;
    // Its storage is a typed array too, so the CPU kernel can run; the outputs are moved over.
    registerKernel({
      ...cpuKernel,
      backend: 'fused',
      run: (inputs, attrs) => {
        calls++;
        return cpuKernel.run(inputs, attrs).map((o) => {
          const moved = moveTensor(o, getBackend('fused'));
          o.dispose();
          return moved;
        });
      },
    });
    try {
      const p = tensor([1, 2], { backend: 'fused' }).setRequiresGrad();
      run(new AdamW([p]), p, [1, 1], 2);
      expect(calls).toBe(2);
    } finally {
      removeBackend('fused');
    }
  });
});

describe('SGD', () => {
  function sgdReference(
    p0: number[],
    c: number[],
    steps: number,
    h: { lr: number; mom: number; damp: number; wd: number; nesterov: boolean },
  ) {
    const p = [...p0];
    const buf: (number | undefined)[] = p.map(() => undefined);
    for (let t = 0; t < steps; t++) {
      for (let i = 0; i < p.length; i++) {
        let g = 2 * c[i] * p[i] + h.wd * p[i];
        if (h.mom !== 0) {
          buf[i] = buf[i] === undefined ? g : h.mom * buf[i]! + (1 - h.damp) * g;
          g = h.nesterov ? g + h.mom * buf[i]! : buf[i]!;
        }
        p[i] -= h.lr * g;
      }
    }
    return p;
  }

  it('plain step by hand: p - lr·g', () => {
    const p = tensor([1, -2], { dtype: 'float64' }).setRequiresGrad();
    const got = run(new SGD([p], { lr: 0.1 }), p, [1, 0.5], 1);
    expect(got[0]).toBeCloseTo(1 - 0.1 * 2, 14);
    expect(got[1]).toBeCloseTo(-2 + 0.1 * 2, 14);
  });

  it.each([
    { mom: 0.9, damp: 0, wd: 0, nesterov: false },
    { mom: 0.9, damp: 0.3, wd: 0.05, nesterov: false },
    { mom: 0.5, damp: 0, wd: 0.01, nesterov: true },
  ])('momentum matches the reference loop (%o)', (h) => {
    const p = tensor([0.7, -1.1, 2], { dtype: 'float64' }).setRequiresGrad();
    const opt = new SGD([p], {
      lr: 0.05,
      momentum: h.mom,
      dampening: h.damp,
      weightDecay: h.wd,
      nesterov: h.nesterov,
    });
    const got = run(opt, p, [1, 2, 0.5], 4);
    const want = sgdReference([0.7, -1.1, 2], [1, 2, 0.5], 4, { lr: 0.05, ...h });
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
    expect(Object.keys(opt.stateDict().state.get(0)!)).toEqual(['momentum_buffer']);
    opt.dispose();
  });

  it('maximize ascends', () => {
    const p = tensor([1], { dtype: 'float64' }).setRequiresGrad();
    expect(run(new SGD([p], { lr: 0.1, maximize: true }), p, [1], 1)[0]).toBeCloseTo(1.2, 14);
  });

  it('rejects nesterov without momentum', () => {
    const p = tensor([1]).setRequiresGrad();
    expect(() => new SGD([p], { nesterov: true })).toThrow(
      /SGD: nesterov must be used with momentum > 0 and dampening 0/,
    );
  });
});

describe('Optimizer', () => {
  it('applies per-group hyperparameters and skips parameters without gradients', () => {
    const a = tensor([1], { dtype: 'float64' }).setRequiresGrad();
    const b = tensor([1], { dtype: 'float64' }).setRequiresGrad();
    const c = tensor([1], { dtype: 'float64' }).setRequiresGrad();
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }, { params: [c] }], { lr: 0.1 });
    tidy(() =>
      sum(mul(a, a))
        .add(sum(mul(b, b)))
        .backward(),
    );
    opt.step();
    expect(a.item()).toBeCloseTo(1 - 0.1 * 2, 14);
    expect(b.item()).toBeCloseTo(1 - 0.5 * 2, 14);
    expect(c.item()).toBe(1);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(opt.paramGroups[1].lr).toBe(0.5);
  });

  it('rejects a parameter in two groups, non-leaves and non-tensors', () => {
    const a = tensor([1]).setRequiresGrad();
    expect(() => new SGD([{ params: [a] }, { params: [a] }])).toThrow(
      /SGD: params\[0\] must be in one parameter group only/,
    );
    const out = mul(a, 2);
    expect(() => new SGD([out])).toThrow(/SGD: params\[0\] must be a floating-point leaf tensor/);
  });

  it('round-trips its state dict into a fresh optimizer', () => {
    const c = [1, 3];
    const p = tensor([0.5, -1.5], { dtype: 'float64' }).setRequiresGrad();
    const opt = new AdamW([p], { lr: 0.05 });
    run(opt, p, c, 2);
    const q = tensor(Array.from(p.dataSync()), { dtype: 'float64' }).setRequiresGrad();
    const opt2 = new AdamW([q], { lr: 0.9 });
    opt2.loadStateDict(opt.stateDict());
    expect(opt2.paramGroups[0].lr).toBe(0.05);
    const a = run(opt, p, c, 1);
    const b = run(opt2, q, c, 1);
    expect(b).toEqual(a);
    expect(() => opt2.loadStateDict({ state: new Map(), paramGroups: [] })).toThrow(
      /AdamW.loadStateDict: paramGroups must be 1 groups, got 0/,
    );
  });

  it('does not leak over 50 steps', () => {
    manualSeed(1);
    const model = new Linear(4, 3);
    const x = tensor(
      Array.from({ length: 8 }, (_, i) => i / 8),
      { shape: [2, 4] },
    );
    const y = tensor([1, 0, -1, 0.5, 0.5, 0], { shape: [2, 3] });
    for (const Opt of [AdamW, SGD] as const) {
      const opt =
        Opt === SGD
          ? new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 0.1 })
          : new AdamW(model.parameters(), { amsgrad: true });
      const stepOnce = () => {
        tidy(() => mseLoss(model.forward(x), y).backward());
        opt.step();
        opt.zeroGrad();
      };
      stepOnce(); // creates the optimizer state
      const before = memory('cpu');
      for (let i = 0; i < 50; i++) stepOnce();
      expect(memory('cpu')).toEqual(before);
      opt.dispose();
    }
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('trains a tiny regression', () => {
    manualSeed(0);
    const model = new Linear(2, 1);
    const xs = tensor([
      [0, 1],
      [1, 0],
      [1, 1],
      [2, -1],
      [-1, 3],
      [0.5, 0.5],
    ]);
    // y = 3·x0 - 2·x1 + 0.5
    const ys = tensor([[-1.5], [3.5], [1.5], [8.5], [-8.5], [1]]);
    const opt = new AdamW(model.parameters(), { lr: 0.1, weightDecay: 0 });
    const lossAt = () => tidy(() => mseLoss(model.forward(xs), ys).item());
    const first = lossAt();
    for (let i = 0; i < 300; i++) {
      tidy(() => mseLoss(model.forward(xs), ys).backward());
      opt.step();
      opt.zeroGrad();
    }
    const last = lossAt();
    expect(last).toBeLessThan(first / 1000);
    // Heading for the exact fit (3, -2, 0.5).
    const [w0, w1] = Array.from(model.weight.dataSync());
    expect(Math.abs(w0 - 3)).toBeLessThan(0.15);
    expect(Math.abs(w1 + 2)).toBeLessThan(0.15);
    expect(Math.abs(model.bias!.item() - 0.5)).toBeLessThan(0.3);
  });
});
