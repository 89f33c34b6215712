// Hand-assembles safetensors bytes for the tests, following the format by hand (never through the writer
// under test): an 8-byte little-endian header length, the header text, then the data buffer.

/** Little-endian bytes of numbers written with a DataView setter. */
function le(values: readonly number[], size: number, set: (v: DataView, o: number, x: number) => void) {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => set(view, i * size, x));
  return [...out];
}

export const f32 = (v: readonly number[]) => le(v, 4, (d, o, x) => d.setFloat32(o, x, true));
export const f64 = (v: readonly number[]) => le(v, 8, (d, o, x) => d.setFloat64(o, x, true));
export const i32 = (v: readonly number[]) => le(v, 4, (d, o, x) => d.setInt32(o, x, true));
export const u32 = (v: readonly number[]) => le(v, 4, (d, o, x) => d.setUint32(o, x, true));
export const u16 = (v: readonly number[]) => le(v, 2, (d, o, x) => d.setUint16(o, x, true));
export const i16 = (v: readonly number[]) => le(v, 2, (d, o, x) => d.setInt16(o, x, true));
export const i64 = (v: readonly bigint[]) => {
  const out = new Uint8Array(v.length * 8);
  const view = new DataView(out.buffer);
  v.forEach((x, i) => view.setBigInt64(i * 8, x, true));
  return [...out];
};
export const u64 = (v: readonly bigint[]) => {
  const out = new Uint8Array(v.length * 8);
  const view = new DataView(out.buffer);
  v.forEach((x, i) => view.setBigUint64(i * 8, x, true));
  return [...out];
};

/**
 * A file from a header (a JSON text, or a value to stringify) and data bytes. `length` overrides the
 * header length field.
 */
export function file(
  header: string | object,
  data: readonly number[] = [],
  length?: bigint,
): Uint8Array<ArrayBuffer> {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** One-tensor header object. */
export function entry(dtype: string, shape: number[], begin: number, end: number) {
  return { dtype, shape, data_offsets: [begin, end] };
}

/** The same bytes at an odd byte offset of a larger buffer (to exercise unaligned reads). */
export function unaligned(bytes: Uint8Array, shift = 3): Uint8Array {
  const big = new Uint8Array(bytes.length + shift);
  big.set(bytes, shift);
  return big.subarray(shift);
}

/** The header text of a file (the bytes between the length field and the data). */
export function headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}
