let enabled = true;

/** Whether ops currently record themselves for autograd. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs `fn` with gradient recording switched on or off, restoring the previous mode after. */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Runs `fn` without recording ops for autograd (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
