import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../../tsup.config.js';

// Builds the package with its own tsup config (JS only, into a temporary folder), checks that the bundle
// imports nothing at run time but @attnkit/core (gpu-kernels is reached through backend.kernelKit and
// `import type` only), and runs it in a fresh Node process whose node_modules holds @attnkit/core alone.
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attnkit-sparse-dist-'));
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

/** Bare module specifiers a bundle imports or requires (static, side-effect, dynamic, CommonJS). */
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

describe('the built package', () => {
  it('imports only @attnkit/core at run time, no @attnkit/gpu-kernels (ESM and CommonJS)', () => {
    for (const file of ['index.js', 'index.cjs']) {
      expect(specifiers(readFileSync(join(dir, 'dist', file), 'utf8')), file).toEqual(['@attnkit/core']);
    }
  });

  it('the dist folder, where built, has no runtime import of @attnkit/gpu-kernels either', () => {
    const built = ['dist/index.js', 'dist/index.cjs'].map((p) => join(pkg, p)).filter((p) => existsSync(p));
    for (const f of built) expect(specifiers(readFileSync(f, 'utf8'))).not.toContain('@attnkit/gpu-kernels');
  });

  it('runs methods and registers its ops with @attnkit/core alone, in a fresh Node process', () => {
    const script = `
      import { listAttentionOps, randomNormal, sum } from '@attnkit/core';
      import { mobaAttention, SPARSE_ATTENTION_OPS } from './dist/index.js';
      const q = randomNormal([1, 16, 2, 4], { seed: 1 });
      q.requiresGrad = true;
      const y = mobaAttention(q, q, q, { chunkSize: 4, topk: 2 });
      sum(y).backward();
      const ops = listAttentionOps().filter((e) => e.packageName === '@attnkit/attention-sparse').map((e) => e.name);
      console.log(JSON.stringify({ shape: y.shape, grad: q.grad.shape, same: ops.join() === SPARSE_ATTENTION_OPS.join() }));
    `;
    writeFileSync(join(dir, 'run.mjs'), script);
    const out = execFileSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ shape: [1, 16, 2, 4], grad: [1, 16, 2, 4], same: true });
  });
});
