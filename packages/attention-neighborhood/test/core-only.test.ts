import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../tsup.config.js';

// Builds the package with its own tsup config (JS only, into a temporary folder), then checks that the bundle
// imports nothing at run time but @attnkit/core, and runs it in a fresh Node process whose node_modules holds
// @attnkit/core alone: what `npm install @attnkit/core @attnkit/attention-neighborhood` gives.
const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attnkit-na-core-only-'));
  const options = Array.isArray(config) ? config[0] : config;
  await build({
    ...(options as object),
    entry: { index: join(pkg, 'src/index.ts') },
    outDir: join(dir, 'dist'),
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  });
  mkdirSync(join(dir, 'node_modules', '@attnkit'), { recursive: true });
  symlinkSync(join(pkg, '..', 'core'), join(dir, 'node_modules', '@attnkit', 'core'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Bare module specifiers a bundle imports or requires. */
function specifiers(code: string): string[] {
  const found = new Set<string>();
  for (const re of [
    /\bfrom\s*["']([^"'./][^"']*)["']/g,
    /\bimport\s*\(?\s*["']([^"'./][^"']*)["']/g,
    /\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g,
  ]) {
    for (const m of code.matchAll(re)) found.add(m[1]);
  }
  return [...found].sort();
}

describe('the built package with @attnkit/core alone', () => {
  it('imports only @attnkit/core at run time (ESM and CommonJS builds)', () => {
    for (const file of ['index.js', 'index.cjs']) {
      expect(specifiers(readFileSync(join(dir, 'dist', file), 'utf8')), file).toEqual(['@attnkit/core']);
    }
  });

  it('runs na2d, its gradient, HaloNet and the registry entries in a fresh Node process', () => {
    const script = `
      import { getAttentionOp, randomNormal, sum } from '@attnkit/core';
      import { haloAttention, na2d } from './dist/index.js';
      const q = randomNormal([1, 6, 6, 2, 4], { seed: 1 }).setRequiresGrad();
      const out = na2d(q, q, q, { kernelSize: 3, dilation: [1, 2] });
      sum(out).backward();
      const halo = haloAttention(q, q, q, { blockSize: 3, haloSize: 1 });
      console.log(JSON.stringify({
        backend: out.backend.name, shape: out.shape, grad: q.grad.shape, halo: halo.shape,
        finite: [...out.dataSync()].every(Number.isFinite), entry: getAttentionOp('na3d').packageName,
      }));
    `;
    writeFileSync(join(dir, 'run.mjs'), script);
    const printed = execFileSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(printed)).toEqual({
      backend: 'cpu',
      shape: [1, 6, 6, 2, 4],
      grad: [1, 6, 6, 2, 4],
      halo: [1, 6, 6, 2, 4],
      finite: true,
      entry: '@attnkit/attention-neighborhood',
    });
  });
});
