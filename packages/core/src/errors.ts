/**
 * One error family for all of attnkit. Every error names the operation, the argument, what was expected and
 * what was received, so a user can fix the call without reading our source.
 */
export class AttnkitError extends Error {
  /** The operation (function, module or file reader) that rejected its input. */
  readonly op: string;
  /** The argument that was wrong. */
  readonly arg: string;
  /** What the operation expected, in words. */
  readonly expected: string;
  /** What it received, in words. */
  readonly received: string;

  constructor(op: string, arg: string, expected: string, received: string) {
    super(`${op}: ${arg} must be ${expected}, got ${received}`);
    this.name = 'AttnkitError';
    this.op = op;
    this.arg = arg;
    this.expected = expected;
    this.received = received;
  }
}

/** A shape mismatch: ranks, sizes or broadcasting. */
export class ShapeError extends AttnkitError {
  constructor(op: string, arg: string, expected: string, received: string) {
    super(op, arg, expected, received);
    this.name = 'ShapeError';
  }
}

/** A dtype that the operation does not accept. */
export class DTypeError extends AttnkitError {
  constructor(op: string, arg: string, expected: string, received: string) {
    super(op, arg, expected, received);
    this.name = 'DTypeError';
  }
}

/** A value out of range or of the wrong kind (a negative size, an unknown option). */
export class ValueError extends AttnkitError {
  constructor(op: string, arg: string, expected: string, received: string) {
    super(op, arg, expected, received);
    this.name = 'ValueError';
  }
}

/** A backend problem: missing kernel, tensors on different backends, disposed tensors, no sync readback. */
export class BackendError extends AttnkitError {
  constructor(op: string, arg: string, expected: string, received: string) {
    super(op, arg, expected, received);
    this.name = 'BackendError';
  }
}

/** Formats a shape for error messages: `[2, 3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
