import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bareSpecifiers,
  buildCoreOnlyBundle,
  builtDistCode,
  type CoreOnlyBundle,
} from '../../../scripts/testing/core-only-bundle.js';
import config from '../tsup.config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Whether `code` imports or requires module `mod` (static, side-effect, dynamic or CommonJS). */
const loads = (code: string, mod: string) => bareSpecifiers(code).includes(mod);

// The package must run with @attnkit/core alone: the WebGPU kernels reach gpu-kernels only through
// `backend.kernelKit` and `import type`. Bundle the package as its tsup config does (without declarations) and
// check that no output file loads @attnkit/gpu-kernels at run time.
let bundle: CoreOnlyBundle | undefined;

beforeAll(async () => {
  bundle = await buildCoreOnlyBundle({ packageDir: ROOT, config, build, prefix: 'attention-linear-dist-' });
}, 120_000);

afterAll(() => bundle?.remove());

describe('the built package', () => {
  it('has no runtime import of @attnkit/gpu-kernels (ESM and CJS)', () => {
    const files = bundle!.files();
    expect(files).toEqual(['index.cjs', 'index.js']);
    for (const f of files) {
      const code = bundle!.read(f);
      expect(loads(code, '@attnkit/core')).toBe(true); // the check sees real imports
      for (const mod of ['@attnkit/gpu-kernels', 'webgpu']) expect(loads(code, mod)).toBe(false);
    }
  });

  it('the dist folder, where built, loads neither gpu-kernels nor webgpu either', () => {
    for (const { code } of builtDistCode(ROOT)) {
      expect(loads(code, '@attnkit/core')).toBe(true);
      for (const mod of ['@attnkit/gpu-kernels', 'webgpu']) expect(loads(code, mod)).toBe(false);
    }
  });
});
