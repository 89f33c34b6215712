/**
 * `@attnkit/core/node`: Node-only helpers that read and write safetensors files on disk.
 *
 * @packageDocumentation
 */
import { type FileHandle, open, rename, unlink, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  type LoadSafetensorsOptions,
  loadSafetensorsAsync,
  readSafetensorsHeaderAsync,
  type SafetensorsHeader,
  type SafetensorsReader,
  type SafetensorsTensors,
  type SaveSafetensorsOptions,
  saveSafetensorsAsync,
  type Tensor,
} from '../index.js';

/** The most bytes one `read` call asks the operating system for. */
const CHUNK = 1 << 30;

function fileReader(handle: FileHandle, size: number): SafetensorsReader {
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const want = Math.min(length - done, CHUNK);
        const { bytesRead } = await handle.read(buf, done, want, offset + done);
        if (bytesRead === 0) break; // end of file: the loader reports the short read
        done += bytesRead;
      }
      return done === length ? buf : buf.subarray(0, done);
    },
  };
}

async function withFile<T>(path: string | URL, use: (reader: SafetensorsReader) => Promise<T>): Promise<T> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return await use(fileReader(handle, size));
  } finally {
    await handle.close();
  }
}

/**
 * Reads tensors from a safetensors file. Validates the header first (see `loadSafetensors` in
 * `@attnkit/core` for the rules and dtype conversions), then reads only the requested tensors, one at a
 * time, so files larger than memory for a single buffer (or than Node's 2 GiB `readFile` limit) load fine.
 *
 * @example
 * import { readSafetensorsFile } from '@attnkit/core/node';
 * const weights = await readSafetensorsFile('model.safetensors', { names: ['wte.weight'] });
 */
export async function readSafetensorsFile(
  path: string | URL,
  opts?: LoadSafetensorsOptions,
): Promise<Record<string, Tensor>> {
  return withFile(path, (reader) => loadSafetensorsAsync(reader, opts));
}

/** Reads and validates only the header of a safetensors file: names, dtypes, shapes, offsets, metadata. */
export async function readSafetensorsFileHeader(path: string | URL): Promise<SafetensorsHeader> {
  return withFile(path, (reader) => readSafetensorsHeaderAsync(reader));
}

/**
 * Writes tensors (on any backend) and optional string metadata to a safetensors file, with the layout and
 * options of `saveSafetensors` in `@attnkit/core`. The bytes go to a temporary file next to `path` that is
 * then renamed over it, so a failed write never leaves a truncated file behind.
 *
 * @example
 * await writeSafetensorsFile('checkpoint.safetensors', model.stateDict(), { step: '1000' });
 */
export async function writeSafetensorsFile(
  path: string | URL,
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
  opts?: SaveSafetensorsOptions,
): Promise<void> {
  const bytes = await saveSafetensorsAsync(tensors, metadata, opts);
  const target = typeof path === 'string' ? path : fileURLToPath(path);
  const tmp = `${target}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
