import { describe, expect, it } from 'vitest';
import { makeProgress } from '../src/progress.js';

const sink = (isTTY: boolean) => {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) } };
};

describe('progress', () => {
  it('rewrites one line in place on a terminal and clears it at the end', () => {
    const { chunks, stream } = sink(true);
    const p = makeProgress(stream);
    p.step(0, 2, 'sdpa B1 8x8 H1 d4', 'warm-up run');
    p.step(1, 2, 'sdpa B1 16 H1 d4', 'timed run 1/3');
    p.done();
    expect(chunks).toEqual([
      '\r\x1b[2K[1/2] sdpa B1 8x8 H1 d4: warm-up run',
      '\r\x1b[2K[2/2] sdpa B1 16 H1 d4: timed run 1/3',
      '\r\x1b[2K',
    ]);
  });

  it('writes plain lines without control characters elsewhere', () => {
    const { chunks, stream } = sink(false);
    const p = makeProgress(stream);
    p.step(0, 1, 'op', 'warm-up run');
    p.done();
    expect(chunks).toEqual(['[1/1] op: warm-up run\n']);
  });
});
