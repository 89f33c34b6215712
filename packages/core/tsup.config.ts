import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'node/index': 'src/node/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  // Entries share one copy of module state (the backend and kernel registries): code used by more than one
  // entry goes to a shared chunk in both formats instead of being duplicated into each entry.
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  external: [/^node:/],
});
