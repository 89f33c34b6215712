// The README's example is this folder's readme-example.ts (run here), and its pattern pictures are generated
// from the registered entries: the test fails when either is stale. `UPDATE_README=1 npx vitest run
// test/methods/readme.test.ts` rewrites the pictures.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  type AttentionWorkload,
  currentBackendName,
  getAttentionOp,
  setBackend,
  tokenCount,
} from '@attnkit/core';
import { describe, expect, it, vi } from 'vitest';
import { maskPicture } from '../../src/index.js';

const README = new URL('../../README.md', import.meta.url);
const EXAMPLE = new URL('./readme-example.ts', import.meta.url);

/** The workloads pictured in the README: small enough to read, with each method's structure visible. */
const PICTURED: Record<string, AttentionWorkload> = {
  'block-sparse': { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { blockSize: 4, density: 0.25 } },
  's2-attention': {
    batch: 1,
    tokens: [64],
    heads: 2,
    headDim: 8,
    params: { blockSize: 4, localBlocks: 2, vertStride: 4 },
  },
  'power-attention': { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { blockSize: 2 } },
  'radial-attention': {
    batch: 1,
    tokens: [16, 2, 4],
    heads: 1,
    headDim: 8,
    params: { blockSize: 4, decayFactor: 1 },
  },
  moba: { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { chunkSize: 8, topk: 3 } },
  vmoba: { batch: 1, tokens: [4, 4, 4], heads: 1, headDim: 8, params: { tile: [2, 2], tau: 0.25 } },
  biformer: { batch: 1, tokens: [8, 8], heads: 1, headDim: 8, params: { nWin: 4, topk: 3 } },
  'dynamic-mask': { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { windowSize: 16, blockSize: 8 } },
  routing: { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { clusters: 4, window: 16 } },
  consciousness: { batch: 1, tokens: [64], heads: 1, headDim: 8, params: { elements: 8, blockSize: 8 } },
};

function picture(name: string): string {
  const e = getAttentionOp(name);
  const w = PICTURED[name];
  const n = tokenCount(w);
  const mask = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) mask.set(e.pattern(w, i), i * n);
  return maskPicture(mask, n, n, 32);
}

describe('README', () => {
  it('pattern pictures are generated from the registered methods', () => {
    let text = readFileSync(README, 'utf8');
    for (const name of Object.keys(PICTURED)) {
      const re = new RegExp(`(<!-- pattern:${name} -->\\n\`\`\`text\\n)([\\s\\S]*?)(\\n\`\`\`)`);
      const found = re.exec(text);
      expect(found, `README has no picture block for ${name}`).not.toBeNull();
      const fresh = picture(name);
      if (process.env.UPDATE_README === '1') text = text.replace(re, `$1${fresh}$3`);
      else expect(found![2], `picture of ${name} is stale (UPDATE_README=1 rewrites it)`).toBe(fresh);
    }
    if (process.env.UPDATE_README === '1') writeFileSync(README, text);
  });

  it('the example is readme-example.ts, and it runs', async () => {
    const readme = readFileSync(README, 'utf8');
    const block = /<!-- example -->\n```ts\n([\s\S]*?)\n```/.exec(readme);
    expect(block, 'README has no example block').not.toBeNull();
    const source = readFileSync(EXAMPLE, 'utf8').replace(
      "'../../src/index.js'",
      "'@attnkit/attention-sparse'",
    );
    expect(block![1]).toBe(source.trimEnd());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    // The example runs as a user's would without @attnkit/gpu-kernels: on the CPU backend.
    const before = currentBackendName();
    setBackend('cpu');
    try {
      await import('./readme-example.js');
      const lines = log.mock.calls;
      expect(lines[0][0]).toEqual([1, 64, 2, 16]);
      expect(lines[0][1]).toBeCloseTo(0.4375, 10);
      expect(lines[1]).toEqual([
        [1, 64, 2, 16],
        [1, 64, 2, 16],
      ]);
      expect(lines[2][0]).toEqual([96, 32]);
    } finally {
      setBackend(before);
      log.mockRestore();
    }
  });
});
