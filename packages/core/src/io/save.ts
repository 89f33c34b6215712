import type { DType, TypedArray } from '../dtype.js';
import { Tensor } from '../tensor/tensor.js';
import {
  FILE_DTYPES,
  isObject,
  LITTLE_ENDIAN,
  MAX_HEADER_BYTES,
  quote,
  type SafetensorsDType,
  SafetensorsError,
  show,
} from './format.js';
import { bfloat16FromFloat32Bits, encodeBFloat16, encodeFloat16, float16FromFloat32Bits } from './half.js';

/** Options of {@link saveSafetensors} and {@link saveSafetensorsAsync}. */
export interface SaveSafetensorsOptions {
  /**
   * The dtype every float tensor (float32 and float64) is written as. Default: as stored (float32 as F32,
   * float64 as F64). F16 and BF16 round to nearest, ties to even; float64 values are rounded once.
   */
  floatDType?: 'F32' | 'F16' | 'BF16';
}

/** The tensors to save: a map or record from names to tensors. */
export type SafetensorsTensors = Record<string, Tensor> | Map<string, Tensor>;

interface Item {
  name: string;
  tensor: Tensor;
  dtype: SafetensorsDType;
  /** Byte offset of the tensor's data in the output. */
  start: number;
}

/** A file whose header is written and whose data is still to be filled in, tensor by tensor. */
interface Layout {
  out: Uint8Array;
  items: Item[];
}

const LONE_SURROGATE = /\p{Cs}/u;

function checkText(arg: string, s: string): void {
  if (LONE_SURROGATE.test(s)) {
    throw new SafetensorsError(
      arg,
      'well-formed Unicode (it is stored as UTF-8)',
      `${quote(s)} with a lone surrogate`,
    );
  }
}

/** Orders strings by code point, which is the byte order of their UTF-8 (the reference's name order). */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // A surrogate unit belongs to a code point above every unit of the Basic Multilingual Plane.
      const sx = x >= 0xd800 && x <= 0xdfff;
      const sy = y >= 0xd800 && y <= 0xdfff;
      return sx === sy ? x - y : sx ? 1 : -1;
    }
  }
  return a.length - b.length;
}

function fileDType(dtype: DType, floatDType: SaveSafetensorsOptions['floatDType']): SafetensorsDType {
  switch (dtype) {
    case 'float32':
      return floatDType ?? 'F32';
    case 'float64':
      return floatDType ?? 'F64';
    case 'int32':
      return 'I32';
    case 'bool':
      return 'BOOL';
  }
}

function entriesOf(tensors: SafetensorsTensors): [string, Tensor][] {
  let list: [unknown, unknown][];
  if (tensors instanceof Map) list = [...tensors.entries()];
  else if (isObject(tensors)) list = Object.entries(tensors);
  else throw new SafetensorsError('tensors', 'a Map or record from names to tensors', show(tensors));
  for (const [name, t] of list) {
    if (typeof name !== 'string') throw new SafetensorsError('tensors', 'string names', show(name));
    if (name === '__metadata__') {
      throw new SafetensorsError(
        'tensors',
        'names other than "__metadata__" (the header reserves it)',
        quote(name),
      );
    }
    checkText('tensor name', name);
    if (!(t instanceof Tensor)) throw new SafetensorsError(`tensor ${quote(name)}`, 'a Tensor', show(t));
    t.assertAlive('saveSafetensors', `tensor ${quote(name)}`);
  }
  return list as [string, Tensor][];
}

function metadataJson(metadata: Record<string, string> | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  if (!isObject(metadata)) {
    throw new SafetensorsError('metadata', 'an object mapping strings to strings', show(metadata));
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata ${quote(k)}`, 'a string', show(v));
    checkText('metadata key', k);
    checkText(`metadata ${quote(k)}`, v);
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return parts.length > 0 ? `"__metadata__":{${parts.join(',')}}` : undefined;
}

/** Checks the arguments, orders the tensors, and writes the length and header of the output. */
function layout(
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
  opts?: SaveSafetensorsOptions,
): Layout {
  const floatDType = opts?.floatDType;
  if (floatDType !== undefined && floatDType !== 'F32' && floatDType !== 'F16' && floatDType !== 'BF16') {
    throw new SafetensorsError('floatDType', "'F32', 'F16' or 'BF16'", show(floatDType));
  }
  const items: Item[] = entriesOf(tensors).map(([name, tensor]) => ({
    name,
    tensor,
    dtype: fileDType(tensor.dtype, floatDType),
    start: 0,
  }));
  // The reference writer's order: larger elements first, then by name. With the header padded to a multiple
  // of 8 bytes, every tensor's data then starts at a multiple of its element size in the file.
  items.sort(
    (a, b) => FILE_DTYPES[b.dtype].bytes - FILE_DTYPES[a.dtype].bytes || compareCodePoints(a.name, b.name),
  );
  const parts: string[] = [];
  const meta = metadataJson(metadata);
  if (meta !== undefined) parts.push(meta);
  let offset = 0;
  for (const it of items) {
    const end = offset + it.tensor.size * FILE_DTYPES[it.dtype].bytes;
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    it.start = offset;
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.length / 8) * 8;
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      'header',
      `at most ${MAX_HEADER_BYTES} bytes (readers reject more)`,
      `${headerBytes} bytes`,
    );
  }
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setUint32(0, headerBytes, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  for (const it of items) it.start += 8 + headerBytes;
  return { out, items };
}

/** Writes one tensor's values at `item.start`, little-endian, converting to the file dtype. */
function writeValues(out: Uint8Array, item: Item, values: TypedArray): void {
  const { start, dtype } = item;
  const n = values.length;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const sameType =
    (dtype === 'F32' && values instanceof Float32Array) ||
    (dtype === 'F64' && values instanceof Float64Array) ||
    (dtype === 'I32' && values instanceof Int32Array);
  if (sameType && LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), start);
    return;
  }
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(start + 4 * i, values[i], true);
      return;
    case 'F64':
      for (let i = 0; i < n; i++) view.setFloat64(start + 8 * i, values[i], true);
      return;
    case 'I32':
      for (let i = 0; i < n; i++) view.setInt32(start + 4 * i, values[i], true);
      return;
    case 'F16':
    case 'BF16': {
      // Halves are computed into a native-order array, then stored little-endian.
      const halves = new Uint16Array(n);
      if (values instanceof Float32Array) {
        // Straight from the float32 bits: exact inputs, so no rounding direction to carry.
        const fromBits = dtype === 'F16' ? float16FromFloat32Bits : bfloat16FromFloat32Bits;
        const bits = new Int32Array(values.buffer, values.byteOffset, n);
        for (let i = 0; i < n; i++) halves[i] = fromBits(bits[i], 0);
      } else {
        const encode = dtype === 'F16' ? encodeFloat16 : encodeBFloat16;
        for (let i = 0; i < n; i++) halves[i] = encode(values[i]);
      }
      if (LITTLE_ENDIAN) out.set(new Uint8Array(halves.buffer), start);
      else for (let i = 0; i < n; i++) view.setUint16(start + 2 * i, halves[i], true);
      return;
    }
    default:
      for (let i = 0; i < n; i++) out[start + i] = values[i] ? 1 : 0;
  }
}

/**
 * Serializes tensors (and optional string metadata) to the bytes of a safetensors file, reading them
 * synchronously: every tensor must be on a backend with synchronous readback (the CPU); use
 * {@link saveSafetensorsAsync} for the others. float32 is written as F32, float64 as F64 (or all floats as
 * `opts.floatDType`), int32 as I32, bool as BOOL.
 *
 * The layout is the reference writer's: the header is compact JSON with `__metadata__` first (only when it
 * has keys), padded with spaces to a multiple of 8 bytes; tensors are ordered by decreasing element size
 * (F64, then F32/I32, then F16/BF16, then BOOL), ties by name in code-point order, so every tensor's data is
 * aligned to its element size. Names must be well-formed Unicode and not `__metadata__`.
 *
 * @example
 * const bytes = saveSafetensors({ 'fc.weight': w, 'fc.bias': b }, { format: 'pt' }, { floatDType: 'F16' });
 */
export function saveSafetensors(
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
  opts?: SaveSafetensorsOptions,
): Uint8Array {
  for (const [name, t] of entriesOf(tensors)) {
    if (!t.backend.readSync) {
      throw new SafetensorsError(
        `tensor ${quote(name)}`,
        'on a backend with synchronous readback (use saveSafetensorsAsync for others)',
        `a tensor on backend '${t.backend.name}'`,
      );
    }
  }
  const { out, items } = layout(tensors, metadata, opts);
  for (const it of items) writeValues(out, it, it.tensor.dataSync());
  return out;
}

/**
 * {@link saveSafetensors} for tensors on any backend: reads each tensor with `await data()`, one at a time,
 * into the output. Same layout and options.
 */
export async function saveSafetensorsAsync(
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
  opts?: SaveSafetensorsOptions,
): Promise<Uint8Array> {
  const { out, items } = layout(tensors, metadata, opts);
  for (const it of items) writeValues(out, it, await it.tensor.data());
  return out;
}
