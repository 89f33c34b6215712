import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/demo.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  clean: true,
});
