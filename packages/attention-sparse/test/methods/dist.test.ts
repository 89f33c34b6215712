import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bareSpecifiers,
  buildCoreOnlyBundle,
  builtDistCode,
  type CoreOnlyBundle,
} from '../../../../scripts/testing/core-only-bundle.js';
import config from '../../tsup.config.js';

// Builds the package with its own tsup config (JS only, into a temporary folder), checks that the bundle
// imports nothing at run time but @attnkit/core (gpu-kernels is reached through backend.kernelKit and
// `import type` only), and runs it in a fresh Node process whose node_modules holds @attnkit/core alone.
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let bundle: CoreOnlyBundle | undefined;

beforeAll(async () => {
  bundle = await buildCoreOnlyBundle({ packageDir: pkg, config, build, prefix: 'attnkit-sparse-dist-' });
}, 120_000);

afterAll(() => bundle?.remove());

describe('the built package', () => {
  it('imports only @attnkit/core at run time, no @attnkit/gpu-kernels (ESM and CommonJS)', () => {
    for (const file of ['index.js', 'index.cjs']) {
      expect(bareSpecifiers(bundle!.read(file)), file).toEqual(['@attnkit/core']);
    }
  });

  it('the dist folder, where built, has no runtime import of @attnkit/gpu-kernels either', () => {
    for (const { code } of builtDistCode(pkg))
      expect(bareSpecifiers(code)).not.toContain('@attnkit/gpu-kernels');
  });

  it('runs methods and registers its ops with @attnkit/core alone, in a fresh Node process', () => {
    const out = bundle!.run(`
      import { listAttentionOps, randomNormal, sum } from '@attnkit/core';
      import { mobaAttention, SPARSE_ATTENTION_OPS } from './dist/index.js';
      const q = randomNormal([1, 16, 2, 4], { seed: 1 });
      q.requiresGrad = true;
      const y = mobaAttention(q, q, q, { chunkSize: 4, topk: 2 });
      sum(y).backward();
      const ops = listAttentionOps().filter((e) => e.packageName === '@attnkit/attention-sparse').map((e) => e.name);
      console.log(JSON.stringify({ shape: y.shape, grad: q.grad.shape, same: ops.join() === SPARSE_ATTENTION_OPS.join() }));
    `);
    expect(JSON.parse(out.trim())).toEqual({ shape: [1, 16, 2, 4], grad: [1, 16, 2, 4], same: true });
  });
});
