#!/usr/bin/env node
// Bundles the linear family's GPU benchmark (bench/gpu.ts with @attnkit/core, the WebGPU backend and this
// package's kernels) into one file, <repo>/.gpu/linear-bench.mjs, with `webgpu` left external (the GPU kit
// carries it), and copies torch_side.py next to it as linear_torch_side.py.
//
//   node packages/attention-linear/bench/bundle.mjs        writes .gpu/linear-bench.mjs and .gpu/linear_torch_side.py
//   node packages/attention-linear/bench/bundle.mjs --try  bundles into this package's node_modules/.cache/ (where
//                                                          `webgpu` resolves) and runs it here with --small
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(pkg, '../..');
const tryHere = process.argv.includes('--try');
const outDir = tryHere
  ? path.join(pkg, 'node_modules', '.cache', 'linear-gpu-bench')
  : path.join(root, '.gpu');

// esbuild comes with tsup, a devDependency of the package.
const fromTsup = createRequire(createRequire(path.join(pkg, 'package.json')).resolve('tsup'));
const esbuildModule = await import(pathToFileURL(fromTsup.resolve('esbuild')).href);
const esbuild = esbuildModule.default ?? esbuildModule;

mkdirSync(outDir, { recursive: true });
const outfile = path.join(outDir, 'linear-bench.mjs');
await esbuild.build({
  entryPoints: [path.join(pkg, 'bench', 'gpu.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['webgpu'],
  logLevel: 'warning',
});
copyFileSync(path.join(pkg, 'bench', 'torch_side.py'), path.join(outDir, 'linear_torch_side.py'));
console.log(`wrote ${path.relative(process.cwd(), outfile)} and linear_torch_side.py`);

if (tryHere) {
  const out = path.join(outDir, 'out');
  const r = spawnSync(process.execPath, [outfile, '--small', '--out', out], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
