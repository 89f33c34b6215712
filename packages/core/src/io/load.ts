import type { Backend } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeTensor } from './decode.js';
import {
  defineEntry,
  FILE_DTYPES,
  quote,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  show,
} from './format.js';
import { headerLength, parseHeader, readSafetensorsHeader, toBytes } from './header.js';

/** Options of {@link loadSafetensors} and {@link loadSafetensorsAsync}. */
export interface LoadSafetensorsOptions {
  /** Backend the tensors are created on (default: the current backend). */
  backend?: string;
  /** Load only these tensors (each must be in the file); default: all of them. */
  names?: readonly string[];
}

/**
 * Random access to the bytes of a safetensors file that is not in memory: a file handle, HTTP range
 * requests, a database blob. `read` must resolve to exactly `length` bytes starting at byte `offset`.
 */
export interface SafetensorsReader {
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** What the async readers accept: the file's bytes, a `Blob` (a browser `File`), or a {@link SafetensorsReader}. */
export type SafetensorsSource = Uint8Array | ArrayBuffer | Blob | SafetensorsReader;

/** Picks the requested tensors and checks that the backend can store what they load as. */
function plan(
  header: SafetensorsHeader,
  opts: LoadSafetensorsOptions,
): { infos: SafetensorsTensorInfo[]; backend: Backend } {
  const backend = getBackend(opts.backend);
  let infos = header.tensors;
  if (opts.names !== undefined) {
    if (!Array.isArray(opts.names) || opts.names.some((n) => typeof n !== 'string')) {
      throw new SafetensorsError('names', 'an array of tensor names', show(opts.names));
    }
    const have = new Set(infos.map((t) => t.name));
    const missing = opts.names.filter((n) => !have.has(n));
    if (missing.length > 0) {
      const list = infos.slice(0, 8).map((t) => quote(t.name));
      const more = infos.length > 8 ? ` and ${infos.length - 8} more` : '';
      throw new SafetensorsError(
        'names',
        `names of tensors in the file (${infos.length === 0 ? 'it has none' : `it has ${list.join(', ')}${more}`})`,
        missing.map(quote).join(', '),
      );
    }
    const wanted = new Set(opts.names);
    infos = infos.filter((t) => wanted.has(t.name));
  }
  for (const t of infos) {
    const dtype = FILE_DTYPES[t.dtype].loadsAs;
    if (!backend.dtypes.includes(dtype)) {
      throw new SafetensorsError(
        `tensor ${quote(t.name)} dtype`,
        `one that backend '${backend.name}' can store (${backend.dtypes.join(', ')})`,
        `${t.dtype}, which loads as ${dtype} (load it on the CPU and cast it)`,
      );
    }
  }
  return { infos, backend };
}

/**
 * Decodes a safetensors file held in memory into tensors, keyed by name. Keys are defined in file order (by
 * data offset), though JavaScript lists integer-like keys (`'0'`, `'1'`) first; the header from
 * {@link readSafetensorsHeader} keeps the exact file order.
 * Dtypes load as: F32 → float32; F64 → float64; F16, BF16, F8_E4M3 and F8_E5M2 → float32 (exactly,
 * subnormals, infinities and NaN included); I32, I16, I8, U16, U8 → int32; I64, U64, U32 → int32 (a value
 * outside int32 range is an error naming the tensor); BOOL → bool (bytes must be 0 or 1).
 *
 * The whole header is validated before any tensor is allocated, following the reference implementation's
 * rules: a header of at most 100 MB of UTF-8 JSON without repeated keys; each entry with a known dtype, a
 * shape of non-negative integers and `data_offsets` spanning exactly `product(shape)` elements; the entries
 * covering the data buffer exactly, without gaps, overlaps or trailing bytes; `__metadata__` (if present)
 * mapping strings to strings. A broken or hostile file throws a {@link SafetensorsError} that names the
 * problem. If a tensor fails to decode, those already created are disposed.
 *
 * @example
 * const weights = loadSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * const only = loadSafetensors(bytes, { names: ['lm_head.weight'], backend: 'cpu' });
 */
export function loadSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  opts: LoadSafetensorsOptions = {},
): Record<string, Tensor> {
  const b = toBytes(bytes, 'bytes');
  const header = readSafetensorsHeader(b);
  const { infos, backend } = plan(header, opts);
  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const info of infos) {
      const [begin, end] = info.dataOffsets;
      const t = decodeTensor(info, b.subarray(header.dataStart + begin, header.dataStart + end), backend);
      made.push(t);
      defineEntry(out, info.name, t);
    }
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
  return out;
}

function toReader(source: SafetensorsSource): SafetensorsReader {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const b = toBytes(source, 'source');
    return { size: b.length, read: async (offset, length) => b.subarray(offset, offset + length) };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return {
      size: source.size,
      read: async (offset, length) =>
        new Uint8Array(await source.slice(offset, offset + length).arrayBuffer()),
    };
  }
  const r = source as Partial<SafetensorsReader> | null;
  if (
    r &&
    typeof r.read === 'function' &&
    typeof r.size === 'number' &&
    Number.isSafeInteger(r.size) &&
    r.size >= 0
  ) {
    return r as SafetensorsReader;
  }
  throw new SafetensorsError(
    'source',
    'a Uint8Array, ArrayBuffer, Blob or { size, read(offset, length) } reader',
    show(source),
  );
}

async function readExact(reader: SafetensorsReader, offset: number, length: number, what: string) {
  if (length === 0) return new Uint8Array(0);
  const got: unknown = await reader.read(offset, length);
  if (!(got instanceof Uint8Array) || got.length !== length) {
    throw new SafetensorsError(
      'source',
      `${length} bytes at offset ${offset} (${what})`,
      got instanceof Uint8Array ? `${got.length} bytes (did the file change while it was read?)` : show(got),
    );
  }
  return got;
}

async function readHeaderFrom(reader: SafetensorsReader): Promise<SafetensorsHeader> {
  const prefix = reader.size < 8 ? new Uint8Array(8) : await readExact(reader, 0, 8, 'the header length');
  const n = headerLength(prefix, reader.size);
  const json = await readExact(reader, 8, n, 'the header');
  return parseHeader(json, 8 + n, reader.size - 8 - n);
}

/**
 * {@link readSafetensorsHeader} for a file that is not in memory: reads only the 8-byte length and the header
 * (at most 100 MB), never the tensor data.
 */
export async function readSafetensorsHeaderAsync(source: SafetensorsSource): Promise<SafetensorsHeader> {
  return readHeaderFrom(toReader(source));
}

/**
 * {@link loadSafetensors} for a file that is not in memory (a `Blob` or a {@link SafetensorsReader}), or for
 * bytes in memory when the backend is asynchronous anyway. Reads the header first and validates it, then
 * reads only the requested tensors, one at a time, so a multi-gigabyte file is never held whole.
 *
 * @example
 * const file = input.files[0];                       // a browser File
 * const weights = await loadSafetensorsAsync(file, { backend: 'webgpu' });
 */
export async function loadSafetensorsAsync(
  source: SafetensorsSource,
  opts: LoadSafetensorsOptions = {},
): Promise<Record<string, Tensor>> {
  const reader = toReader(source);
  const header = await readHeaderFrom(reader);
  const { infos, backend } = plan(header, opts);
  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const info of infos) {
      const [begin, end] = info.dataOffsets;
      const what = `the data of tensor ${quote(info.name)}`;
      const bytes = await readExact(reader, header.dataStart + begin, end - begin, what);
      const t = decodeTensor(info, bytes, backend);
      made.push(t);
      defineEntry(out, info.name, t);
    }
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
  return out;
}
