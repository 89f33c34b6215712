/** A stream the bench writes to (process.stdout/stderr, or a collector in tests). */
export interface Output {
  write(text: string): unknown;
  /** True for a terminal: progress is then one line rewritten in place. */
  isTTY?: boolean;
}

/** Progress of the whole run: which case is running and what it is doing. */
export interface Progress {
  /** Reports the current step of case `index` (0-based) of `total`. */
  step(index: number, total: number, label: string, what: string): void;
  /** Clears the progress line (on a terminal) before the results are printed. */
  done(): void;
}

/**
 * On a terminal, one status line on stderr rewritten in place; elsewhere (CI logs, pipes) one plain line per
 * step, so logs stay readable without control characters.
 */
export function makeProgress(stream: Output): Progress {
  const tty = stream.isTTY === true;
  let shown = false;
  return {
    step(index, total, label, what) {
      const line = `[${index + 1}/${total}] ${label}: ${what}`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        shown = true;
      } else {
        stream.write(`${line}\n`);
      }
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
