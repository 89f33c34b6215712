import { describe, expect, it } from 'vitest';
import { parseOptions, parseShapes } from '../src/args.js';

describe('command-line flags', () => {
  it('has defaults for a full run and for --quick', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({
      reps: 3,
      checkRows: 64,
      batch: 1,
      heads: 4,
      headDim: 32,
      seed: 0,
      quick: false,
    });
    expect(o.ops).toBeUndefined();
    expect(o.shapes).toBeUndefined();
    expect(parseOptions(['--quick']).reps).toBe(1);
    expect(parseOptions(['--quick', '--reps', '4']).reps).toBe(4);
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const o = parseOptions([
      '--ops=sdpa,sdpa-causal',
      '--shapes',
      '56x56,4096,4x8x8',
      '--backend',
      'cpu',
      '--reps=2',
      '--check-rows',
      'all',
      '--batch',
      '2',
      '--heads',
      '8',
      '--head-dim',
      '64',
      '--seed',
      '9',
      '--out',
      'somewhere',
    ]);
    expect(o).toMatchObject({
      ops: ['sdpa', 'sdpa-causal'],
      shapes: [[56, 56], [4096], [4, 8, 8]],
      backend: 'cpu',
      reps: 2,
      checkRows: 'all',
      batch: 2,
      heads: 8,
      headDim: 64,
      seed: 9,
      out: 'somewhere',
    });
    expect(parseOptions(['--shapes', 'defaults']).shapes).toBe('defaults');
    expect(parseOptions(['-h']).help).toBe(true);
  });

  it('rejects bad shapes with the accepted forms', () => {
    expect(parseShapes(' 8x8 , 16')).toEqual([[8, 8], [16]]);
    for (const bad of ['56x', 'x4', '1x2x3x4', 'abc', '4,,8', '-4']) {
      expect(() => parseShapes(bad)).toThrow(/--shapes: '.*' is not a token grid; use N, HxW or TxHxW/);
    }
    expect(() => parseShapes('0x4')).toThrow(/--shapes: '0x4' has a zero size/);
  });

  it('rejects unknown flags, stray arguments and bad numbers', () => {
    expect(() => parseOptions(['--fast'])).toThrow(/^unknown flag --fast$/);
    expect(() => parseOptions(['sdpa'])).toThrow(/^unexpected argument 'sdpa'$/);
    expect(() => parseOptions(['--reps', '0'])).toThrow(/--reps must be a positive integer, got '0'/);
    expect(() => parseOptions(['--reps', '2.5'])).toThrow(/--reps must be a positive integer, got '2.5'/);
    expect(() => parseOptions(['--check-rows', 'some'])).toThrow(/--check-rows must be a positive integer/);
    expect(() => parseOptions(['--seed=-1'])).toThrow(/--seed must be a non-negative integer, got '-1'/);
    expect(() => parseOptions(['--seed', '-1'])).toThrow(/--seed/);
    expect(() => parseOptions(['--ops', ','])).toThrow(/--ops needs at least one op name/);
    expect(() => parseOptions(['--reps'])).toThrow(/--reps/);
  });
});
