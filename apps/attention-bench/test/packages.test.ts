import { describe, expect, it } from 'vitest';
import { isMissingPackage, loadAttentionPackages } from '../src/packages.js';

describe('optional attention packages', () => {
  it('says which packages are installed and which are not', async () => {
    expect(await loadAttentionPackages(['@attnkit/not-a-package'])).toBe(
      'attention packages: none installed besides @attnkit/core (tried @attnkit/not-a-package)',
    );
    // Any importable module stands in for an installed package here.
    expect(await loadAttentionPackages(['node:path', '@attnkit/not-a-package'])).toBe(
      'attention packages: node:path (1 other(s) not installed)',
    );
  });

  it('tells a missing package from a package whose own dependency is missing', () => {
    const missing = Object.assign(new Error("Cannot find package '@attnkit/x' imported from /app/main.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const broken = Object.assign(
      new Error("Cannot find package 'webgpu' imported from /app/node_modules/@attnkit/x/dist/index.js"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    expect(isMissingPackage(missing, '@attnkit/x')).toBe(true);
    expect(isMissingPackage(broken, '@attnkit/x')).toBe(false);
    expect(isMissingPackage(new SyntaxError("Unexpected token '@attnkit/x'"), '@attnkit/x')).toBe(false);
  });
});
