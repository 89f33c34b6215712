import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bareSpecifiers,
  buildCoreOnlyBundle,
  type CoreOnlyBundle,
} from '../../../scripts/testing/core-only-bundle.js';
import config from '../tsup.config.js';

// Builds the package with its own tsup config (JS only, into a temporary folder), then checks that the bundle
// imports nothing at run time but @attnkit/core, and runs it in a fresh Node process whose node_modules holds
// @attnkit/core alone: what `npm install @attnkit/core @attnkit/attention-neighborhood` gives.
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
let bundle: CoreOnlyBundle | undefined;

beforeAll(async () => {
  bundle = await buildCoreOnlyBundle({ packageDir: pkg, config, build, prefix: 'attnkit-na-core-only-' });
}, 120_000);

afterAll(() => bundle?.remove());

describe('the built package with @attnkit/core alone', () => {
  it('imports only @attnkit/core at run time (ESM and CommonJS builds)', () => {
    for (const file of ['index.js', 'index.cjs']) {
      expect(bareSpecifiers(bundle!.read(file)), file).toEqual(['@attnkit/core']);
    }
  });

  it('runs na2d, its gradient, HaloNet and the registry entries in a fresh Node process', () => {
    const printed = bundle!.run(`
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
    `);
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
