// Transpiles every fixtures/*.component.wasm with jco into dist/<name>/ (gitignored), as
// `--instantiation async` modules exporting `instantiate(getCoreModule, imports)`.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jco = join(root, 'node_modules', '.bin', 'jco');
const fixtures = join(root, 'fixtures');

for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.component.wasm'))) {
  const name = file.slice(0, -'.component.wasm'.length);
  const out = join(root, 'dist', name);
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    jco,
    [
      'transpile',
      join(fixtures, file),
      '-o',
      out,
      '--name',
      name,
      '--instantiation',
      'async',
      '--no-typescript',
      '--quiet',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  console.log(`transpiled ${file} -> dist/${name}/`);
}
