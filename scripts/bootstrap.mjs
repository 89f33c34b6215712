#!/usr/bin/env node
// Runs a workspace task on a machine that has only Node.js (>= 20) and npm.
//
//   node scripts/bootstrap.mjs test            every check: build, typecheck, lint, publint/attw, docs, tests
//   node scripts/bootstrap.mjs demo [args...]  builds the attention-bench app and runs its demo with args
//   node scripts/bootstrap.mjs install         only makes pnpm available and installs the workspace
//
// pnpm is the version pinned by "packageManager" in package.json. A `pnpm` on PATH is used only when it is
// exactly that version; otherwise it is installed once into .tools/ (git-ignored) with npm, never globally.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isWindows = process.platform === 'win32';
const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const pnpmVersion = /^pnpm@(\d+\.\d+\.\d+)$/.exec(rootManifest.packageManager ?? '')?.[1];
const toolsDir = path.join(root, '.tools');
const toolsBin = path.join(toolsDir, 'node_modules', '.bin');
const vitestReport = path.join(root, 'node_modules', '.cache', 'attnkit', 'vitest-report.json');

const DEMO_APP = '@attnkit/attention-bench';
const DEMO_APP_DIR = path.join(root, 'apps', 'attention-bench');
/** Turbo tasks run by `test`, besides the tests themselves (which run once, below, through the root vitest). */
const CHECK_TASKS = ['build', 'typecheck', 'lint', 'lint:root', 'check', 'docs:site'];

function fail(message) {
  console.error(`\nbootstrap: ${message}`);
  process.exit(1);
}

function log(message) {
  console.log(`\nbootstrap: ${message}`);
}

// Without a GPU, WebGPU (Dawn) runs on the SwiftShader driver of Debian's chromium package, whose Vulkan loader
// lives in /usr/lib/chromium, off the library path; the loader reads LD_LIBRARY_PATH only at process start, so
// it is set here for everything the tasks start (the demo, tests and benchmarks).
const CHROMIUM_LIB = '/usr/lib/chromium';
const ldLibraryPath =
  process.platform === 'linux' && existsSync(path.join(CHROMIUM_LIB, 'libvulkan.so.1'))
    ? [process.env.LD_LIBRARY_PATH, CHROMIUM_LIB].filter(Boolean).join(path.delimiter)
    : process.env.LD_LIBRARY_PATH;

const env = {
  ...process.env,
  ...(ldLibraryPath ? { LD_LIBRARY_PATH: ldLibraryPath } : {}),
  // pnpm from .tools must be what turbo and package scripts find when they call `pnpm`.
  PATH: `${toolsBin}${path.delimiter}${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
  npm_config_update_notifier: 'false',
};

/** Runs a command with inherited stdio; returns its exit status (signals count as failure). */
function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, shell: isWindows, ...options });
  if (result.error) fail(`could not start ${cmd}: ${result.error.message}`);
  return result.status ?? 1;
}

function versionOf(cmd) {
  const result = spawnSync(cmd, ['--version'], { cwd: root, env, encoding: 'utf8', shell: isWindows });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensurePnpm() {
  if (!pnpmVersion) fail('package.json has no "packageManager": "pnpm@x.y.z" field');
  const local = path.join(toolsBin, isWindows ? 'pnpm.cmd' : 'pnpm');
  if (existsSync(local) && versionOf(local) === pnpmVersion) return local;
  // A pnpm already on PATH (outside .tools) is fine when it is exactly the pinned version.
  const onPath = spawnSync('pnpm', ['--version'], {
    cwd: root,
    env: process.env,
    encoding: 'utf8',
    shell: isWindows,
  });
  if (onPath.status === 0 && onPath.stdout.trim() === pnpmVersion) return 'pnpm';

  log(`installing pnpm ${pnpmVersion} into .tools/ with npm (once; no global install)`);
  rmSync(toolsDir, { recursive: true, force: true });
  const npm = isWindows ? 'npm.cmd' : 'npm';
  const status = run(npm, [
    'install',
    '--prefix',
    toolsDir,
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    `pnpm@${pnpmVersion}`,
  ]);
  if (status !== 0) fail(`npm could not install pnpm@${pnpmVersion} into .tools/`);
  const got = versionOf(local);
  if (got !== pnpmVersion) fail(`.tools/ pnpm reports version ${got ?? '(none)'}, expected ${pnpmVersion}`);
  return local;
}

function install(pnpm) {
  log('pnpm install --frozen-lockfile');
  if (run(pnpm, ['install', '--frozen-lockfile']) !== 0) {
    fail('pnpm install failed (if you changed a package.json, run `pnpm install` and commit pnpm-lock.yaml)');
  }
}

/** Counts from vitest's JSON report, or undefined when it was not written. */
function readVitestCounts() {
  if (!existsSync(vitestReport)) return undefined;
  try {
    const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
    return {
      passed: report.numPassedTests ?? 0,
      failed: report.numFailedTests ?? 0,
      skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    };
  } catch {
    return undefined;
  }
}

function test(pnpm, args) {
  const failures = [];
  log(`turbo run ${CHECK_TASKS.join(' ')}`);
  const turboStatus = run(pnpm, [
    'exec',
    'turbo',
    'run',
    ...CHECK_TASKS,
    '--continue=dependencies-successful',
    '--ui=stream',
    ...args,
  ]);
  if (turboStatus !== 0) failures.push('turbo checks (see the failed tasks listed above)');

  log('vitest run (all projects)');
  rmSync(vitestReport, { force: true });
  const vitestStatus = run(pnpm, [
    'exec',
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${vitestReport}`,
  ]);
  const counts = readVitestCounts();
  if (vitestStatus !== 0) failures.push('vitest');
  else if (!counts || counts.passed === 0) failures.push('vitest ran no test');

  if (failures.length > 0) {
    console.error(`\nbootstrap: FAILED: ${failures.join('; ')}`);
  } else {
    console.log('\nbootstrap: all checks passed (build, typecheck, lint, publint/attw, docs, tests)');
  }
  if (counts) {
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
    console.log(`tests: ${counts.passed} passed, ${counts.failed} failed${skipped}`);
  }
  return failures.length === 0 ? 0 : 1;
}

function demo(pnpm, args) {
  if (!existsSync(path.join(DEMO_APP_DIR, 'package.json'))) {
    fail(`the demo app is missing: ${path.relative(root, DEMO_APP_DIR)}/package.json does not exist yet`);
  }
  log(`building ${DEMO_APP} and the packages it depends on`);
  const buildStatus = run(pnpm, [
    'exec',
    'turbo',
    'run',
    'build',
    `--filter=${DEMO_APP}...`,
    '--output-logs=errors-only',
    '--ui=stream',
  ]);
  if (buildStatus !== 0) fail(`building ${DEMO_APP} failed`);
  // pnpm passes every token after the script name to the script verbatim, so no `--` separator here.
  return run(pnpm, ['--filter', DEMO_APP, 'run', 'demo', ...args]);
}

const [task, ...args] = process.argv.slice(2);
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node.js >= 20 is required (this is ${process.version})`);
if (!['test', 'demo', 'install'].includes(task)) {
  fail(`unknown task ${JSON.stringify(task)}; use one of: test, demo, install`);
}

const pnpm = ensurePnpm();
install(pnpm);
if (task === 'test') process.exit(test(pnpm, args));
if (task === 'demo') process.exit(demo(pnpm, args));
