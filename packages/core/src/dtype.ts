/**
 * Element types. `float32` and `int32` are the portable pair every backend supports; `bool` is the mask type
 * (stored one byte per element); `float64` exists on the CPU backend only, for oracles and gradient checks.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The typed array that stores each dtype on the CPU. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Every dtype, in promotion order (lowest first). */
export const DTYPES: readonly DType[] = ['bool', 'int32', 'float32', 'float64'];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Bytes one element of `dtype` takes in storage. */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : dtype === 'bool' ? 1 : 4;
}

/** Whether `dtype` is a floating-point type (the only types gradients flow through). */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** The dtype two operands promote to, as in PyTorch: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Allocates a zero-filled typed array for `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** The dtype whose storage is this typed array, or undefined for other arrays. */
export function dtypeOfArray(a: ArrayLike<number>): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return undefined;
}
