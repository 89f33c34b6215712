import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/args.js';
import { fmt, formatMatrix } from '../src/format.js';
import { formatDuration, ProgressBar, renderBar } from '../src/progress.js';

/** A fake stream and clock: what was written, and time that moves only when told. */
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  let ms = 0;
  return {
    writes,
    stream: { isTTY, write: (s: string) => writes.push(s) },
    now: () => ms,
    advance: (by: number) => {
      ms += by;
    },
  };
}

describe('progress bar', () => {
  it('renders bars and durations', () => {
    expect(renderBar(0, 10, 10)).toBe('[..........]');
    expect(renderBar(5, 10, 10)).toBe('[#####.....]');
    expect(renderBar(12, 10, 4)).toBe('[####]');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });

  it('prints one line per 10% when the stream is not a terminal', () => {
    const f = fakeStream(false);
    const bar = new ProgressBar('train', 100, { stream: f.stream, now: f.now });
    for (let i = 1; i <= 100; i++) {
      f.advance(10);
      bar.update(i, 'loss 1');
    }
    expect(f.writes).toHaveLength(10);
    expect(f.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    expect(f.writes[4]).toContain(' 50%  50/100  loss 1  100.0 it/s, 0:01 elapsed, eta 0:01');
  });

  it('redraws one line in place on a terminal, at most every interval', () => {
    const f = fakeStream(true);
    const bar = new ProgressBar('train', 1000, { stream: f.stream, now: f.now, intervalMs: 100 });
    for (let i = 1; i <= 1000; i++) {
      f.advance(1);
      bar.update(i);
    }
    bar.finish('done');
    // Draws at t = 1 ms, then every 100 ms, plus the last step and the final line.
    expect(f.writes.length).toBeGreaterThanOrEqual(10);
    expect(f.writes.length).toBeLessThanOrEqual(13);
    expect(f.writes.every((w) => w.startsWith('\r'))).toBe(true);
    expect(f.writes.at(-1)).toMatch(/100% 1000\/1000 {2}done.*\n$/);
  });
});

describe('formatting', () => {
  it('aligns signs and never prints -0', () => {
    expect(fmt(0.5)).toBe(' 0.500');
    expect(fmt(-0.5)).toBe('-0.500');
    expect(fmt(-0.0001)).toBe(' 0.000');
    expect(
      formatMatrix(
        [
          [1, -2],
          [-0.25, 10],
        ],
        2,
        '',
      ),
    ).toBe('  1.00  -2.00\n -0.25  10.00');
  });
});

describe('command line', () => {
  it('has the documented defaults and flags', () => {
    expect(parseCli([])).toMatchObject({
      heads: 2,
      steps: 3000,
      batch: 256,
      lr: 0.02,
      seed: 0,
      quick: false,
    });
    expect(parseCli(['--quick'])).toMatchObject({ steps: 600, quick: true, evalTasks: 4000 });
    expect(parseCli(['--', '--quick'])).toMatchObject({ quick: true });
    expect(parseCli(['--heads', '4', '--steps', '10', '--lr', '3e-3', '--seed', '7'])).toMatchObject({
      heads: 4,
      steps: 10,
      lr: 0.003,
      seed: 7,
    });
  });

  it('rejects bad values with a message naming the flag', () => {
    expect(() => parseCli(['--heads', '1.5'])).toThrow(/--heads must be a positive integer/);
    expect(() => parseCli(['--lr', 'fast'])).toThrow(/--lr/);
    expect(() => parseCli(['--seed', '-1'])).toThrow(/--seed/);
    expect(() => parseCli(['--unknown'])).toThrow();
  });
});
