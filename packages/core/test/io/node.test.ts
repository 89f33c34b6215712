import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, SafetensorsError, saveSafetensors, tensor } from '../../src/index.js';
import {
  readSafetensorsFile,
  readSafetensorsFileHeader,
  writeSafetensorsFile,
} from '../../src/node/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attnkit-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('@attnkit/core/node safetensors files', () => {
  const tensors = () => ({
    'encoder.weight': tensor([
      [1, 2],
      [3, 4],
    ]),
    'encoder.bias': tensor([0.5, -0.5], { dtype: 'float64' }),
    ids: tensor([7, 8, 9], { dtype: 'int32' }),
    mask: tensor([true, false], { dtype: 'bool' }),
  });

  it('writes the same bytes as saveSafetensors and reads them back', async () => {
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, tensors(), { format: 'pt' });
    const onDisk = new Uint8Array(await readFile(path));
    expect(onDisk).toEqual(saveSafetensors(tensors(), { format: 'pt' }));
    const back = await readSafetensorsFile(path);
    expect(Object.keys(back)).toEqual(['encoder.bias', 'encoder.weight', 'ids', 'mask']);
    expect(back['encoder.weight'].toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(back['encoder.bias'].dtype).toBe('float64');
    expect(back.mask.toArray()).toEqual([1, 0]);
    const header = await readSafetensorsFileHeader(pathToFileURL(path));
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors.map((t) => [t.name, t.dtype])).toEqual([
      ['encoder.bias', 'F64'],
      ['encoder.weight', 'F32'],
      ['ids', 'I32'],
      ['mask', 'BOOL'],
    ]);
  });

  it('reads selected tensors, overwrites atomically and leaves no temporary files', async () => {
    const path = join(dir, 'over.safetensors');
    await writeSafetensorsFile(path, tensors());
    await writeSafetensorsFile(pathToFileURL(path), { only: tensor([1, 2, 3]) }, undefined, {
      floatDType: 'BF16',
    });
    const back = await readSafetensorsFile(path, { names: ['only'] });
    expect(back.only.toArray()).toEqual([1, 2, 3]);
    expect((await readSafetensorsFileHeader(path)).tensors[0].dtype).toBe('BF16');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(loadSafetensors(await readFile(path)).only.toArray()).toEqual([1, 2, 3]);
  });

  it('a failed write leaves the old file in place', async () => {
    const path = join(dir, 'keep.safetensors');
    await writeSafetensorsFile(path, { a: tensor([1]) });
    const bad = { __metadata__: tensor([1]) };
    await expect(writeSafetensorsFile(path, bad)).rejects.toThrow(SafetensorsError);
    expect((await readSafetensorsFile(path)).a.toArray()).toEqual([1]);
  });

  it('rejects truncated and hostile files with SafetensorsError', async () => {
    const good = saveSafetensors(tensors());
    const cut = join(dir, 'cut.safetensors');
    await writeFile(cut, good.subarray(0, good.length - 3));
    await expect(readSafetensorsFile(cut)).rejects.toThrow(
      /tensor "ids" data_offsets must be a range within the 43-byte data buffer, got \[32, 44\]/,
    );
    const tiny = join(dir, 'tiny.safetensors');
    await writeFile(tiny, new Uint8Array([1, 2, 3]));
    await expect(readSafetensorsFileHeader(tiny)).rejects.toThrow(
      /file must be at least 8 bytes \(the header length\), got 3 bytes/,
    );
    const huge = join(dir, 'huge.safetensors');
    await writeFile(huge, new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 123, 125]));
    await expect(readSafetensorsFile(huge)).rejects.toThrow(
      /header length must be at most 100000000 bytes, got 4294967296 bytes/,
    );
    await expect(readSafetensorsFile(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
  });
});
