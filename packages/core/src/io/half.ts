/**
 * Conversions between numbers and the bit patterns of the narrow float formats safetensors files use.
 * Decoding is exact (every value of these formats is a float32). Encoding rounds to nearest, ties to even,
 * with the result a single rounding of the input would give, float64 inputs included.
 */

/**
 * Rounding to the narrow formats works on float32 bits. A float64 input is first rounded to float32, which
 * can only mislead the second rounding when it lands exactly on a midpoint between two narrow values (every
 * such midpoint is a float32); `dir` then says which side of it the input was on: 1 above (in magnitude),
 * -1 below, 0 exactly on it.
 */
function roundUp(base: number, rem: number, halfway: number, dir: number): boolean {
  if (rem !== halfway) return rem > halfway;
  return dir > 0 || (dir === 0 && (base & 1) === 1);
}

/** The binary16 bits nearest to the float32 with bits `u` (as int32 or uint32; see {@link roundUp} for `dir`). */
export function float16FromFloat32Bits(u: number, dir: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 255) return mant !== 0 ? 0x7e00 : sign | 0x7c00;
  if (exp >= 143) return sign | 0x7c00; // 2^16 and up: past the largest binary16 even before rounding
  if (exp >= 113) {
    // A binary16 normal: keep the top 10 of the 23 mantissa bits. A carry rounds into the exponent (and
    // from 65504 into infinity), which is right.
    const base = ((exp - 112) << 10) | (mant >>> 13);
    return sign | (base + (roundUp(base, mant & 0x1fff, 0x1000, dir) ? 1 : 0));
  }
  // A binary16 subnormal or zero: count units of 2^-24 in m * 2^(e - 150).
  const m = exp === 0 ? mant : mant | 0x800000;
  const shift = 126 - (exp === 0 ? 1 : exp);
  if (shift > 24) return sign; // below 2^-25: rounds to zero
  const base = m >>> shift;
  return sign | (base + (roundUp(base, m & ((1 << shift) - 1), 1 << (shift - 1), dir) ? 1 : 0));
}

/** The bfloat16 bits nearest to the float32 with bits `u` (see {@link roundUp} for `dir`). */
export function bfloat16FromFloat32Bits(u: number, dir: number): number {
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return 0x7fc0;
  const base = u >>> 16; // sign, exponent and the top 7 mantissa bits; a carry rounds up correctly
  return base + (roundUp(base, u & 0xffff, 0x8000, dir) ? 1 : 0);
}

const scratch = new Float32Array(1);
const scratchBits = new Int32Array(scratch.buffer);
/** Which side of its float32 rounding the last input of {@link toFloat32Bits} was on. */
let lastDir = 0;

/** Rounds `x` to float32 and returns its bits; sets {@link lastDir} (no tuple, so no garbage per call). */
function toFloat32Bits(x: number): number {
  scratch[0] = x;
  const f = scratch[0];
  lastDir = f === x || Number.isNaN(x) ? 0 : Math.abs(x) > Math.abs(f) ? 1 : -1;
  return scratchBits[0];
}

/** The IEEE 754 binary16 (`F16`) bit pattern nearest to `x` (round to nearest, ties to even). */
export function encodeFloat16(x: number): number {
  const u = toFloat32Bits(x);
  return float16FromFloat32Bits(u, lastDir);
}

/** The bfloat16 (`BF16`) bit pattern nearest to `x` (round to nearest, ties to even). */
export function encodeBFloat16(x: number): number {
  const u = toFloat32Bits(x);
  return bfloat16FromFloat32Bits(u, lastDir);
}

/** The value of an IEEE 754 binary16 (`F16`) bit pattern (the low 16 bits of `bits`). */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** The value of a bfloat16 (`BF16`) bit pattern (the low 16 bits of `bits`): the top half of a float32. */
export function decodeBFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 7) & 0xff;
  const m = bits & 0x7f;
  if (e === 0) return sign * m * 2 ** -133;
  if (e === 255) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (128 + m) * 2 ** (e - 134);
}

/** The value of an 8-bit float with 4 exponent bits, bias 7, no infinities, NaN at `S.1111.111` (`F8_E4M3`). */
export function decodeFloat8E4M3(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const e = (bits >> 3) & 0xf;
  const m = bits & 0x7;
  if (e === 15 && m === 7) return Number.NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (8 + m) * 2 ** (e - 10);
}

/** The value of an 8-bit float with 5 exponent bits (`F8_E5M2`): the top byte of a binary16. */
export function decodeFloat8E5M2(bits: number): number {
  return decodeFloat16((bits & 0xff) << 8);
}

let f16Table: Float32Array | undefined;

/** Every binary16 value as a float32, indexed by bit pattern (built on first use: 256 KiB). */
export function float16Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = decodeFloat16(i);
  }
  return f16Table;
}
