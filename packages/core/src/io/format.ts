import type { DType } from '../dtype.js';
import { AttnkitError } from '../errors.js';

/**
 * A safetensors file that breaks the format, or arguments to the safetensors functions that cannot be
 * written. The message names what was wrong (the tensor, the header field, the byte range), what the format
 * expects and what the file holds.
 */
export class SafetensorsError extends AttnkitError {
  constructor(arg: string, expected: string, received: string) {
    super('safetensors', arg, expected, received);
    this.name = 'SafetensorsError';
  }
}

/**
 * The element types safetensors files can hold that attnkit reads. Files with other types (`F8_E8M0`,
 * `F4`, complex types, ...) are rejected with a {@link SafetensorsError}.
 */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/** One tensor as the header of a safetensors file describes it. */
export interface SafetensorsTensorInfo {
  /** The tensor's name (the header key). */
  name: string;
  /** Its element type in the file. */
  dtype: SafetensorsDType;
  /** Its shape (row-major; `[]` for a scalar). */
  shape: number[];
  /** `[begin, end)` byte offsets of its data, relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** The parsed and validated header of a safetensors file. */
export interface SafetensorsHeader {
  /** Every tensor, in the order of their data in the file (by offset). */
  tensors: SafetensorsTensorInfo[];
  /** The `__metadata__` map (empty when the file has none). */
  metadata: Record<string, string>;
  /** Where the data buffer starts in the file, in bytes: 8 + the header length. */
  dataStart: number;
}

/** Bytes per element of each file dtype, and the attnkit dtype it loads as. */
export const FILE_DTYPES: Readonly<Record<SafetensorsDType, { bytes: number; loadsAs: DType }>> = {
  BOOL: { bytes: 1, loadsAs: 'bool' },
  U8: { bytes: 1, loadsAs: 'int32' },
  I8: { bytes: 1, loadsAs: 'int32' },
  F8_E4M3: { bytes: 1, loadsAs: 'float32' },
  F8_E5M2: { bytes: 1, loadsAs: 'float32' },
  I16: { bytes: 2, loadsAs: 'int32' },
  U16: { bytes: 2, loadsAs: 'int32' },
  F16: { bytes: 2, loadsAs: 'float32' },
  BF16: { bytes: 2, loadsAs: 'float32' },
  I32: { bytes: 4, loadsAs: 'int32' },
  U32: { bytes: 4, loadsAs: 'int32' },
  F32: { bytes: 4, loadsAs: 'float32' },
  F64: { bytes: 8, loadsAs: 'float64' },
  I64: { bytes: 8, loadsAs: 'int32' },
  U64: { bytes: 8, loadsAs: 'int32' },
};

/** Whether `s` names a dtype attnkit reads. */
export function isFileDType(s: string): s is SafetensorsDType {
  return Object.hasOwn(FILE_DTYPES, s);
}

/** The largest header accepted, in bytes: the reference implementation's limit. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor name quoted for an error message, shortened so that a hostile name cannot flood it. */
export function quote(name: string): string {
  const q = JSON.stringify(name);
  return q.length <= 80 ? q : `${q.slice(0, 60)}…" (${name.length} characters)`;
}

/** Adds an own enumerable property, even for names like `__proto__` that plain assignment would misread. */
export function defineEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Whether the platform stores numbers little-endian (then typed-array copies can skip DataView). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A short description of a value for an error message (JSON for what a header can hold). */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v !== 'object') {
    return typeof v === 'string' ? quote(v) : typeof v === 'function' ? 'a function' : String(v);
  }
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
    return `a ${(v as object).constructor?.name ?? 'object'}`;
  }
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'an array' : 'an object';
  }
  return s.length <= 60 ? s : `${s.slice(0, 57)}...`;
}

/** Whether `v` is an object that is neither null nor an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
