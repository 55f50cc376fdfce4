// Transpiles every fixtures/*.component.wasm with jco into dist/<name>/ (gitignored), as
// `--instantiation async` modules exporting `instantiate(getCoreModule, imports)`: once with jco's
// default bindings, and once with `--import-bindings hybrid` into dist/hybrid/<name>/, where the
// core module calls the host's direct lowerings (`Symbol.for('cabiLower')`) instead of jco's glue.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jco = join(root, 'node_modules', '.bin', 'jco');
const fixtures = join(root, 'fixtures');

for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.component.wasm'))) {
  const name = file.slice(0, -'.component.wasm'.length);
  for (const [dir, bindings] of [
    [name, []],
    [`hybrid/${name}`, ['--import-bindings', 'hybrid']],
  ]) {
    const out = join(root, 'dist', dir);
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
        ...bindings,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    console.log(`transpiled ${file} -> dist/${dir}/`);
  }
}
