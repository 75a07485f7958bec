// Refresh jupyterlab-core/package.json: the parts of JupyterLab's own core package
// (jupyterlab/staging/package.json in the Python package) that the extension builder
// reads to decide which modules are shared with JupyterLab and never bundled:
// dependencies, resolutions and jupyterlab.singletonPackages.
//
//   node scripts/update-core.mjs [path/to/jupyterlab/staging/package.json]
//
// Without an argument it asks `python -c "import jupyterlab"` where that file is.
// Keeping a copy in the repository lets `pip install .` build the labextension in an
// isolated build environment without installing JupyterLab into it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let source = process.argv[2];
if (!source) {
  const python = process.env.PYTHON || 'python';
  const pkgDir = execFileSync(
    python,
    ['-c', 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))'],
    { encoding: 'utf8' }
  ).trim();
  source = join(pkgDir, 'staging', 'package.json');
}
const core = JSON.parse(readFileSync(source, 'utf8'));
const sorted = obj => Object.fromEntries(Object.entries(obj ?? {}).sort(([a], [b]) => a.localeCompare(b)));
const slim = {
  name: core.name,
  version: core.version,
  private: true,
  description: `Copied by scripts/update-core.mjs from JupyterLab ${core.jupyterlab.version}'s staging/package.json (BSD-3-Clause): only what @jupyterlab/builder reads.`,
  dependencies: sorted(core.dependencies),
  resolutions: sorted(core.resolutions),
  jupyterlab: {
    version: core.jupyterlab.version,
    singletonPackages: [...core.jupyterlab.singletonPackages].sort()
  }
};
const target = join(here, '..', 'jupyterlab-core', 'package.json');
writeFileSync(target, JSON.stringify(slim, null, 2) + '\n');
console.log(`wrote ${target} from ${source} (JupyterLab ${core.jupyterlab.version})`);
