// What the "built package runs with only core" tests of attention-neighborhood, attention-sparse and
// attention-linear share: bundle a package as its tsup config ships it (JS only, into a temporary folder next to a
// node_modules that holds @attnkit/core alone, which is what `npm install @attnkit/core <package>` gives), list
// the bare modules the bundle loads, and run scripts against it in a fresh Node process.
// It lives here, not in core's testing entry, because it needs Node (fs, child_process) at module top level and
// @attnkit/core/testing must stay browser-safe. 'tsup' does not resolve from this folder (each package depends
// on it, the root does not), so a test hands in its own `build` and tsup config.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** tsup's `build` as this helper calls it (method syntax: tsup's own, stricter option type is accepted). */
export interface TsupBuilder {
  /** Bundles with these options. */
  build(options: object): Promise<unknown>;
}

/** What {@link buildCoreOnlyBundle} needs. */
export interface CoreOnlyBundleOptions {
  /** The package's folder (it holds `src/index.ts`; `../core` is @attnkit/core). */
  packageDir: string;
  /** The package's tsup config, as its `tsup.config.ts` exports it (an object or an array of them). */
  config: unknown;
  /** tsup's `build`, from the package's own tsup. */
  build: TsupBuilder['build'];
  /** Prefix of the temporary folder's name. */
  prefix: string;
}

/** A package bundled into a temporary folder whose node_modules holds @attnkit/core alone. */
export interface CoreOnlyBundle {
  /** The temporary folder: `dist/` (the bundle), `node_modules/@attnkit/core`, a `package.json` of type module. */
  readonly dir: string;
  /** The JavaScript files of `dist/`, sorted. */
  files(): string[];
  /** The text of `dist/<file>`. */
  read(file: string): string;
  /** Runs `script` as an ES module in a fresh Node process in {@link CoreOnlyBundle.dir}; returns what it printed. */
  run(script: string): string;
  /** Deletes the temporary folder. */
  remove(): void;
}

/**
 * Bundles the package with its own tsup config (JS only: no declarations, no source maps) into `dir/dist`, and
 * sets `dir` up so that a script there imports `./dist/index.js` and finds @attnkit/core and nothing else.
 */
export async function buildCoreOnlyBundle(opts: CoreOnlyBundleOptions): Promise<CoreOnlyBundle> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const options = Array.isArray(opts.config) ? opts.config[0] : opts.config;
  await opts.build({
    ...(options as object),
    entry: { index: join(opts.packageDir, 'src/index.ts') },
    outDir: join(dir, 'dist'),
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  });
  mkdirSync(join(dir, 'node_modules', '@attnkit'), { recursive: true });
  symlinkSync(join(opts.packageDir, '..', 'core'), join(dir, 'node_modules', '@attnkit', 'core'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return {
    dir,
    files: () =>
      readdirSync(join(dir, 'dist'))
        .filter((f) => /\.(c|m)?js$/.test(f))
        .sort(),
    read: (file) => readFileSync(join(dir, 'dist', file), 'utf8'),
    run: (script) => {
      writeFileSync(join(dir, 'run.mjs'), script);
      return execFileSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8' });
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Bare module specifiers that `code` imports or requires (static, side-effect, dynamic, CommonJS), sorted. */
export function bareSpecifiers(code: string): string[] {
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

/** The texts of the package's own `dist/index.js` and `dist/index.cjs`, those that are built. */
export function builtDistCode(packageDir: string): { file: string; code: string }[] {
  return ['dist/index.js', 'dist/index.cjs']
    .map((p) => join(packageDir, p))
    .filter((p) => existsSync(p))
    .map((file) => ({ file, code: readFileSync(file, 'utf8') }));
}
