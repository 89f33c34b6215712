import { describe, expect, it } from 'vitest';
import {
  add,
  exp,
  grad,
  isGradEnabled,
  memory,
  mul,
  noGrad,
  randomNormal,
  sum,
  tanh,
  tensor,
  tidy,
  valueAndGrad,
} from '../src/index.js';
import { gradcheck } from '../src/testing/index.js';

describe('autograd', () => {
  it('accumulates into leaves over several backward calls', () => {
    const w = tensor([1, 2, 3]).setRequiresGrad();
    sum(mul(w, w)).backward();
    sum(mul(w, 3)).backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([5, 7, 9]);
  });

  it('sums gradients where paths join (diamond graph)', () => {
    const x = tensor([0.5, -1]).setRequiresGrad();
    const a = exp(x);
    const y = sum(add(mul(a, a), a));
    y.backward();
    const xs = [0.5, -1];
    expect(Array.from(x.grad!.dataSync()).map((v) => Number(v.toFixed(5)))).toEqual(
      xs.map((v) => Number((2 * Math.exp(2 * v) + Math.exp(v)).toFixed(5))),
    );
  });

  it('needs a gradient for non-scalar outputs and refuses a second backward through a freed graph', () => {
    const x = tensor([1, 2]).setRequiresGrad();
    const y = mul(x, 2);
    expect(() => y.backward()).toThrow(/backward: grad must be given for a non-scalar output/);
    y.backward(tensor([1, 1]));
    expect(() => y.backward(tensor([1, 1]))).toThrow(/freed graph/);
    const z = mul(x, 3);
    z.backward(tensor([1, 1]), { retainGraph: true });
    z.backward(tensor([1, 1]));
    expect(Array.from(x.grad!.dataSync())).toEqual([8, 8]);
  });

  it('noGrad records nothing', () => {
    const x = tensor([1]).setRequiresGrad();
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return mul(x, 2);
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(() => y.backward()).toThrow(/backward: tensor must be a tensor that requires grad/);
  });

  it('grad and valueAndGrad leave arguments untouched', () => {
    const x = tensor([1, 2]);
    const [g] = grad((t) => sum(mul(t, t)))(x);
    expect(Array.from(g.dataSync())).toEqual([2, 4]);
    expect(x.grad).toBeNull();
    expect(x.requiresGrad).toBe(false);
    const { value, grads } = valueAndGrad((a, _b) => sum(mul(a, 2)))(x, tensor([5]));
    expect(value.item()).toBe(6);
    expect(Array.from(grads[1].dataSync())).toEqual([0]);
    expect(() => valueAndGrad((t) => mul(t, 2))(x)).toThrow(
      /valueAndGrad: f must be a function returning a one-element tensor/,
    );
  });

  it('frees the whole graph: no tensors or bytes left after 100 training-like steps', () => {
    const w = randomNormal([4, 3], { seed: 1 }).setRequiresGrad();
    const x = randomNormal([5, 4], { seed: 2 });
    const before = memory('cpu');
    for (let i = 0; i < 100; i++) {
      tidy(() => {
        const h = tanh(sum(mul(x.reshape([5, 4, 1]), w), { axis: 1 }));
        sum(mul(h, h)).backward();
      });
      w.grad!.dispose();
      w.grad = null;
    }
    expect(memory('cpu')).toEqual(before);
  });

  it('a graph that is dropped without backward is freed when its outputs are disposed', () => {
    const w = tensor([1, 2, 3]).setRequiresGrad();
    const before = memory('cpu');
    const y = tidy(() => sum(exp(mul(w, 2))));
    expect(memory('cpu').storages).toBeGreaterThan(before.storages);
    y.dispose();
    expect(memory('cpu')).toEqual(before);
  });

  it('gradcheck finds a wrong gradient', () => {
    // A function whose analytic gradient is right passes; a detached path makes it wrong, and gradcheck says so.
    const x = randomNormal([3], { seed: 4 });
    gradcheck((t) => mul(t, exp(t)), [x]);
    expect(() => gradcheck((t) => mul(t, exp(t).detach()), [x])).toThrow(/gradcheck: gradient of input 0/);
  });
});
