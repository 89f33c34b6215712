import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBFloat16, decodeFloat16, encodeBFloat16, encodeFloat16 } from '../../src/index.js';

describe('float16', () => {
  it('decodes hand-computed bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3800, 0.5],
      [0x3555, 0.333251953125], // (1 + 341/1024) / 4
      [0x7bff, 65504], // largest finite
      [0x0400, 2 ** -14], // smallest normal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x8001, -(2 ** -24)],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
      [0x0000, 0],
    ];
    for (const [bits, value] of cases) expect(decodeFloat16(bits)).toBe(value);
    expect(Object.is(decodeFloat16(0x8000), -0)).toBe(true);
    expect(decodeFloat16(0x7e00)).toBeNaN();
    expect(decodeFloat16(0xfc01)).toBeNaN();
  });

  it('encodes with round to nearest, ties to even', () => {
    expect(encodeFloat16(1)).toBe(0x3c00);
    expect(encodeFloat16(-2)).toBe(0xc000);
    expect(encodeFloat16(1 / 3)).toBe(0x3555);
    expect(encodeFloat16(1 + 2 ** -11)).toBe(0x3c00); // tie, down to even
    expect(encodeFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, up to even
    // Just off a tie, float64 inputs round once (through float32 they would land on the tie):
    expect(encodeFloat16(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(encodeFloat16(-(1 + 2 ** -11 + 2 ** -40))).toBe(0xbc01);
    expect(encodeFloat16(1 + 3 * 2 ** -11 - 2 ** -40)).toBe(0x3c01);
    expect(encodeFloat16(65520 - 2 ** -30)).toBe(0x7bff);
    expect(encodeFloat16(2 ** -25 + 2 ** -60)).toBe(0x0001);
    expect(encodeFloat16(65504)).toBe(0x7bff);
    expect(encodeFloat16(65519.99)).toBe(0x7bff);
    expect(encodeFloat16(65520)).toBe(0x7c00); // tie between 65504 and 2^16: even is infinity
    expect(encodeFloat16(1e10)).toBe(0x7c00);
    expect(encodeFloat16(-1e10)).toBe(0xfc00);
    expect(encodeFloat16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(encodeFloat16(2 ** -25 * 1.5)).toBe(0x0001);
    expect(encodeFloat16(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 units
    expect(encodeFloat16(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the normals
    expect(encodeFloat16(-0)).toBe(0x8000);
    expect(encodeFloat16(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(encodeFloat16(Number.NaN)).toBe(0x7e00);
  });

  it('round-trips every bit pattern', () => {
    for (let h = 0; h < 65536; h++) {
      const v = decodeFloat16(h);
      if (Number.isNaN(v)) expect(encodeFloat16(v)).toBe(0x7e00);
      else if (encodeFloat16(v) !== h)
        expect.fail(`0x${h.toString(16)} -> ${v} -> 0x${encodeFloat16(v).toString(16)}`);
    }
  });

  it('picks the nearest value (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 70000, noNaN: true }), (a) => {
        const h = encodeFloat16(a);
        expect(encodeFloat16(-a)).toBe(h | 0x8000);
        if (h === 0x7c00) {
          expect(a).toBeGreaterThanOrEqual(65520);
          return;
        }
        const err = Math.abs(decodeFloat16(h) - a);
        const below = h > 0 ? Math.abs(decodeFloat16(h - 1) - a) : Number.POSITIVE_INFINITY;
        const above = Math.abs((h === 0x7bff ? 65536 : decodeFloat16(h + 1)) - a);
        expect(err).toBeLessThanOrEqual(Math.min(below, above));
        if (err === below || err === above) expect(h % 2).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('float64 inputs just off a midpoint round to the nearer side (property)', () => {
  const formats = [
    { name: 'float16', encode: encodeFloat16, decode: decodeFloat16, maxBits: 0x7bff },
    { name: 'bfloat16', encode: encodeBFloat16, decode: decodeBFloat16, maxBits: 0x7f7f },
  ];
  for (const { name, encode, decode, maxBits } of formats) {
    it(name, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: maxBits - 1 }),
          fc.integer({ min: 25, max: 50 }),
          fc.boolean(),
          (h, k, up) => {
            const mid = (decode(h) + decode(h + 1)) / 2;
            const x = mid * (1 + (up ? 1 : -1) * 2 ** -k);
            expect(encode(x)).toBe(up ? h + 1 : h);
            expect(encode(-x)).toBe((up ? h + 1 : h) | 0x8000);
          },
        ),
        { numRuns: 3000 },
      );
    });
  }
});

describe('bfloat16', () => {
  it('decodes hand-computed bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc040, -3],
      [0x4049, 3.140625], // 2 * (1 + 73/128)
      [0x7f7f, (1 + 127 / 128) * 2 ** 127], // largest finite
      [0x0080, 2 ** -126], // smallest normal
      [0x0001, 2 ** -133], // smallest subnormal
      [0x7f80, Number.POSITIVE_INFINITY],
      [0xff80, Number.NEGATIVE_INFINITY],
    ];
    for (const [bits, value] of cases) expect(decodeBFloat16(bits)).toBe(value);
    expect(Object.is(decodeBFloat16(0x8000), -0)).toBe(true);
    expect(decodeBFloat16(0x7fc0)).toBeNaN();
  });

  it('encodes with round to nearest, ties to even', () => {
    expect(encodeBFloat16(1)).toBe(0x3f80);
    expect(encodeBFloat16(Math.fround(1 / 3))).toBe(0x3eab); // 0x3eaaaaab rounds up
    expect(encodeBFloat16(1 + 2 ** -8)).toBe(0x3f80); // tie, down to even
    expect(encodeBFloat16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, up to even
    expect(encodeBFloat16(3.4e38)).toBe(0x7f80); // above the largest finite bfloat16 by more than half a unit
    expect(encodeBFloat16(1e300)).toBe(0x7f80);
    expect(encodeBFloat16(2 ** -134)).toBe(0x0000);
    expect(encodeBFloat16(3 * 2 ** -134)).toBe(0x0002);
    expect(encodeBFloat16(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f81); // float64 just above a tie
    expect(encodeBFloat16(1 + 3 * 2 ** -8 - 2 ** -40)).toBe(0x3f81); // and just below one
    expect(encodeBFloat16(2 ** -134 * (1 + 2 ** -40))).toBe(0x0001);
    expect(encodeBFloat16(-0)).toBe(0x8000);
    expect(encodeBFloat16(Number.NaN)).toBe(0x7fc0);
  });

  it('round-trips every bit pattern', () => {
    for (let h = 0; h < 65536; h++) {
      const v = decodeBFloat16(h);
      if (Number.isNaN(v)) expect(encodeBFloat16(v)).toBe(0x7fc0);
      else if (encodeBFloat16(v) !== h)
        expect.fail(`0x${h.toString(16)} -> ${v} -> 0x${encodeBFloat16(v).toString(16)}`);
    }
  });

  it('picks the nearest value for float64 inputs (property)', () => {
    const max = (2 - 2 ** -8) * 2 ** 127; // the midpoint above the largest finite bfloat16
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e38, noNaN: true }), (a) => {
        const h = encodeBFloat16(a);
        expect(encodeBFloat16(-a)).toBe(h | 0x8000);
        if (h === 0x7f80) {
          expect(a).toBeGreaterThanOrEqual(max);
          return;
        }
        const err = Math.abs(decodeBFloat16(h) - a);
        const below = h > 0 ? Math.abs(decodeBFloat16(h - 1) - a) : Number.POSITIVE_INFINITY;
        const above = Math.abs((h === 0x7f7f ? 2 ** 128 : decodeBFloat16(h + 1)) - a);
        expect(err).toBeLessThanOrEqual(Math.min(below, above));
        if (err === below || err === above) expect(h % 2).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('matches the float32 bit trick on float32 inputs (property)', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        f[0] = x;
        const bits = u[0];
        // Reference: add half a unit minus one plus the lowest kept bit, then truncate.
        const expected = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
        expect(encodeBFloat16(x)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});
