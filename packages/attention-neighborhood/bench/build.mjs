#!/usr/bin/env node
// Bundles this package's GPU benchmark (bench/gpu.ts, with @attnkit/core, the WebGPU backend and the package
// source) into one file, .gpu/bench-neighborhood.mjs at the repository root, with `webgpu` left external (the GPU kit
// carries it), and copies torch_side.py next to it as .gpu/torch-neighborhood.py. See README.md here.
//
//   node packages/attention-neighborhood/bench/build.mjs         writes .gpu/bench-neighborhood.mjs and .gpu/torch-neighborhood.py
//   node packages/attention-neighborhood/bench/build.mjs --try   bundles into node_modules/.cache/na-gpu-bench/ of
//                                                                gpu-kernels (where `webgpu` resolves) and runs it
//                                                                here with --small (SwiftShader)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const root = path.resolve(pkg, '../..');
const kernels = path.join(root, 'packages', 'gpu-kernels');
const tryHere = process.argv.includes('--try');
const outDir = tryHere
  ? path.join(kernels, 'node_modules', '.cache', 'na-gpu-bench')
  : path.join(root, '.gpu');

// esbuild comes with tsup, a devDependency of the package.
const fromTsup = createRequire(createRequire(path.join(pkg, 'package.json')).resolve('tsup'));
const esbuildModule = await import(pathToFileURL(fromTsup.resolve('esbuild')).href);
const esbuild = esbuildModule.default ?? esbuildModule;

mkdirSync(outDir, { recursive: true });
const outfile = path.join(outDir, 'bench-neighborhood.mjs');
await esbuild.build({
  entryPoints: [path.join(here, 'gpu.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['webgpu'],
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'torch_side.py'), path.join(outDir, 'torch-neighborhood.py'));
console.log(`wrote ${path.relative(process.cwd(), outfile)} and torch-neighborhood.py`);

if (tryHere) {
  const out = path.join(outDir, 'out');
  const r = spawnSync(process.execPath, [outfile, '--small', '--out', out], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
