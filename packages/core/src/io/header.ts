import {
  defineEntry,
  FILE_DTYPES,
  isFileDType,
  isObject,
  MAX_HEADER_BYTES,
  quote,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  show,
} from './format.js';
import { findDuplicateKey } from './json-keys.js';

/** The bytes of a Uint8Array or ArrayBuffer argument, or a clear error. */
export function toBytes(bytes: unknown, arg: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new SafetensorsError(arg, 'a Uint8Array or ArrayBuffer', show(bytes));
}

/**
 * Reads and checks the 8-byte little-endian header length at the start of a file of `fileSize` bytes
 * (`prefix` holds at least its first 8 bytes unless the file is shorter).
 */
export function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new SafetensorsError('file', 'at least 8 bytes (the header length)', `${fileSize} bytes`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      'header length',
      `at most ${MAX_HEADER_BYTES} bytes`,
      `${view.getBigUint64(0, true)} bytes`,
    );
  }
  if (8 + lo > fileSize) {
    throw new SafetensorsError(
      'header length',
      `at most the ${fileSize - 8} bytes that follow it in the ${fileSize}-byte file`,
      `${lo} bytes`,
    );
  }
  return lo;
}

function fmtDims(shape: readonly unknown[]): string {
  return shape.length <= 16
    ? `[${shape.join(', ')}]`
    : `[${shape.slice(0, 16).join(', ')}, ...] (rank ${shape.length})`;
}

function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function parseShape(where: string, shape: unknown): { shape: number[]; elements: number } {
  if (!Array.isArray(shape)) {
    throw new SafetensorsError(`${where} shape`, 'an array of non-negative integers', show(shape));
  }
  let elements = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(
        `${where} shape`,
        'non-negative integers of at most 2^53 - 1',
        `${show(d)} at axis ${i}`,
      );
    }
    elements *= d;
    if (elements > Number.MAX_SAFE_INTEGER) {
      throw new SafetensorsError(`${where} shape`, 'at most 2^53 - 1 elements', fmtDims(shape));
    }
  }
  return { shape: shape as number[], elements };
}

function parseOffsets(where: string, offsets: unknown, dataSize: number): [number, number] {
  const ok = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !ok(offsets[0]) || !ok(offsets[1])) {
    throw new SafetensorsError(
      `${where} data_offsets`,
      'two non-negative integers [begin, end]',
      show(offsets),
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    throw new SafetensorsError(`${where} data_offsets`, 'an end at or after the begin', `[${begin}, ${end}]`);
  }
  if (end > dataSize) {
    throw new SafetensorsError(
      `${where} data_offsets`,
      `a range within the ${dataSize}-byte data buffer`,
      `[${begin}, ${end}]`,
    );
  }
  return [begin, end];
}

/** Checks one header entry against the format. Extra keys in an entry are ignored, as the reference does. */
function parseEntry(name: string, value: unknown, dataSize: number): SafetensorsTensorInfo {
  const where = `tensor ${quote(name)}`;
  if (!isObject(value)) {
    throw new SafetensorsError(where, 'an object with dtype, shape and data_offsets', show(value));
  }
  const dtype = field(value, 'dtype');
  if (typeof dtype !== 'string') {
    throw new SafetensorsError(`${where} dtype`, 'a string such as "F32"', show(dtype));
  }
  if (!isFileDType(dtype)) {
    throw new SafetensorsError(
      `${where} dtype`,
      `one of ${Object.keys(FILE_DTYPES).join(', ')}`,
      quote(dtype),
    );
  }
  const { shape, elements } = parseShape(where, field(value, 'shape'));
  const size = FILE_DTYPES[dtype].bytes;
  const nbytes = elements * size;
  if (nbytes > dataSize) {
    throw new SafetensorsError(
      `${where} shape`,
      `at most the ${dataSize} bytes of the data buffer`,
      `${fmtDims(shape)} of ${dtype} (${nbytes} bytes)`,
    );
  }
  const [begin, end] = parseOffsets(where, field(value, 'data_offsets'), dataSize);
  if (end - begin !== nbytes) {
    throw new SafetensorsError(
      `${where} data_offsets`,
      `a span of ${nbytes} bytes (${fmtDims(shape)} of ${dtype}, ${size} bytes each)`,
      `[${begin}, ${end}] (${end - begin} bytes)`,
    );
  }
  return { name, dtype, shape, dataOffsets: [begin, end] };
}

function parseMetadata(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null) return out;
  if (!isObject(value)) {
    throw new SafetensorsError('__metadata__', 'an object mapping strings to strings', show(value));
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ ${quote(key)}`, 'a string', show(v));
    defineEntry(out, key, v);
  }
  return out;
}

/** The data must be covered exactly: the first tensor at 0, each next where the previous one ends. */
function checkCoverage(tensors: SafetensorsTensorInfo[], dataSize: number): void {
  let end = 0;
  let prev: string | undefined;
  for (const t of tensors) {
    const [b, e] = t.dataOffsets;
    if (b !== end) {
      const expected = `a start at byte ${end}${prev === undefined ? ' (the start of the data buffer)' : `, where ${quote(prev)} ends`}`;
      const received =
        b < end
          ? `[${b}, ${e}], which overlaps ${quote(prev ?? '')}`
          : `[${b}, ${e}], leaving bytes ${end}..${b} of the data buffer unused`;
      throw new SafetensorsError(`tensor ${quote(t.name)} data_offsets`, expected, received);
    }
    end = e;
    prev = t.name;
  }
  if (end !== dataSize) {
    throw new SafetensorsError(
      'data buffer',
      `exactly the ${end} bytes the tensors cover`,
      `${dataSize} bytes (${dataSize - end} trailing bytes that no tensor uses)`,
    );
  }
}

/**
 * Parses and checks the header JSON (the `json` bytes), for a data buffer of `dataSize` bytes starting at
 * byte `dataStart` of the file. Nothing proportional to the data is allocated.
 */
export function parseHeader(json: Uint8Array, dataStart: number, dataSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    throw new SafetensorsError('header', 'valid UTF-8', `${json.length} bytes that are not`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    const why = (e as Error).message;
    throw new SafetensorsError('header', 'valid JSON', why.length <= 160 ? why : `${why.slice(0, 157)}...`);
  }
  if (!isObject(root)) {
    throw new SafetensorsError('header', 'a JSON object mapping tensor names to entries', show(root));
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    const where = dup.parent === undefined ? 'header' : `header entry ${quote(dup.parent)}`;
    throw new SafetensorsError(where, 'JSON without repeated keys', `key ${quote(dup.key)} twice`);
  }
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === '__metadata__') metadata = parseMetadata(value);
    else tensors.push(parseEntry(key, value, dataSize));
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkCoverage(tensors, dataSize);
  return { tensors, metadata, dataStart };
}

/**
 * Parses and validates the header of a safetensors file held in memory, without decoding any tensor: the
 * names, dtypes, shapes and byte ranges (in file order), and the `__metadata__` map. Every rule
 * {@link loadSafetensors} applies to the header is checked, and a {@link SafetensorsError} names the first
 * problem. For a file you do not want to read whole, see {@link readSafetensorsHeaderAsync}.
 *
 * @example
 * const { tensors, metadata } = readSafetensorsHeader(bytes);
 * for (const t of tensors) console.log(t.name, t.dtype, t.shape);
 */
export function readSafetensorsHeader(bytes: Uint8Array | ArrayBuffer): SafetensorsHeader {
  const b = toBytes(bytes, 'bytes');
  const n = headerLength(b, b.length);
  return parseHeader(b.subarray(8, 8 + n), 8 + n, b.length - 8 - n);
}
