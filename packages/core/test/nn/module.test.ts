import { describe, expect, it } from 'vitest';
import {
  add,
  type Backend,
  BatchNorm2d,
  cpuBackend,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  memory,
  mul,
  ones,
  registerBackend,
  removeBackend,
  Sequential,
  StateDictError,
  saveSafetensors,
  sum,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '../../src/index.js';

class Attention extends Module {
  readonly qkv = this.registerModule('qkv', new Linear(4, 12));
  readonly proj = this.registerModule('proj', new Linear(4, 4));
  override forward(x: Tensor): Tensor {
    return this.proj.forward(x);
  }
}

class Block extends Module {
  readonly norm1 = this.registerModule('norm1', new LayerNorm(4));
  readonly attn = this.registerModule('attn', new Attention());
  readonly gamma = this.registerParameter('gamma', ones([4]));
  // A derived table: not saved, as NATTEN's relative-position indices.
  readonly index = this.registerBuffer('rpb_index', zeros([3], { dtype: 'int32' }), { persistent: false });
  override forward(x: Tensor): Tensor {
    return tidy(() => mul(this.attn.forward(this.norm1.forward(x)), this.gamma));
  }
}

class Net extends Module {
  readonly pos = this.registerParameter('pos_embed', zeros([1, 4]));
  readonly blocks = this.registerModule('blocks', new ModuleList([new Block(), new Block()]));
  readonly bn = this.registerModule('bn', new BatchNorm2d(2));
  readonly head = this.registerModule('head', new Linear(4, 2, { bias: false }));
  override forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = add(x, this.pos);
      for (const b of this.blocks) h = b.forward(h);
      return this.head.forward(h);
    });
  }
}

const blockKeys = (i: number) =>
  [
    'norm1.weight',
    'norm1.bias',
    'attn.qkv.weight',
    'attn.qkv.bias',
    'attn.proj.weight',
    'attn.proj.bias',
  ].map((k) => `blocks.${i}.${k}`);

describe('Module names', () => {
  it('state dict keys are PyTorch dotted names in registration order', () => {
    const net = new Net();
    // Per module: its parameters, then its persistent buffers, then its children (as torch's state_dict).
    expect([...net.stateDict().keys()]).toEqual([
      'pos_embed',
      'blocks.0.gamma',
      ...blockKeys(0),
      'blocks.1.gamma',
      ...blockKeys(1),
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
      'head.weight',
    ]);
    net.dispose();
  });

  it('lists parameters, buffers and modules', () => {
    const net = new Net();
    const names = net.namedParameters().map(([n]) => n);
    expect(names.slice(0, 3)).toEqual(['pos_embed', 'blocks.0.gamma', 'blocks.0.norm1.weight']);
    expect(names).toHaveLength(1 + 2 * 7 + 2 + 1);
    expect(net.parameters()).toHaveLength(names.length);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'blocks.0.rpb_index',
      'blocks.1.rpb_index',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
    ]);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'blocks',
      'blocks.0',
      'blocks.0.norm1',
      'blocks.0.attn',
      'blocks.0.attn.qkv',
      'blocks.0.attn.proj',
      'blocks.1',
      'blocks.1.norm1',
      'blocks.1.attn',
      'blocks.1.attn.qkv',
      'blocks.1.attn.proj',
      'bn',
      'head',
    ]);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['blocks', 'bn', 'head']);
    expect(net.getSubmodule('blocks.1.attn.qkv')).toBe(net.blocks.at(1).attn.qkv);
    expect(net.getParameter('blocks.0.attn.proj.bias')).toBe(net.blocks.at(0).attn.proj.bias);
    expect(net.getBuffer('bn.running_var')).toBe(net.bn.runningVar);
    expect(() => net.getSubmodule('blocks.7')).toThrow(
      /Net.getSubmodule: target must be a path of child modules \(children of blocks: 0, 1\), got 'blocks.7'/,
    );
    expect(() => net.getParameter('head.bias')).toThrow(
      /Net.getParameter: target must be the dotted name of a parameter/,
    );
    expect(net.numParameters()).toBe(4 + 2 * (8 + 60 + 20 + 4) + 4 + 8);
    net.dispose();
  });

  it('shared parameters are listed once but saved under every name (tied weights)', () => {
    const a = new Linear(3, 3);
    const seq = new Sequential(a, a);
    expect(seq.parameters()).toHaveLength(2);
    expect([...seq.stateDict().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(seq.numParameters()).toBe(12);
    seq.dispose();
  });

  it('rejects bad registrations', () => {
    class Bad extends Module {
      override forward(): void {}
    }
    const m = new Bad();
    expect(() => m.registerParameter('a.b', zeros([1]))).toThrow(
      /Bad.registerParameter: name must be a non-empty string without '.', got "a.b"/,
    );
    expect(() => m.registerParameter('i', zeros([1], { dtype: 'int32' }))).toThrow(
      /Bad.registerParameter: i must be a floating-point tensor, got int32/,
    );
    const p = zeros([1]).setRequiresGrad();
    expect(() => m.registerParameter('q', mul(p, 2))).toThrow(
      /must be a leaf tensor \(detach\(\) it first\)/,
    );
    m.registerBuffer('x', zeros([1]));
    expect(() => m.registerParameter('x', zeros([1]))).toThrow(
      /name must be a name not already used by a buffer, got 'x'/,
    );
    const seq = new Sequential(m);
    expect(() => m.registerModule('parent', seq)).toThrow(
      /Bad.registerModule: parent must be a module that does not contain this one, got a cycle/,
    );
    const w = m.registerParameter('w', zeros([2]));
    expect(w.requiresGrad).toBe(true);
    expect(m.registerParameter('frozen', zeros([2]), { requiresGrad: false }).requiresGrad).toBe(false);
    m.dispose();
  });

  it('parameters survive the scope they were made in', () => {
    const before = memory('cpu');
    // The module is not a tensor, so tidy cannot see it is returned: its parameters must be exempt.
    const m = tidy(() => new Linear(2, 2));
    expect(m.weight.isDisposed || m.bias!.isDisposed).toBe(false);
    m.dispose();
    expect(memory('cpu')).toEqual(before);
  });
});

describe('loadStateDict', () => {
  const source = (net: Net) => {
    const out = new Map<string, Tensor>();
    for (const [k, t] of net.stateDict()) out.set(k, t.clone());
    return out;
  };

  it('copies values in place, casting dtypes, from a Map or an object', () => {
    const a = new Net();
    const b = new Net();
    const src = source(a);
    // PyTorch saves num_batches_tracked as int64 and may hand us floats: it is converted to int32.
    src.get('bn.num_batches_tracked')!.dispose();
    src.set('bn.num_batches_tracked', tensor(7, { dtype: 'float32' }));
    src.get('head.weight')!.dispose();
    src.set(
      'head.weight',
      tensor(
        [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
        { dtype: 'float64' },
      ),
    );
    const w = b.head.weight;
    expect(b.loadStateDict(src)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.head.weight).toBe(w);
    expect(w.dtype).toBe('float32');
    expect(w.toArray()).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(b.bn.numBatchesTracked!.dtype).toBe('int32');
    expect(b.bn.numBatchesTracked!.item()).toBe(7);
    expect(b.blocks.at(1).attn.qkv.weight.toArray()).toEqual(a.blocks.at(1).attn.qkv.weight.toArray());
    expect(w.requiresGrad).toBe(true);
    b.loadStateDict(Object.fromEntries(a.stateDict()));
    expect(b.head.weight.toArray()).toEqual(a.head.weight.toArray());
    for (const t of src.values()) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('strict mode reports every missing key, unexpected key and shape mismatch, and copies nothing', () => {
    const a = new Net();
    const b = new Net();
    const src = source(a);
    src.get('blocks.0.attn.qkv.bias')!.dispose();
    src.delete('blocks.0.attn.qkv.bias');
    src.delete('bn.running_var');
    src.set('head.bias', zeros([2]));
    src.set('blocks.1.attn.proj.weight', zeros([4, 5]));
    const before = b.blocks.at(0).norm1.weight!.toArray();
    let err: StateDictError | undefined;
    try {
      b.loadStateDict(src);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err!.missingKeys).toEqual(['blocks.0.attn.qkv.bias', 'bn.running_var']);
    expect(err!.unexpectedKeys).toEqual(['head.bias']);
    expect(err!.shapeMismatches).toEqual([
      { key: 'blocks.1.attn.proj.weight', expected: [4, 4], received: [4, 5] },
    ]);
    expect(err!.message).toBe(
      "Net.loadStateDict: state dict must be a match for the module's keys and shapes, got " +
        "missing keys 'blocks.0.attn.qkv.bias', 'bn.running_var'; unexpected keys 'head.bias'; " +
        "shape mismatches 'blocks.1.attn.proj.weight' (module [4, 4], source [4, 5])",
    );
    expect(b.blocks.at(0).norm1.weight!.toArray()).toEqual(before);
    a.dispose();
    b.dispose();
  });

  it('non-strict mode returns the keys that did not line up, but still rejects shape mismatches', () => {
    const a = new Net();
    const b = new Net();
    const src = source(a);
    src.delete('pos_embed');
    src.set('extra', zeros([1]));
    expect(b.loadStateDict(src, { strict: false })).toEqual({
      missingKeys: ['pos_embed'],
      unexpectedKeys: ['extra'],
    });
    expect(b.head.weight.toArray()).toEqual(a.head.weight.toArray());
    src.set('head.weight', zeros([3, 4]));
    expect(() => b.loadStateDict(src, { strict: false })).toThrow(
      /got shape mismatches 'head.weight' \(module \[2, 4\], source \[3, 4\]\)$/,
    );
    expect(() => b.loadStateDict({ x: 3 as unknown as Tensor })).toThrow(
      /Net.loadStateDict: state dict entry 'x' must be a Tensor, got number/,
    );
    a.dispose();
    b.dispose();
  });

  it('loads safetensors bytes and frees what it decoded', () => {
    const a = new Net();
    const b = new Net();
    const bytes = saveSafetensors(Object.fromEntries(a.stateDict()));
    const before = memory('cpu');
    b.loadStateDict(bytes);
    expect(memory('cpu')).toEqual(before);
    expect(b.blocks.at(0).attn.qkv.bias!.toArray()).toEqual(a.blocks.at(0).attn.qkv.bias!.toArray());
    const partial = saveSafetensors({ 'head.weight': b.head.weight });
    expect(() => b.loadStateDict(partial)).toThrow(/missing keys 'pos_embed'/);
    expect(memory('cpu')).toEqual(before);
    a.dispose();
    b.dispose();
  });
});

describe('Module state', () => {
  it('train/eval reach every descendant', () => {
    const net = new Net();
    expect(net.training).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.bn.training && net.blocks.at(1).attn.qkv.training).toBe(true);
    net.dispose();
  });

  it('zeroGrad, setRequiresGrad, apply', () => {
    const net = new Net();
    const x = tensor([[1, 2, 3, 4]]);
    tidy(() => sum(net.forward(x)).backward());
    expect(net.head.weight.grad).not.toBeNull();
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    net.blocks.setRequiresGrad(false);
    expect(net.numParameters(true)).toBe(4 + 2 + 2 + 8);
    const seen: string[] = [];
    net.head.apply((m) => seen.push(m.typeName));
    net.blocks.at(0).attn.apply((m) => seen.push(m.typeName));
    expect(seen).toEqual(['Linear', 'Linear', 'Linear', 'Attention']);
    net.dispose();
  });

  it('dispose frees every parameter and buffer', () => {
    const before = memory('cpu');
    const net = new Net();
    tidy(() => sum(net.forward(tensor([[1, 2, 3, 4]]))).backward());
    net.dispose();
    expect(memory('cpu')).toEqual(before);
  });

  it('to() moves tensors in place, keeping identities and gradients', () => {
    const alt: Backend = { ...cpuBackend, name: 'cpu-alt' };
    registerBackend(alt, -1);
    try {
      const net = new Linear(3, 2);
      const w = net.weight;
      const values = w.toArray();
      tidy(() => sum(net.forward(tensor([[1, 2, 3]]))).backward());
      const before = { cpu: memory('cpu').tensors, alt: memory('cpu-alt').tensors };
      expect(net.to('cpu-alt')).toBe(net);
      expect(net.weight).toBe(w);
      expect(w.backend.name).toBe('cpu-alt');
      expect(w.grad!.backend.name).toBe('cpu-alt');
      expect(w.toArray()).toEqual(values);
      expect(w.requiresGrad).toBe(true);
      // Tensor counts follow the data: weight, bias and their two gradients moved over.
      expect(memory('cpu').tensors).toBe(before.cpu - 4);
      expect(memory('cpu-alt').tensors).toBe(before.alt + 4);
      const x = tensor([[1, 0, 0]], { backend: 'cpu-alt' });
      const y = net.forward(x);
      expect(y.backend.name).toBe('cpu-alt');
      x.dispose();
      net.to('cpu');
      expect(w.backend.name).toBe('cpu');
      expect(() => net.to('nope')).toThrow(/getBackend: name must be one of/);
      y.dispose();
      net.dispose();
      expect(memory('cpu-alt').tensors).toBe(before.alt);
    } finally {
      removeBackend('cpu-alt');
    }
  });

  it('prints like PyTorch', () => {
    const seq = new Sequential(new Linear(4, 8), new LayerNorm(8), new Linear(8, 2, { bias: false }));
    expect(seq.toString()).toBe(
      [
        'Sequential(',
        '  (0): Linear(in_features=4, out_features=8, bias=True)',
        '  (1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)',
        '  (2): Linear(in_features=8, out_features=2, bias=False)',
        ')',
      ].join('\n'),
    );
    seq.dispose();
  });
});
