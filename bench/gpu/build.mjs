#!/usr/bin/env node
// Bundles the GPU benchmarks into .gpu/ with `webgpu` left external (the GPU kit carries it): gpu-kernels'
// (packages/gpu-kernels/bench/gpu.ts -> bench.mjs, with bench/gpu/torch_side.py beside it) and every attention
// package's (packages/<pkg>/bench/gpu.ts -> bench-<pkg>.mjs, its bench/torch_side.py -> torch-<pkg>.py), the
// PyTorch scripts' shared module bench/gpu/torch_common.py, plus run-all.sh, which runs each WebGPU side and then
// its PyTorch side. See README.md here for the device call.
//
//   node bench/gpu/build.mjs          writes .gpu/bench*.mjs, the PyTorch scripts and .gpu/run-all.sh
//   node bench/gpu/build.mjs --only neighborhood,linear   only those (short names; 'kernels' is gpu-kernels')
//   node bench/gpu/build.mjs --try    bundles into packages/gpu-kernels/node_modules/.cache/gpu-bench/ (where
//                                     `webgpu` resolves) and runs every WebGPU side here with --small
//                                     (SwiftShader)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set(process.argv[onlyArg + 1].split(',')) : null;

/** Every benchmark to bundle: [bundle name, entry, PyTorch script or null, its name in .gpu/]. */
const all = [
  [
    'bench.mjs',
    path.join(pkg, 'bench', 'gpu.ts'),
    path.join(root, 'bench', 'gpu', 'torch_side.py'),
    'torch_side.py',
  ],
];
for (const name of readdirSync(path.join(root, 'packages')).sort()) {
  if (name === 'gpu-kernels') continue;
  const entry = path.join(root, 'packages', name, 'bench', 'gpu.ts');
  if (!existsSync(entry)) continue;
  const short = name.replace(/^attention-/, '');
  const torch = path.join(root, 'packages', name, 'bench', 'torch_side.py');
  all.push([`bench-${short}.mjs`, entry, existsSync(torch) ? torch : null, `torch-${short}.py`]);
}
const shortOf = (bundle) => (bundle === 'bench.mjs' ? 'kernels' : bundle.slice(6, -4));
const benches = only ? all.filter(([bundle]) => only.has(shortOf(bundle))) : all;
if (benches.length === 0) {
  console.error(`--only: none of ${[...only].join(', ')}; have ${all.map(([b]) => shortOf(b)).join(', ')}`);
  process.exit(2);
}

for (const [bundle, entry, torch, torchName] of benches) {
  await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(outDir, bundle),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['webgpu'],
    logLevel: 'warning',
  });
  if (torch) copyFileSync(torch, path.join(outDir, torchName));
  console.log(
    `wrote ${path.relative(process.cwd(), path.join(outDir, bundle))}${torch ? ` and ${torchName}` : ''}`,
  );
}

// The PyTorch scripts import their shared timing and report code from torch_common.py beside them.
if (benches.some(([, , torch]) => torch)) {
  copyFileSync(path.join(root, 'bench', 'gpu', 'torch_common.py'), path.join(outDir, 'torch_common.py'));
}

// One command for the device: every WebGPU side, each followed by its PyTorch side; a failure does not stop the
// rest (each writes its own JSON under $OUT).
const lines = benches.map(
  ([bundle, , torch, torchName]) =>
    `node .gpu/${bundle} "$@" || echo "${bundle} failed"` +
    (torch ? `\npython3 .gpu/${torchName} "$@" || echo "${torchName} failed"` : ''),
);
writeFileSync(
  path.join(outDir, 'run-all.sh'),
  `#!/bin/sh\n# Written by bench/gpu/build.mjs: every GPU benchmark of the repository, WebGPU then PyTorch.\n${lines.join('\n')}\n`,
);

if (tryHere) {
  const out = path.join(outDir, 'out');
  let status = 0;
  for (const [bundle] of benches) {
    const r = spawnSync(process.execPath, [path.join(outDir, bundle), '--small', '--out', out], {
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      console.error(`${bundle} exited with ${r.status}`);
      status = 1;
    }
  }
  process.exit(status);
}
