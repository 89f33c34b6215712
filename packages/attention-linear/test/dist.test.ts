import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Whether `code` imports or requires module `mod` (static, side-effect, dynamic or CommonJS). */
function loads(code: string, mod: string): boolean {
  const m = mod.replace(/[/]/g, '\\/');
  const q = `["']${m}["']`;
  return new RegExp(
    `from\\s*${q}|require\\(\\s*${q}\\s*\\)|import\\(\\s*${q}\\s*\\)|^\\s*import\\s*${q}`,
    'm',
  ).test(code);
}

// The package must run with @attnkit/core alone: the WebGPU kernels reach gpu-kernels only through
// `backend.kernelKit` and `import type`. Bundle the package as its tsup config does (without declarations) and
// check that no output file loads @attnkit/gpu-kernels at run time.
describe('the built package', () => {
  it('has no runtime import of @attnkit/gpu-kernels (ESM and CJS)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'attention-linear-dist-'));
    try {
      await build({
        entry: { index: join(ROOT, 'src/index.ts') },
        format: ['esm', 'cjs'],
        outDir,
        dts: false,
        sourcemap: false,
        clean: true,
        silent: true,
        target: 'es2022',
        platform: 'neutral',
        external: [/^node:/, '@attnkit/core', '@attnkit/gpu-kernels', 'webgpu'],
        config: false,
      });
      const files = readdirSync(outDir).filter((f) => /\.(c|m)?js$/.test(f));
      expect(files.sort()).toEqual(['index.cjs', 'index.js']);
      for (const f of files) {
        const code = readFileSync(join(outDir, f), 'utf8');
        expect(loads(code, '@attnkit/core')).toBe(true); // the check sees real imports
        for (const mod of ['@attnkit/gpu-kernels', 'webgpu']) expect(loads(code, mod)).toBe(false);
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('the dist folder, where built, loads neither gpu-kernels nor webgpu either', () => {
    for (const f of ['dist/index.js', 'dist/index.cjs']
      .map((p) => join(ROOT, p))
      .filter((p) => existsSync(p))) {
      const code = readFileSync(f, 'utf8');
      expect(loads(code, '@attnkit/core')).toBe(true);
      for (const mod of ['@attnkit/gpu-kernels', 'webgpu']) expect(loads(code, mod)).toBe(false);
    }
  });
});
