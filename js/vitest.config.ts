import { defineConfig } from 'vitest/config';

// Unit tests of the shared data layer (src/common/): plain Node, no DOM, no JupyterLab.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 10000
  }
});
