/** Where progress goes: stderr by default (stdout stays clean for the results). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Redraw interval on a terminal (ms); default 100. */
  intervalMs?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

/** `m:ss` (or `h:mm:ss`) for a duration in seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A text bar `[#####.....]` of `width` cells for `done` out of `total`. */
export function renderBar(done: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A progress bar for a loop of known length. On a terminal it redraws one line in place (throttled); when
 * the stream is a pipe or file (CI logs) it prints a plain line at every 10% instead, so logs stay readable.
 */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastDecile = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.intervalMs = opts.intervalMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Reports that `done` steps are finished; `info` is appended (for example the running loss). */
  update(done: number, info = ''): void {
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw < this.intervalMs && done < this.total) return;
      this.lastDraw = t;
      this.stream.write(`\r${this.line(done, info, t)}\x1b[K`);
    } else {
      const decile = Math.floor((done / this.total) * 10);
      if (decile <= this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.line(done, info, t)}\n`);
    }
  }

  /** Draws the final state and ends the line (in a log, only if the 100% line is not there yet). */
  finish(info = ''): void {
    const line = this.line(this.total, info, this.now());
    if (this.tty) this.stream.write(`\r${line}\x1b[K\n`);
    else if (this.lastDecile < 10) this.stream.write(`${line}\n`);
  }

  private line(done: number, info: string, t: number): string {
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Number.NaN;
    const pct = String(Math.floor((100 * done) / this.total)).padStart(3);
    const count = `${String(done).padStart(String(this.total).length)}/${this.total}`;
    const timing = `${rate.toFixed(1)} it/s, ${formatDuration(elapsed)} elapsed, eta ${formatDuration(eta)}`;
    const parts = [`${this.label} ${renderBar(done, this.total, 24)} ${pct}% ${count}`, info, timing];
    return parts.filter((s) => s !== '').join('  ');
  }
}
