import { afterEach, describe, expect, it } from 'vitest';
import {
  type AttentionOpEntry,
  acceptsTokenRank,
  attentionWorkloadFor,
  getAttentionOp,
  listAttentionOps,
  randomQkv,
  registerAttentionOp,
  softmaxAttentionReference,
  unregisterAttentionOp,
} from '../../src/index.js';

/** A minimal valid entry (local window of 1 token on each side) to exercise the registry itself. */
function fakeEntry(name: string, overrides: Partial<AttentionOpEntry> = {}): AttentionOpEntry {
  return {
    name,
    packageName: '@test/fake',
    description: 'A test op.',
    tokenRank: 1,
    defaultWorkloads: () => [{ batch: 1, tokens: [8], heads: 1, headDim: 4, params: { window: 1 } }],
    workloadFor: (s) => ({ ...s, params: { window: 1 } }),
    makeInputs: (w, opts) => randomQkv(w, opts),
    run: ({ q }) => q.clone(),
    reference: (inputs, w, opts) => softmaxAttentionReference(inputs, w, { rows: opts?.rows }),
    flops: () => 0,
    pattern: (w) => new Uint8Array(w.tokens[0]),
    ...overrides,
  };
}

describe('attention-op registry', () => {
  afterEach(() => {
    for (const n of ['test.fake', 'test.other']) unregisterAttentionOp(n);
  });

  it("lists core's dense attention entries first", () => {
    const names = listAttentionOps().map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(['sdpa', 'sdpa-causal']);
    expect(getAttentionOp('sdpa').packageName).toBe('@attnkit/core');
  });

  it('registers, lists in order, and unregisters', () => {
    const before = listAttentionOps().length;
    registerAttentionOp(fakeEntry('test.fake'));
    registerAttentionOp(fakeEntry('test.other'));
    expect(
      listAttentionOps()
        .map((e) => e.name)
        .slice(before),
    ).toEqual(['test.fake', 'test.other']);
    expect(getAttentionOp('test.fake').description).toBe('A test op.');
    expect(unregisterAttentionOp('test.fake')).toBe(true);
    expect(unregisterAttentionOp('test.fake')).toBe(false);
    expect(listAttentionOps()).toHaveLength(before + 1);
  });

  it('rejects duplicates, naming the package that registered the first', () => {
    registerAttentionOp(fakeEntry('test.fake'));
    expect(() => registerAttentionOp(fakeEntry('test.fake'))).toThrow(
      /registerAttentionOp: entry.name must be a name not registered yet .*, got 'test.fake', already registered by @test\/fake/,
    );
    expect(() => registerAttentionOp(fakeEntry('sdpa'))).toThrow(/already registered by @attnkit\/core/);
  });

  it('rejects malformed entries with the field at fault', () => {
    expect(() => registerAttentionOp(fakeEntry('a,b'))).toThrow(/registerAttentionOp: entry.name must be/);
    expect(() => registerAttentionOp(fakeEntry(''))).toThrow(/entry.name/);
    expect(() => registerAttentionOp(fakeEntry('test.fake', { packageName: '' }))).toThrow(
      /entry.packageName of 'test.fake' must be a non-empty string/,
    );
    expect(() => registerAttentionOp(fakeEntry('test.fake', { tokenRank: 4 as 1 }))).toThrow(
      /entry.tokenRank of 'test.fake' must be 1, 2, 3 or 'any', got 4/,
    );
    const noPattern = fakeEntry('test.fake');
    delete (noPattern as { pattern?: unknown }).pattern;
    expect(() => registerAttentionOp(noPattern)).toThrow(
      /entry.pattern of 'test.fake' must be a function, got undefined/,
    );
    expect(listAttentionOps().some((e) => e.name === 'test.fake')).toBe(false);
  });

  it('names the registered ops when one is unknown', () => {
    expect(() => getAttentionOp('na2d')).toThrow(
      /getAttentionOp: name must be a registered attention op \(sdpa, sdpa-causal.*\), got "na2d"/,
    );
  });

  it('builds workloads only for the token ranks an op accepts', () => {
    const fake = fakeEntry('test.fake');
    expect(acceptsTokenRank(fake, 1)).toBe(true);
    expect(acceptsTokenRank(fake, 2)).toBe(false);
    expect(acceptsTokenRank({ tokenRank: 'any' }, 3)).toBe(true);
    expect(acceptsTokenRank({ tokenRank: 'any' }, 4)).toBe(false);
    const shape = { batch: 1, tokens: [16], heads: 2, headDim: 8 };
    expect(attentionWorkloadFor(fake, shape).params).toEqual({ window: 1 });
    expect(() => attentionWorkloadFor(fake, { ...shape, tokens: [4, 4] })).toThrow(
      /test.fake: workload.tokens must be a grid with 1 token axis, got \[4, 4\]/,
    );
    expect(() => attentionWorkloadFor(fake, { ...shape, headDim: 0 })).toThrow(/test.fake: workload.headDim/);
    const { workloadFor: _, ...plain } = fake;
    expect(attentionWorkloadFor(plain, shape)).toEqual({ ...shape, params: {} });
  });
});
