import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  loadSafetensors,
  loadSafetensorsAsync,
  readSafetensorsHeader,
  SafetensorsError,
  type Tensor,
} from '../../src/index.js';
import { entry, f32, f64, file, i64, u16 } from './build.js';

const valid = file(
  {
    __metadata__: { format: 'pt' },
    a: entry('F64', [1], 0, 8),
    b: entry('I64', [3], 8, 32),
    c: entry('F32', [2, 3], 32, 56),
    d: entry('F16', [4], 56, 64),
    e: entry('BF16', [2], 64, 68),
    f: entry('U8', [2], 68, 70),
    g: entry('BOOL', [3], 70, 73),
  },
  [
    ...f64([0.5]),
    ...i64([1n, -2n, 3n]),
    ...f32([1, 2, 3, 4, 5, 6]),
    ...u16([0x3c00, 0x7c00, 0x0001, 0x8000]),
    ...u16([0x3f80, 0x7fc0]),
    200,
    7,
    1,
    0,
    1,
  ],
);
const headerEnd = valid.length - 73;

/** Loads `bytes` every way; returns the outcome, asserting that a failure is a SafetensorsError. */
async function outcome(bytes: Uint8Array): Promise<string> {
  let sync: string;
  try {
    const out = loadSafetensors(bytes);
    for (const t of Object.values(out)) checkTensor(t);
    sync = `ok ${Object.keys(out).join(',')}`;
    for (const t of Object.values(out)) t.dispose();
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    sync = `error ${e.message}`;
  }
  let async: string;
  try {
    const out = await loadSafetensorsAsync(bytes);
    async = `ok ${Object.keys(out).join(',')}`;
    for (const t of Object.values(out)) t.dispose();
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    async = `error ${e.message}`;
  }
  expect(async).toBe(sync);
  return sync;
}

function checkTensor(t: Tensor): void {
  expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
  expect(t.size).toBe(t.shape.reduce((a, d) => a * d, 1));
  expect(t.dataSync().length).toBe(t.size);
}

describe('fuzzing the reader', () => {
  it('the unmutated file loads', async () => {
    expect(await outcome(valid)).toBe('ok a,b,c,d,e,f,g');
  });

  it('random byte mutations and truncations load consistently or throw SafetensorsError', async () => {
    const mutation = fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { maxLength: 6 }), fc.option(fc.nat()), async (edits, cut) => {
        const bytes = valid.slice();
        for (const { pos, byte } of edits) bytes[pos % bytes.length] = byte;
        await outcome(cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      { numRuns: 600 },
    );
  });

  it('JSON-ish edits inside the header load consistently or throw SafetensorsError', async () => {
    const chars = ' {}[]":,0123456789-.eE\\FIUB';
    const edit = fc.record({ pos: fc.nat(), ch: fc.constantFrom(...chars) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        const bytes = valid.slice();
        for (const { pos, ch } of edits) bytes[8 + (pos % (headerEnd - 8))] = ch.charCodeAt(0);
        await outcome(bytes);
      }),
      { numRuns: 600 },
    );
  });

  it('near-valid headers: accepted ones describe the buffer exactly, others throw SafetensorsError', async () => {
    const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U8: 1, BOOL: 1 };
    const spec = fc.record({
      dtype: fc.constantFrom(...Object.keys(sizes)),
      shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    });
    const perturb = fc.record({
      which: fc.nat(),
      field: fc.constantFrom('begin', 'end', 'dim', 'dtype', 'data'),
      delta: fc.integer({ min: -3, max: 3 }),
    });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { maxLength: 4 }), fc.option(perturb), async (specs, p) => {
        const header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> = {};
        let offset = 0;
        specs.forEach((s, i) => {
          const n = s.shape.reduce((a, d) => a * d, 1) * sizes[s.dtype];
          header[`t${i}`] = { dtype: s.dtype, shape: [...s.shape], data_offsets: [offset, offset + n] };
          offset += n;
        });
        let dataLength = offset;
        const target = specs.length > 0 && p ? header[`t${p.which % specs.length}`] : undefined;
        if (p?.field === 'data') dataLength = Math.max(0, dataLength + p.delta);
        else if (target && p?.field === 'begin') target.data_offsets[0] += p.delta;
        else if (target && p?.field === 'end') target.data_offsets[1] += p.delta;
        else if (target && p?.field === 'dim' && target.shape.length > 0) target.shape[0] += p.delta;
        else if (target && p?.field === 'dtype') target.dtype = Object.keys(sizes)[Math.abs(p.delta)];
        const bytes = file(header, new Array(dataLength).fill(0));
        if (!(await outcome(bytes)).startsWith('ok')) return;
        accepted++;
        const { tensors } = readSafetensorsHeader(bytes);
        let end = 0;
        for (const t of tensors) {
          expect(t.dataOffsets[0]).toBe(end);
          expect(t.dataOffsets[1] - end).toBe(t.shape.reduce((a, d) => a * d, 1) * sizes[t.dtype]);
          end = t.dataOffsets[1];
        }
        expect(end).toBe(dataLength);
      }),
      { numRuns: 600 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('arbitrary JSON headers never throw anything but SafetensorsError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json(), fc.uint8Array({ maxLength: 16 }), async (json, data) => {
        await outcome(file(json, [...data]));
      }),
      { numRuns: 400 },
    );
  });
});
