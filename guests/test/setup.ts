import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Transpiles the fixtures when dist/ is missing or older than them (`pnpm build` normally has). */
export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  const fixtures = join(root, 'fixtures');
  const stale = readdirSync(fixtures)
    .filter((file) => file.endsWith('.component.wasm'))
    .some((file) => {
      const name = file.slice(0, -'.component.wasm'.length);
      return [join(root, 'dist', name), join(root, 'dist', 'hybrid', name)].some((dir) => {
        const js = join(dir, `${name}.js`);
        return !existsSync(js) || statSync(js).mtimeMs < statSync(join(fixtures, file)).mtimeMs;
      });
    });
  if (stale) execFileSync(process.execPath, [join(root, 'scripts', 'transpile.mjs')], { stdio: 'inherit' });
}
