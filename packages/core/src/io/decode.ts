import type { Backend } from '../backend/backend.js';
import { cpuBackend, cpuTensor } from '../backend/cpu/cpu-backend.js';
import type { TypedArray } from '../dtype.js';
import { makeTensor } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { LITTLE_ENDIAN, quote, SafetensorsError, type SafetensorsTensorInfo } from './format.js';
import { decodeFloat8E4M3, float16Table } from './half.js';

/** Decoded values; `fresh` when they are a new array (not a view of the file's bytes). */
interface Decoded {
  values: TypedArray;
  fresh: boolean;
}

const INT32_MAX = 0x7fffffff;

let e4m3Table: Float32Array | undefined;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * F32, F64 and I32 are stored as they load. On little-endian platforms the bytes are viewed in place when
 * aligned (the backend copies them on upload) or copied once when not; elsewhere they are read with DataView.
 */
function copyRaw(
  bytes: Uint8Array,
  size: number,
  make: (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray,
  get: (view: DataView, offset: number) => number,
): Decoded {
  const n = bytes.length / size;
  if (LITTLE_ENDIAN) {
    if (bytes.byteOffset % size === 0)
      return { values: make(bytes.buffer, bytes.byteOffset, n), fresh: false };
    return { values: make(new Uint8Array(bytes).buffer, 0, n), fresh: true };
  }
  const out = make(new ArrayBuffer(bytes.length), 0, n);
  const view = viewOf(bytes);
  for (let i = 0; i < n; i++) out[i] = get(view, i * size);
  return { values: out, fresh: true };
}

function outOfRange(info: SafetensorsTensorInfo, index: number, value: bigint | number): SafetensorsError {
  return new SafetensorsError(
    `tensor ${quote(info.name)} element ${index}`,
    `an integer in int32 range (${info.dtype} loads as int32)`,
    String(value),
  );
}

function decodeInts(info: SafetensorsTensorInfo, bytes: Uint8Array): Int32Array {
  const view = viewOf(bytes);
  switch (info.dtype) {
    case 'U8':
      return Int32Array.from(bytes);
    case 'I8':
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    case 'I16':
    case 'U16': {
      const out = new Int32Array(bytes.length / 2);
      const signed = info.dtype === 'I16';
      for (let i = 0; i < out.length; i++) {
        out[i] = signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true);
      }
      return out;
    }
    case 'U32': {
      const out = new Int32Array(bytes.length / 4);
      for (let i = 0; i < out.length; i++) {
        const v = view.getUint32(4 * i, true);
        if (v > INT32_MAX) throw outOfRange(info, i, v);
        out[i] = v;
      }
      return out;
    }
    default: {
      // I64 and U64: the value fits when the high word is the sign extension of the low one.
      const out = new Int32Array(bytes.length / 8);
      const signed = info.dtype === 'I64';
      for (let i = 0; i < out.length; i++) {
        const lo = view.getInt32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        if (hi !== (signed ? lo >> 31 : 0) || (!signed && lo < 0)) {
          throw outOfRange(info, i, signed ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true));
        }
        out[i] = lo;
      }
      return out;
    }
  }
}

function decodeFloats(info: SafetensorsTensorInfo, bytes: Uint8Array): Float32Array {
  const view = viewOf(bytes);
  switch (info.dtype) {
    case 'F16': {
      const table = float16Table();
      const out = new Float32Array(bytes.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      // A bfloat16 is the top half of a float32: shifting the bits up is exact, NaN payloads included.
      const out = new Float32Array(bytes.length / 2);
      const bits = new Int32Array(out.buffer);
      for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F8_E5M2': {
      const table = float16Table();
      return Float32Array.from(bytes, (b) => table[b << 8]);
    }
    default: {
      if (!e4m3Table) e4m3Table = Float32Array.from({ length: 256 }, (_, b) => decodeFloat8E4M3(b));
      const table = e4m3Table;
      return Float32Array.from(bytes, (b) => table[b]);
    }
  }
}

function decodeBools(info: SafetensorsTensorInfo, bytes: Uint8Array): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 1) {
      throw new SafetensorsError(
        `tensor ${quote(info.name)} element ${i}`,
        'a BOOL byte of 0 or 1',
        String(bytes[i]),
      );
    }
  }
  // A plain Uint8Array view (not, say, a Node Buffer, whose slice() does not copy) for the backend to copy.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function decodeValues(info: SafetensorsTensorInfo, bytes: Uint8Array): Decoded {
  switch (info.dtype) {
    case 'F32':
      return copyRaw(
        bytes,
        4,
        (b, o, n) => new Float32Array(b, o, n),
        (v, o) => v.getFloat32(o, true),
      );
    case 'F64':
      return copyRaw(
        bytes,
        8,
        (b, o, n) => new Float64Array(b, o, n),
        (v, o) => v.getFloat64(o, true),
      );
    case 'I32':
      return copyRaw(
        bytes,
        4,
        (b, o, n) => new Int32Array(b, o, n),
        (v, o) => v.getInt32(o, true),
      );
    case 'BOOL':
      return { values: decodeBools(info, bytes), fresh: false };
    case 'F16':
    case 'BF16':
    case 'F8_E4M3':
    case 'F8_E5M2':
      return { values: decodeFloats(info, bytes), fresh: true };
    default:
      return { values: decodeInts(info, bytes), fresh: true };
  }
}

/**
 * Turns the bytes of one tensor (exactly its `dataOffsets` span, already validated by the header parser)
 * into a tensor on `backend`. Throws a {@link SafetensorsError} naming the tensor and element for values
 * its dtype cannot hold (an I64 outside int32 range, a BOOL byte other than 0 or 1).
 */
export function decodeTensor(info: SafetensorsTensorInfo, bytes: Uint8Array, backend: Backend): Tensor {
  const { values, fresh } = decodeValues(info, bytes);
  // A fresh array can become CPU storage as is; views of the file are copied by the backend's upload.
  return fresh && backend === cpuBackend
    ? cpuTensor(values, info.shape)
    : makeTensor(backend, values, info.shape);
}
