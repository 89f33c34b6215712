import { AttnkitError, fmtShape, ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * What {@link Module.loadStateDict} accepts: a map or plain object from dotted names to tensors, or the
 * bytes of a safetensors file.
 */
export type StateDictSource = Map<string, Tensor> | Record<string, Tensor> | Uint8Array;

/** Keys that did not line up in a non-strict {@link Module.loadStateDict} (as PyTorch's return value). */
export interface LoadStateDictResult {
  /** Keys the module has but the source lacked (left unchanged). */
  missingKeys: string[];
  /** Keys the source had but the module does not (ignored). */
  unexpectedKeys: string[];
}

/** One key whose tensor in the source has another shape than in the module. */
export interface ShapeMismatch {
  /** The dotted name. */
  key: string;
  /** The module's shape. */
  expected: readonly number[];
  /** The source's shape. */
  received: readonly number[];
}

/**
 * A state dict that does not fit a module. Lists every missing key, unexpected key and shape mismatch at once,
 * so one failed load tells the whole story (a renamed layer shows up as matching missing/unexpected pairs).
 */
export class StateDictError extends AttnkitError {
  /** Keys the module has but the source lacked. */
  readonly missingKeys: string[];
  /** Keys the source had but the module does not. */
  readonly unexpectedKeys: string[];
  /** Keys present in both with different shapes. */
  readonly shapeMismatches: ShapeMismatch[];

  constructor(
    module: string,
    missingKeys: string[],
    unexpectedKeys: string[],
    shapeMismatches: ShapeMismatch[],
  ) {
    const parts: string[] = [];
    const list = (keys: string[]) => keys.map((k) => `'${k}'`).join(', ');
    if (missingKeys.length > 0) parts.push(`missing keys ${list(missingKeys)}`);
    if (unexpectedKeys.length > 0) parts.push(`unexpected keys ${list(unexpectedKeys)}`);
    if (shapeMismatches.length > 0) {
      const items = shapeMismatches.map(
        (m) => `'${m.key}' (module ${fmtShape(m.expected)}, source ${fmtShape(m.received)})`,
      );
      parts.push(`shape mismatches ${items.join(', ')}`);
    }
    super(
      `${module}.loadStateDict`,
      'state dict',
      "a match for the module's keys and shapes",
      parts.join('; '),
    );
    this.name = 'StateDictError';
    this.missingKeys = missingKeys;
    this.unexpectedKeys = unexpectedKeys;
    this.shapeMismatches = shapeMismatches;
  }
}

/** A map and plain object as one `Map`, checking that every value is a live tensor. */
export function toStateMap(
  op: string,
  source: Map<string, Tensor> | Record<string, Tensor>,
): Map<string, Tensor> {
  const entries = source instanceof Map ? [...source.entries()] : Object.entries(source);
  for (const [k, v] of entries) {
    if (!(v instanceof Tensor)) {
      throw new ValueError(op, `state dict entry '${k}'`, 'a Tensor', v === null ? 'null' : typeof v);
    }
    v.assertAlive(op, `state dict entry '${k}'`);
  }
  return new Map(entries);
}
