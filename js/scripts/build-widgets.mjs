// Build the anywidget front-ends: every src/widgets/<name>.ts becomes one
// self-contained ES module, ../fusion_jupyter/widgets/static/<name>.js (plus
// <name>.css when the entry imports CSS), which the Python widget class loads as
// its _esm (and _css).
//
//   node scripts/build-widgets.mjs [--development]
//
// The widgets share src/common/ (REST client, stream client, run store) with the
// sidebar panel; they must not import @jupyterlab/* (anywidget front-ends also run
// outside JupyterLab). With no entry yet, this builds nothing and says so.
import { build } from 'esbuild';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'widgets');
const outDir = resolve(root, '..', 'fusion_jupyter', 'widgets', 'static');
const development = process.argv.includes('--development');

/** The entry points: src/widgets/*.ts, not declarations, not tests. */
export function widgetEntries(dir = srcDir) {
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter(n => /\.tsx?$/.test(n) && !/\.(d|test|spec)\.tsx?$/.test(n))
    .sort()
    .map(n => join(dir, n));
}

const entries = widgetEntries();
if (entries.length === 0) {
  console.log('build-widgets: no entries in src/widgets/, nothing to build');
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: entries,
  outdir: outDir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: !development,
  sourcemap: development ? 'inline' : false,
  logLevel: 'info',
  // Anywidget loads each module by itself: no shared chunks.
  splitting: false,
  loader: { '.svg': 'text' }
});
