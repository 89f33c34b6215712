import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it, vi } from 'vitest';

// The README's example is documentation that must run: extract it and execute it against the source.
it('the README example runs and trains', async () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const dir = mkdtempSync(path.join(__dirname, '.readme-'));
  const file = path.join(dir, 'example.ts');
  const src = path.join(__dirname, '..', 'src', 'index.ts').replaceAll('\\', '/');
  writeFileSync(file, code!.replace("from '@attnkit/core'", `from '${src}'`));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(file);
    const lines = log.mock.calls.map((c) => String(c[0]));
    const m = /cross-entropy (\d+\.\d+) -> (\d+\.\d+)/.exec(lines[0]);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeLessThan(Number(m![1]));
    expect(log.mock.calls[1][0]).toEqual([1, 7, 7, 2, 8]);
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
