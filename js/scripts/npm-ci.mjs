// The `npm` the Python build hook calls (hatch-jupyter-builder's npm_builder runs
// `<npm> install` and then `<npm> run <build_cmd>`): `install` becomes `npm ci`, so a
// wheel is built from exactly the dependencies in package-lock.json and the lockfile
// is never rewritten; every other command goes to npm unchanged.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const npmArgs = args[0] === 'install' ? ['ci', '--no-audit', '--no-fund', ...args.slice(1)] : args;
const npm = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')
  ? [process.execPath, process.env.npm_execpath]
  : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
const result = spawnSync(npm[0], [...npm.slice(1), ...npmArgs], { stdio: 'inherit' });
process.exit(result.status ?? 1);
