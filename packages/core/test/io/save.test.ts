import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  loadSafetensors,
  readSafetensorsHeader,
  registerBackend,
  removeBackend,
  SafetensorsError,
  saveSafetensors,
  saveSafetensorsAsync,
  scalar,
  type Tensor,
  type TypedArray,
  tensor,
  transpose,
  zeros,
} from '../../src/index.js';
import { f32, headerText, u16 } from './build.js';

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('saveSafetensors: the reference layout, byte for byte', () => {
  it('one F32 tensor whose header needs no padding', () => {
    const t = tensor([0, 1, 2, 3, 4, 5], { shape: [1, 2, 3] });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect([...saveSafetensors({ 'attn.0': t })]).toEqual([
      64,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(header),
      ...f32([0, 1, 2, 3, 4, 5]),
    ]);
  });

  it('pads the header with spaces to a multiple of 8', () => {
    const t = tensor([0, 1, 2, 3, 4, 5], { shape: [1, 1, 2, 3] });
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    expect([...saveSafetensors({ attn0: t })]).toEqual([
      72,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(header),
      ...ascii('       '),
      ...f32([0, 1, 2, 3, 4, 5]),
    ]);
  });

  it('an empty file, with and without metadata', () => {
    expect([...saveSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii('{}      ')]);
    expect([...saveSafetensors({}, {})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii('{}      ')]);
    const meta = '{"__metadata__":{"framework":"pt"}}';
    expect([...saveSafetensors(new Map(), { framework: 'pt' })]).toEqual([
      40,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(meta),
      ...ascii('     '),
    ]);
  });

  it('orders tensors by element size, then by name in code-point order, keeping data aligned', () => {
    const tensors = {
      b: tensor([true, false], { dtype: 'bool' }),
      '\u{1F642}': tensor([1]),
      '\uFF21': tensor([2]), // a fullwidth A: after 'z' and before the emoji in code-point order
      z: tensor([1], { dtype: 'int32' }),
      d: tensor([1, 2, 3], { dtype: 'float64' }),
      a: tensor([1, 2, 3]),
    };
    const bytes = saveSafetensors(tensors);
    const h = readSafetensorsHeader(bytes);
    expect(h.tensors.map((t) => t.name)).toEqual(['d', 'a', 'z', '\uFF21', '\u{1F642}', 'b']);
    expect(headerText(bytes).startsWith('{"d":{"dtype":"F64"')).toBe(true);
    expect(h.dataStart % 8).toBe(0);
    for (const t of h.tensors)
      expect(t.dataOffsets[0] % { F64: 8, F32: 4, I32: 4, BOOL: 1 }[t.dtype as 'F64']).toBe(0);
  });

  it('writes F16 and BF16 halves with round to nearest, ties to even', () => {
    const x = tensor([1, -2, 65504, 1 / 3, 1 + 2 ** -11, 1e6]);
    const f16 = saveSafetensors({ x }, undefined, { floatDType: 'F16' });
    expect(headerText(f16)).toMatch(/^\{"x":\{"dtype":"F16","shape":\[6\],"data_offsets":\[0,12\]\}\} *$/);
    expect([...f16.subarray(f16.length - 12)]).toEqual(u16([0x3c00, 0xc000, 0x7bff, 0x3555, 0x3c00, 0x7c00]));
    const bf16 = saveSafetensors({ x }, undefined, { floatDType: 'BF16' });
    expect([...bf16.subarray(bf16.length - 12)]).toEqual(
      u16([0x3f80, 0xc000, 0x4780, 0x3eab, 0x3f80, 0x4974]),
    );
    // float64 is rounded once, straight to the half: just above a tie goes up (through float32 it would not).
    const y = tensor([1 + 2 ** -11 + 2 ** -40], { dtype: 'float64' });
    expect([...saveSafetensors({ y }, undefined, { floatDType: 'F16' }).subarray(-2)]).toEqual(u16([0x3c01]));
    const z = tensor([0.1], { dtype: 'float64' });
    expect([...saveSafetensors({ z }, undefined, { floatDType: 'F32' }).subarray(-4)]).toEqual(f32([0.1]));
  });
});

/** Index of the first byte where two arrays' storage differs (-1 when bit-identical): fast for big arrays. */
function firstDifference(a: TypedArray, b: TypedArray): number {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length || a.constructor !== b.constructor) return 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function roundTrip(tensors: Record<string, Tensor>, metadata?: Record<string, string>) {
  const bytes = saveSafetensors(tensors, metadata);
  const back = loadSafetensors(bytes);
  expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    expect(back[name].dtype).toBe(t.dtype);
    expect(back[name].shape).toEqual(t.shape);
    expect(firstDifference(back[name].dataSync(), t.dataSync())).toBe(-1);
  }
  expect(readSafetensorsHeader(bytes).metadata).toEqual(metadata ?? {});
  return bytes;
}

describe('saveSafetensors → loadSafetensors round trips', () => {
  it('every dtype, scalars, empty tensors, unicode names and metadata', () => {
    roundTrip(
      {
        f: tensor([
          [1.5, -0, Number.NaN],
          [Infinity, 1e-45, -3.4e38],
        ]),
        d: tensor([0.1, -1e300, 5e-324], { dtype: 'float64' }),
        i: tensor([-(2 ** 31), 2 ** 31 - 1, 0], { dtype: 'int32' }),
        b: tensor(
          [
            [true, false],
            [false, true],
          ],
          { dtype: 'bool' },
        ),
        s: scalar(4.25),
        si: scalar(-3, { dtype: 'int32' }),
        e0: zeros([0]),
        e1: zeros([2, 0, 3], { dtype: 'int32' }),
        'état.poids': tensor([1]),
        '层.权重': tensor([2]),
        '\u{1F642}': tensor([3]),
        '': tensor([4]),
        'quote"back\\slash\nnewline': tensor([5]),
      },
      { format: 'pt', clé: 'välue ✓', empty: '', '"q"': 'line\nbreak' },
    );
  });

  it('a big-ish tensor, and views saved in row-major order', () => {
    const n = 1 << 18;
    const big = new Float32Array(n);
    for (let i = 0; i < n; i++) big[i] = Math.sin(i) * 1000;
    roundTrip({ big: tensor(big, { shape: [512, 512] }) });
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const back = loadSafetensors(saveSafetensors({ mt: transpose(m) })).mt;
    expect(back.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('halves round-trip exactly for values they hold', () => {
    const x = tensor([1, -2, 0.333251953125, 65504, 2 ** -24, -0, Infinity]);
    const back = loadSafetensors(saveSafetensors({ x }, undefined, { floatDType: 'F16' })).x;
    expect(back.dtype).toBe('float32');
    expect(back.dataSync()).toEqual(x.dataSync());
    const y = tensor([1, -3, 3.140625, 2 ** -133, 2 ** 127]);
    expect(loadSafetensors(saveSafetensors({ y }, undefined, { floatDType: 'BF16' })).y.dataSync()).toEqual(
      y.dataSync(),
    );
  });
});

describe('saveSafetensors: bad arguments', () => {
  it('names each problem', () => {
    const t = tensor([1]);
    const cases: [() => unknown, RegExp][] = [
      [
        () => saveSafetensors(5 as unknown as Record<string, Tensor>),
        /tensors must be a Map or record from names to tensors, got 5/,
      ],
      [() => saveSafetensors({ __metadata__: t }), /tensors must be names other than "__metadata__"/],
      [() => saveSafetensors(new Map([[1 as unknown as string, t]])), /tensors must be string names, got 1/],
      [() => saveSafetensors({ w: [1, 2] as unknown as Tensor }), /tensor "w" must be a Tensor, got \[1,2\]/],
      [
        () => saveSafetensors({ w: new Float32Array(2) as unknown as Tensor }),
        /tensor "w" must be a Tensor, got a Float32Array/,
      ],
      [
        () => saveSafetensors({ 'a\uD800': t }),
        /tensor name must be well-formed Unicode .*, got "a\\ud800" with a lone surrogate/,
      ],
      [
        () => saveSafetensors({ w: t }, { v: 1 as unknown as string }),
        /metadata "v" must be a string, got 1/,
      ],
      [
        () => saveSafetensors({ w: t }, 'pt' as unknown as Record<string, string>),
        /metadata must be an object mapping strings to strings, got "pt"/,
      ],
      [
        () => saveSafetensors({ w: t }, undefined, { floatDType: 'F8' as 'F16' }),
        /floatDType must be 'F32', 'F16' or 'BF16', got "F8"/,
      ],
    ];
    for (const [fn, pattern] of cases) {
      expect(fn).toThrow(SafetensorsError);
      expect(fn).toThrow(pattern);
    }
    const gone = tensor([1]);
    gone.dispose();
    expect(() => saveSafetensors({ w: gone })).toThrow(/saveSafetensors: tensor "w" must be a live tensor/);
  });
});

describe('saving tensors from a backend without synchronous readback', () => {
  const fake: Backend = {
    name: 'io-test-save',
    dtypes: ['float32', 'int32', 'bool'],
    upload: (v: TypedArray) => v.slice(),
    read: async (h, _d, offset, size) => (h as TypedArray).slice(offset, offset + size),
    release: () => {},
  };
  beforeAll(() => registerBackend(fake, -1));
  afterAll(() => removeBackend(fake.name));

  it('saveSafetensors refuses; saveSafetensorsAsync reads them with data()', async () => {
    const w = tensor([1, 2, 3], { backend: fake.name });
    expect(() => saveSafetensors({ w })).toThrow(
      /tensor "w" must be on a backend with synchronous readback \(use saveSafetensorsAsync for others\), got a tensor on backend 'io-test-save'/,
    );
    const bytes = await saveSafetensorsAsync({ w, c: tensor([true], { dtype: 'bool' }) }, { k: 'v' });
    expect(bytes).toEqual(
      saveSafetensors({ w: tensor([1, 2, 3]), c: tensor([true], { dtype: 'bool' }) }, { k: 'v' }),
    );
  });
});
