import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { currentBackendName, setBackend } from '@attnkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// Runs the README's example as written (with the package import pointed at the source) and checks every
// `console.log(...); // expected` line against what it printed.
describe('README example', () => {
  const before = currentBackendName();
  afterEach(() => setBackend(before));

  it('runs and prints what its comments say', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const expected = [...code!.matchAll(/console\.log\(.*\);\s*\/\/\s*(.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(3);
    // Under node_modules so that '@attnkit/core' resolves as from the package itself.
    const dir = join(ROOT, 'node_modules', '.readme-example');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'example.ts');
    writeFileSync(file, code!.replace("'@attnkit/attention-linear'", `'${join(ROOT, 'src', 'index.ts')}'`));
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      logs.push(format(...args));
    });
    try {
      setBackend('cpu'); // the example runs where a user without a GPU runs it
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    const squash = (s: string) => s.replace(/\s+/g, '').replace(/"/g, "'");
    expect(logs.map(squash)).toEqual(expected.map(squash));
  });
});
