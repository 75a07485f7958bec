// Build the prebuilt labextension into ../fusion_jupyter/labextension with
// @jupyterlab/builder, then check that what JupyterLab loads is there.
//
//   node scripts/build-labextension.mjs [--development]
//
// The builder needs JupyterLab's core package.json to know which modules JupyterLab
// shares (never bundled): jupyterlab-core/package.json is that file, kept in the
// repository (scripts/update-core.mjs refreshes it), so the build needs no Python
// JupyterLab. FUSION_JUPYTERLAB_CORE=<dir> points at another copy.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const builder = require.resolve('@jupyterlab/builder/lib/build-labextension.js');
const corePath = resolve(process.env.FUSION_JUPYTERLAB_CORE || join(root, 'jupyterlab-core'));
const args = [builder, '--core-path', corePath, ...process.argv.slice(2), '.'];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  process.exit(result.status ?? 1);
}

// The builder writes the remoteEntry's hashed name into the output package.json;
// a build that did not produce it must fail here rather than at page load.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outDir = resolve(root, pkg.jupyterlab.outputDir);
const outPkg = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8'));
const load = outPkg.jupyterlab?._build?.load;
if (!load || !existsSync(join(outDir, load))) {
  console.error(`build-labextension: no remoteEntry (${load}) in ${outDir}`);
  process.exit(1);
}
console.log(`labextension: ${join(outDir, load)}`);
