// Remove build outputs: lib/, tsconfig.tsbuildinfo, the labextension and widget bundles.
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const p of [
  join(root, 'lib'),
  join(root, 'tsconfig.tsbuildinfo'),
  resolve(root, '..', 'fusion_jupyter', 'labextension'),
  resolve(root, '..', 'fusion_jupyter', 'widgets', 'static')
]) {
  rmSync(p, { recursive: true, force: true });
}
