import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  BackendError,
  loadSafetensors,
  loadSafetensorsAsync,
  memory,
  readSafetensorsHeader,
  registerBackend,
  removeBackend,
  SafetensorsError,
  type TypedArray,
} from '../../src/index.js';
import { entry, f32, f64, file, i16, i32, i64, u16, u32, u64, unaligned } from './build.js';

const one = (dtype: string, shape: number[], data: number[]) =>
  file({ t: entry(dtype, shape, 0, data.length) }, data);

function loadOne(bytes: Uint8Array) {
  const t = loadSafetensors(bytes).t;
  return { dtype: t.dtype, shape: [...t.shape], values: Array.from(t.dataSync()) };
}

describe('loadSafetensors: dtypes', () => {
  it('F32 and F64 load as stored, also from unaligned offsets', () => {
    const a = one('F32', [2, 2], f32([1.5, -2, 3.25, 1e-45]));
    for (const bytes of [a, unaligned(a, 1), unaligned(a, 3)]) {
      expect(loadOne(bytes)).toEqual({
        dtype: 'float32',
        shape: [2, 2],
        values: [1.5, -2, 3.25, Math.fround(1e-45)],
      });
    }
    const b = one('F64', [3], f64([0.1, -1e300, 5e-324]));
    for (const bytes of [b, unaligned(b, 5)]) {
      expect(loadOne(bytes)).toEqual({ dtype: 'float64', shape: [3], values: [0.1, -1e300, 5e-324] });
    }
  });

  it('F16 widens exactly: normals, subnormals, infinities, signed zero and NaN', () => {
    const bits = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x7e00];
    const { dtype, values } = loadOne(unaligned(one('F16', [10], u16(bits))));
    expect(dtype).toBe('float32');
    expect(values.slice(0, 9)).toEqual([
      1,
      -2,
      0.333251953125,
      65504,
      2 ** -24,
      1023 * 2 ** -24,
      Infinity,
      -Infinity,
      -0,
    ]);
    expect(Object.is(values[8], -0)).toBe(true);
    expect(values[9]).toBeNaN();
  });

  it('BF16 widens exactly, NaN payload included', () => {
    const bits = [0x3f80, 0xc040, 0x4049, 0x7f7f, 0x0001, 0x0080, 0x7f80, 0xff80, 0x8000, 0x7fc1];
    const t = loadSafetensors(unaligned(one('BF16', [2, 5], u16(bits)))).t;
    const values = t.dataSync() as Float32Array;
    expect([...values.slice(0, 9)]).toEqual([
      1,
      -3,
      3.140625,
      (1 + 127 / 128) * 2 ** 127,
      2 ** -133,
      2 ** -126,
      Infinity,
      -Infinity,
      -0,
    ]);
    expect(new Uint32Array(values.buffer, values.byteOffset, 10)[9]).toBe(0x7fc10000);
  });

  it('F8_E4M3 and F8_E5M2 widen exactly', () => {
    const e4 = loadOne(one('F8_E4M3', [7], [0x38, 0xb8, 0x7e, 0x01, 0x08, 0x00, 0x7f]));
    expect(e4.values.slice(0, 6)).toEqual([1, -1, 448, 2 ** -9, 2 ** -6, 0]);
    expect(e4.values[6]).toBeNaN();
    const e5 = loadOne(one('F8_E5M2', [5], [0x3c, 0x7b, 0x7c, 0x01, 0xc0]));
    expect(e5).toEqual({ dtype: 'float32', shape: [5], values: [1, 57344, Infinity, 2 ** -16, -2] });
  });

  it('integer types load as int32', () => {
    expect(loadOne(unaligned(one('I32', [3], i32([-7, 2 ** 31 - 1, -(2 ** 31)]))))).toEqual({
      dtype: 'int32',
      shape: [3],
      values: [-7, 2 ** 31 - 1, -(2 ** 31)],
    });
    expect(loadOne(one('U8', [4], [0, 1, 128, 255])).values).toEqual([0, 1, 128, 255]);
    expect(loadOne(one('I8', [4], [0, 1, 128, 255])).values).toEqual([0, 1, -128, -1]);
    expect(loadOne(unaligned(one('I16', [3], i16([-32768, 32767, -1])))).values).toEqual([-32768, 32767, -1]);
    expect(loadOne(one('U16', [2], u16([65535, 1]))).values).toEqual([65535, 1]);
    expect(loadOne(one('U32', [2], u32([2 ** 31 - 1, 0]))).values).toEqual([2 ** 31 - 1, 0]);
    const big = [-(2n ** 31n), 2n ** 31n - 1n, -1n, 0n];
    expect(loadOne(unaligned(one('I64', [2, 2], i64(big))))).toEqual({
      dtype: 'int32',
      shape: [2, 2],
      values: [-(2 ** 31), 2 ** 31 - 1, -1, 0],
    });
    expect(loadOne(one('U64', [2], u64([2n ** 31n - 1n, 5n]))).values).toEqual([2 ** 31 - 1, 5]);
  });

  it('integers outside int32 range are rejected, naming the tensor and element', () => {
    const cases: [Uint8Array, RegExp][] = [
      [
        one('I64', [2], i64([1n, 2n ** 31n])),
        /tensor "t" element 1 must be an integer in int32 range \(I64 loads as int32\), got 2147483648/,
      ],
      [one('I64', [1], i64([-(2n ** 31n) - 1n])), /element 0 .*, got -2147483649/],
      [one('I64', [1], i64([2n ** 40n])), /got 1099511627776/],
      [one('U64', [1], u64([2n ** 64n - 1n])), /\(U64 loads as int32\), got 18446744073709551615/],
      [one('U64', [1], u64([2n ** 31n])), /got 2147483648/],
      [one('U32', [2], u32([0, 2 ** 32 - 1])), /element 1 .*\(U32 loads as int32\), got 4294967295/],
    ];
    for (const [bytes, pattern] of cases) {
      expect(() => loadSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => loadSafetensors(bytes)).toThrow(pattern);
    }
  });

  it('BOOL loads as bool and its bytes must be 0 or 1', () => {
    expect(loadOne(one('BOOL', [2, 2], [1, 0, 0, 1]))).toEqual({
      dtype: 'bool',
      shape: [2, 2],
      values: [1, 0, 0, 1],
    });
    expect(() => loadSafetensors(one('BOOL', [3], [1, 0, 2]))).toThrow(
      /tensor "t" element 2 must be a BOOL byte of 0 or 1, got 2/,
    );
  });

  it('scalars and empty tensors', () => {
    expect(loadOne(one('F32', [], f32([7])))).toEqual({ dtype: 'float32', shape: [], values: [7] });
    const bytes = file(
      { a: entry('I32', [2, 0], 0, 0), b: entry('F32', [0], 0, 0), c: entry('F16', [1], 0, 2) },
      u16([0x3c00]),
    );
    const out = loadSafetensors(bytes);
    expect(out.a.shape).toEqual([2, 0]);
    expect(out.b.size).toBe(0);
    expect(out.c.toArray()).toEqual([1]);
  });

  it('does not alias the input bytes', () => {
    const bytes = one('F32', [2], f32([1, 2]));
    const t = loadSafetensors(bytes).t;
    bytes.fill(0, readSafetensorsHeader(bytes).dataStart);
    expect(t.toArray()).toEqual([1, 2]);
    const flags = one('BOOL', [2], [1, 0]);
    const b = loadSafetensors(Buffer.from(flags)).t;
    flags.fill(0);
    expect(b.toArray()).toEqual([1, 0]);
  });
});

describe('loadSafetensors: header, names, order, options', () => {
  const header = {
    __metadata__: { format: 'pt', note: 'héllo' },
    zeta: entry('F32', [2], 8, 16),
    alpha: entry('I32', [2], 0, 8),
    '0': entry('BOOL', [1], 16, 17),
  };
  const data = [...i32([4, 5]), ...f32([0.5, 0.25]), 1];

  it('returns tensors in file (offset) order, and the header with metadata', () => {
    const bytes = file(header, data);
    const h = readSafetensorsHeader(bytes.buffer);
    expect(h.tensors.map((t) => t.name)).toEqual(['alpha', 'zeta', '0']);
    expect(h.tensors[1]).toEqual({ name: 'zeta', dtype: 'F32', shape: [2], dataOffsets: [8, 16] });
    expect(h.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(h.dataStart).toBe(bytes.length - data.length);
    // Keys are defined in file order; JavaScript lists integer-like keys such as '0' first whatever the order.
    expect(Object.keys(loadSafetensors(bytes))).toEqual(['0', 'alpha', 'zeta']);
    const named = file({ b: entry('F32', [1], 4, 8), c: entry('F32', [1], 0, 4) }, f32([1, 2]));
    expect(Object.keys(loadSafetensors(named))).toEqual(['c', 'b']);
  });

  it('loads only the requested names, and names the missing ones', async () => {
    const bytes = file(header, data);
    const only = loadSafetensors(bytes, { names: ['zeta'] });
    expect(Object.keys(only)).toEqual(['zeta']);
    expect(only.zeta.toArray()).toEqual([0.5, 0.25]);
    expect(Object.keys(await loadSafetensorsAsync(new Blob([bytes]), { names: ['alpha', 'zeta'] }))).toEqual([
      'alpha',
      'zeta',
    ]);
    expect(() => loadSafetensors(bytes, { names: ['zeta', 'beta'] })).toThrow(
      /names must be names of tensors in the file \(it has "alpha", "zeta", "0"\), got "beta"/,
    );
    expect(() => loadSafetensors(bytes, { names: 'zeta' as unknown as string[] })).toThrow(
      /names must be an array of tensor names, got "zeta"/,
    );
  });

  it('keeps names such as __proto__ as plain keys', () => {
    const text =
      '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"__proto__":"x"}}';
    const out = loadSafetensors(file(text, f32([3])));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value.toArray()).toEqual([3]);
    const metadata = readSafetensorsHeader(file(text, f32([3]))).metadata;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('x');
  });

  it('accepts a header padded with JSON whitespace, and __metadata__: null', () => {
    const bytes = file(
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":null} \t\r\n   ',
      f32([2]),
    );
    expect(loadSafetensors(bytes).t.toArray()).toEqual([2]);
    expect(readSafetensorsHeader(bytes).metadata).toEqual({});
  });

  it('rejects bad arguments clearly', () => {
    expect(() => loadSafetensors([1, 2] as unknown as Uint8Array)).toThrow(
      /bytes must be a Uint8Array or ArrayBuffer, got \[1,2\]/,
    );
    expect(() => loadSafetensors(one('F32', [1], f32([1])), { backend: 'nope' })).toThrow(BackendError);
  });

  it('disposes what it created when a later tensor fails to decode', async () => {
    const bytes = file({ a: entry('F32', [2], 0, 8), b: entry('I64', [1], 8, 16) }, [
      ...f32([1, 2]),
      ...i64([2n ** 40n]),
    ]);
    const before = memory('cpu');
    expect(() => loadSafetensors(bytes)).toThrow(/tensor "b" element 0/);
    await expect(loadSafetensorsAsync(bytes)).rejects.toThrow(/tensor "b" element 0/);
    expect(memory('cpu')).toEqual(before);
  });
});

describe('loadSafetensors on a backend without float64', () => {
  const store = (v: TypedArray) => v.slice();
  const fake: Backend = {
    name: 'io-test-async',
    dtypes: ['float32', 'int32', 'bool'],
    upload: store,
    read: async (h, _d, offset, size) => (h as TypedArray).slice(offset, offset + size),
    release: () => {},
  };
  beforeAll(() => registerBackend(fake, -1));
  afterAll(() => removeBackend(fake.name));

  it('creates tensors there, and refuses dtypes it cannot store', async () => {
    const ok = file({ a: entry('F16', [1], 0, 2), b: entry('F64', [1], 2, 10) }, [
      ...u16([0x3c00]),
      ...f64([1]),
    ]);
    expect(() => loadSafetensors(ok, { backend: fake.name })).toThrow(
      /tensor "b" dtype must be one that backend 'io-test-async' can store \(float32, int32, bool\), got F64, which loads as float64/,
    );
    const t = (await loadSafetensorsAsync(ok, { backend: fake.name, names: ['a'] })).a;
    expect(t.backend.name).toBe(fake.name);
    expect(await t.array()).toEqual([1]);
  });
});
