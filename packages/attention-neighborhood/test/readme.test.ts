import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentBackendName, setBackend } from '@attnkit/core';
import { afterAll, expect, it, vi } from 'vitest';

// The README's example, run as written (on the CPU, the backend an install with core alone has), with the
// package's name pointed at its source.
const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, `.readme-example-${process.pid}.ts`);

afterAll(() => rmSync(file, { force: true }));

it('runs the README example and prints what its comments say', async () => {
  const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeTruthy();
  writeFileSync(file, code!.replace("'@attnkit/attention-neighborhood'", "'../src/index.js'"));
  const logs: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    logs.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
  });
  const before = currentBackendName();
  setBackend('cpu');
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    setBackend(before);
  }
  expect(logs).toEqual([
    '[1,16,16,4,8]',
    '[1,16,16,4,8]',
    '[1,64,8,16]',
    '[1,16,16,32]',
    '["rpb","qkv.weight","qkv.bias","proj.weight","proj.bias"]',
    '11.1 11.1 true',
  ]);
});
