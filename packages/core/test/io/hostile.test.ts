import { describe, expect, it } from 'vitest';
import {
  loadSafetensors,
  loadSafetensorsAsync,
  readSafetensorsHeader,
  readSafetensorsHeaderAsync,
  SafetensorsError,
  type SafetensorsReader,
} from '../../src/index.js';
import { entry, f32, file } from './build.js';

/** Asserts that every reader rejects `bytes` with a SafetensorsError whose message matches `pattern`. */
async function rejects(bytes: Uint8Array, pattern: RegExp): Promise<SafetensorsError> {
  let caught: unknown;
  try {
    loadSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const err = caught as SafetensorsError;
  expect(err.message).toMatch(/^safetensors: /);
  expect(err.op).toBe('safetensors');
  expect(err.message).toMatch(pattern);
  expect(() => readSafetensorsHeader(bytes)).toThrow(err.message);
  await expect(loadSafetensorsAsync(bytes)).rejects.toThrow(err.message);
  return err;
}

const ok = (dtype: string, shape: number[], begin: number, end: number) => ({
  t: entry(dtype, shape, begin, end),
});

describe('hostile files are rejected before anything is allocated', () => {
  it('1: files shorter than the 8-byte length', async () => {
    for (const n of [0, 1, 7])
      await rejects(new Uint8Array(n), /file must be at least 8 bytes .*, got \d bytes/);
  });

  it('2: a header length past the end of the file', async () => {
    await rejects(
      file('{}', [], 3n),
      /header length must be at most the 2 bytes that follow it in the 10-byte file, got 3 bytes/,
    );
    await rejects(
      new Uint8Array([60, 0, 0, 0, 0, 0, 0, 0]),
      /header length must be at most the 0 bytes .* got 60 bytes/,
    );
  });

  it('3: absurd header lengths (over 100 MB, or with high bits set)', async () => {
    await rejects(
      file('{}', [], 100_000_001n),
      /header length must be at most 100000000 bytes, got 100000001 bytes/,
    );
    await rejects(
      file('{}', [], 0xffff_ffff_0000_003cn),
      /header length must be at most 100000000 bytes, got 18446744069414584380 bytes/,
    );
  });

  it('4: a header that is not UTF-8', async () => {
    const bytes = file('{"a":1}');
    bytes[10] = 0xff;
    await rejects(bytes, /header must be valid UTF-8/);
    await rejects(
      file('{"\u00e9":1}')
        .subarray(0, 11)
        .map((b, i) => (i === 0 ? 3 : b)),
      /valid UTF-8/,
    ); // cut mid-character
  });

  it('5: a header that is not JSON', async () => {
    await rejects(file('{'), /header must be valid JSON, got/);
    await rejects(file(''), /header must be valid JSON/);
    await rejects(file('\ufeff{}'), /header must be valid JSON/); // a byte-order mark is not JSON
    await rejects(file('{"t": {"dtype": "F32",}}'), /header must be valid JSON/);
  });

  it('6: a header that is not an object', async () => {
    await rejects(file('[]'), /header must be a JSON object mapping tensor names to entries, got \[\]/);
    await rejects(file('null'), /header must be a JSON object .*, got null/);
    await rejects(file('"F32"'), /got "F32"/);
    await rejects(file('42'), /got 42/);
  });

  it('7: entries missing fields or with fields of the wrong type', async () => {
    const data = f32([1, 2]);
    await rejects(
      file({ w: 5 }, data),
      /tensor "w" must be an object with dtype, shape and data_offsets, got 5/,
    );
    await rejects(file({ w: [1] }, data), /tensor "w" must be an object/);
    await rejects(
      file({ w: { shape: [2], data_offsets: [0, 8] } }, data),
      /tensor "w" dtype must be a string such as "F32", got nothing/,
    );
    await rejects(
      file({ w: { dtype: 32, shape: [2], data_offsets: [0, 8] } }, data),
      /tensor "w" dtype must be a string .*, got 32/,
    );
    await rejects(
      file({ w: { dtype: 'F32', data_offsets: [0, 8] } }, data),
      /tensor "w" shape must be an array of non-negative integers, got nothing/,
    );
    await rejects(
      file({ w: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, data),
      /tensor "w" shape must be an array/,
    );
    await rejects(
      file({ w: { dtype: 'F32', shape: [2] } }, data),
      /tensor "w" data_offsets must be two non-negative integers \[begin, end\], got nothing/,
    );
    await rejects(
      file({ w: entry('F32', [2], 0, 8), v: { dtype: 'F32', shape: [0], data_offsets: [8] } }, data),
      /tensor "v" data_offsets must be two .*, got \[8\]/,
    );
    await rejects(file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8, 8] } }, data), /got \[0,8,8\]/);
    await rejects(
      file({ w: { dtype: 'F32', shape: [2], data_offsets: ['0', '8'] } }, data),
      /got \["0","8"\]/,
    );
    await rejects(file({ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, data), /got \[-8,0\]/);
    await rejects(file({ w: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8] } }, data), /got \[0.5,8\]/);
  });

  it('8: bad shape dimensions: negative, fractional, huge, overflowing, or bigger than the buffer', async () => {
    const data = f32([1, 2]);
    await rejects(
      file(ok('F32', [-2], 0, 8), data),
      /tensor "t" shape must be non-negative integers of at most 2\^53 - 1, got -2 at axis 0/,
    );
    await rejects(file(ok('F32', [2, 1.5], 0, 8), data), /got 1.5 at axis 1/);
    await rejects(file(ok('F32', [2, '1' as unknown as number], 0, 8), data), /got "1" at axis 1/);
    await rejects(
      file('{"t":{"dtype":"F32","shape":[2,18446744073709551614],"data_offsets":[0,8]}}', data),
      /got 18446744073709552000 at axis 1/,
    );
    await rejects(
      file(ok('F32', [2 ** 30, 2 ** 30, 2 ** 30], 0, 8), data),
      /tensor "t" shape must be at most 2\^53 - 1 elements, got \[1073741824, 1073741824, 1073741824\]/,
    );
    // A product that is a safe integer but describes far more bytes than the file holds: no allocation.
    await rejects(
      file(ok('F32', [2 ** 40], 0, 2 ** 42), data),
      /tensor "t" shape must be at most the 8 bytes of the data buffer, got \[1099511627776\] of F32 \(4398046511104 bytes\)/,
    );
  });

  it('9: data_offsets that end before they begin', async () => {
    await rejects(
      file(ok('F32', [0], 8, 0), f32([1, 2])),
      /tensor "t" data_offsets must be an end at or after the begin, got \[8, 0\]/,
    );
  });

  it('10: data_offsets outside the data buffer', async () => {
    await rejects(
      file(ok('F32', [2], 8, 16), f32([1, 2])),
      /tensor "t" data_offsets must be a range within the 8-byte data buffer, got \[8, 16\]/,
    );
  });

  it('11: overlapping entries', async () => {
    const header = { a: entry('F32', [2], 0, 8), b: entry('F32', [1], 4, 8) };
    await rejects(
      file(header, f32([1, 2])),
      /tensor "b" data_offsets must be a start at byte 8, where "a" ends, got \[4, 8\], which overlaps "a"/,
    );
    const same = { a: entry('F32', [2], 0, 8), b: entry('F32', [2], 0, 8) };
    await rejects(file(same, f32([1, 2, 3, 4])), /which overlaps/);
  });

  it('12: gaps in the data buffer, and trailing bytes no tensor uses', async () => {
    const gap = { a: entry('F32', [1], 0, 4), b: entry('F32', [1], 8, 12) };
    await rejects(
      file(gap, f32([1, 2, 3])),
      /tensor "b" data_offsets must be a start at byte 4, where "a" ends, got \[8, 12\], leaving bytes 4..8 of the data buffer unused/,
    );
    await rejects(
      file(ok('F32', [1], 4, 8), f32([1, 2])),
      /must be a start at byte 0 \(the start of the data buffer\)/,
    );
    await rejects(
      file(ok('F32', [1], 0, 4), f32([1, 2])),
      /data buffer must be exactly the 4 bytes the tensors cover, got 8 bytes \(4 trailing bytes that no tensor uses\)/,
    );
    await rejects(file({}, [0]), /data buffer must be exactly the 0 bytes/);
  });

  it('13: a byte span that does not match the shape and dtype', async () => {
    await rejects(
      file(ok('F32', [3], 0, 8), f32([1, 2, 3])),
      /tensor "t" data_offsets must be a span of 12 bytes \(\[3\] of F32, 4 bytes each\), got \[0, 8\] \(8 bytes\)/,
    );
    await rejects(
      file(ok('F16', [2], 0, 8), f32([1, 2])),
      /a span of 4 bytes \(\[2\] of F16, 2 bytes each\)/,
    );
  });

  it('14: repeated keys, which JSON.parse would silently merge', async () => {
    const data = f32([1, 2]);
    const e = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    await rejects(
      file(`{"w":${e},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data),
      /header must be JSON without repeated keys, got key "w" twice/,
    );
    await rejects(file(`{"w":${e},"\\u0077":${e}}`, f32([1])), /got key "w" twice/); // the same key, escaped
    await rejects(
      file('{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', data),
      /header entry "w" must be JSON without repeated keys, got key "dtype" twice/,
    );
    await rejects(file('{"__metadata__":{"a":"1","a":"2"}}'), /header entry "__metadata__" .* key "a" twice/);
    // Equal keys in different objects, and key-like strings in values, are fine.
    const fine = file(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":["a","a"]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      data,
    );
    expect(Object.keys(loadSafetensors(fine))).toEqual(['a', 'b']);
  });

  it('15: unknown dtypes', async () => {
    await rejects(
      file(ok('F128', [1], 0, 16), new Array(16).fill(0)),
      /tensor "t" dtype must be one of BOOL, U8, I8, .*, U64, got "F128"/,
    );
    await rejects(file(ok('f32', [1], 0, 4), f32([1])), /got "f32"/);
  });

  it('16: __metadata__ that does not map strings to strings', async () => {
    await rejects(file({ __metadata__: { format: 1 } }), /__metadata__ "format" must be a string, got 1/);
    await rejects(
      file({ __metadata__: { nested: { a: 'b' } } }),
      /__metadata__ "nested" must be a string, got \{"a":"b"\}/,
    );
    await rejects(
      file({ __metadata__: ['pt'] }),
      /__metadata__ must be an object mapping strings to strings, got \["pt"\]/,
    );
    await rejects(file({ __metadata__: 'pt' }), /__metadata__ must be an object .*, got "pt"/);
  });

  it('deeply nested JSON neither overflows the stack nor floods the message', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await rejects(
      file(`{"t":${deep}}`),
      /tensor "t" must be an object with dtype, shape and data_offsets, got an array$/,
    );
    const extra = `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${deep}}}`;
    expect(loadSafetensors(file(extra, f32([1]))).t.toArray()).toEqual([1]); // unknown entry keys are ignored
  });

  it('17: a huge tensor name is shortened in the message', async () => {
    const name = 'x'.repeat(100_000);
    const err = await rejects(file({ [name]: 5 }), /tensor "x{59}…" \(100000 characters\) must be an object/);
    expect(err.message.length).toBeLessThan(300);
  });

  it('never reads tensor data when the header is invalid', async () => {
    const bytes = file({ t: entry('F32', [2 ** 20], 0, 2 ** 22) }, f32([1]));
    const reads: [number, number][] = [];
    const reader: SafetensorsReader = {
      size: bytes.length,
      read: async (offset, length) => {
        reads.push([offset, length]);
        return bytes.subarray(offset, offset + length);
      },
    };
    await expect(loadSafetensorsAsync(reader)).rejects.toThrow(SafetensorsError);
    const headerLength = bytes.length - 12;
    expect(reads).toEqual([
      [0, 8],
      [8, headerLength],
    ]);
  });

  it('a reader that returns fewer bytes than asked for (a file that changed while read)', async () => {
    const bytes = file(ok('F32', [2], 0, 8), f32([1, 2]));
    const short: SafetensorsReader = {
      size: bytes.length,
      read: async (offset, length) => bytes.subarray(offset, Math.min(offset + length, bytes.length - 1)),
    };
    await expect(loadSafetensorsAsync(short)).rejects.toThrow(
      /source must be 8 bytes at offset \d+ \(the data of tensor "t"\), got 7 bytes/,
    );
    const wrong = { size: bytes.length, read: async () => 'nope' } as unknown as SafetensorsReader;
    await expect(readSafetensorsHeaderAsync(wrong)).rejects.toThrow(
      /source must be 8 bytes at offset 0 \(the header length\), got "nope"/,
    );
    await expect(loadSafetensorsAsync({ size: -1 } as unknown as SafetensorsReader)).rejects.toThrow(
      /source must be a Uint8Array, ArrayBuffer, Blob or \{ size, read\(offset, length\) \} reader/,
    );
  });
});
