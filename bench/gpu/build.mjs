#!/usr/bin/env node
// Bundles the GPU benchmark (packages/gpu-kernels/bench/gpu.ts, with @attnkit/core and the WebGPU backend) into
// one file, .gpu/bench.mjs, with `webgpu` left external (the GPU kit carries it), and copies torch_side.py next
// to it. See README.md here for the device call.
//
//   node bench/gpu/build.mjs          writes .gpu/bench.mjs and .gpu/torch_side.py
//   node bench/gpu/build.mjs --try    bundles into packages/gpu-kernels/node_modules/.cache/gpu-bench/ (where
//                                     `webgpu` resolves) and runs it here with --small (SwiftShader)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = path.join(root, 'packages', 'gpu-kernels');
const tryHere = process.argv.includes('--try');
const outDir = tryHere ? path.join(pkg, 'node_modules', '.cache', 'gpu-bench') : path.join(root, '.gpu');

// esbuild comes with tsup, a devDependency of the package (the workspace root does not depend on esbuild).
const fromTsup = createRequire(createRequire(path.join(pkg, 'package.json')).resolve('tsup'));
const esbuildModule = await import(pathToFileURL(fromTsup.resolve('esbuild')).href);
const esbuild = esbuildModule.default ?? esbuildModule;

mkdirSync(outDir, { recursive: true });
const outfile = path.join(outDir, 'bench.mjs');
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
copyFileSync(path.join(root, 'bench', 'gpu', 'torch_side.py'), path.join(outDir, 'torch_side.py'));
console.log(`wrote ${path.relative(process.cwd(), outfile)} and torch_side.py`);

if (tryHere) {
  const out = path.join(outDir, 'out');
  const r = spawnSync(process.execPath, [outfile, '--small', '--out', out], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
