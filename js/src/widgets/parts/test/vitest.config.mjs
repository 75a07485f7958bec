// Unit tests of the widget front-ends' logic (plain Node, no DOM):
//   cd js && npx vitest run --config src/widgets/parts/test/vitest.config.mjs
// (tests/unit/test_widgets_js.py runs them from pytest).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
    environment: 'node',
    testTimeout: 10000
  }
});
