import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `run` starts its guests in a worker thread that loads the built `dist/worker.js` (a worker cannot
 * load TypeScript), so the tests build the package when `dist` is missing or older than `src`.
 */
export function ensureDist(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const stale = readdirSync(join(root, 'src'))
    .filter((name) => name.endsWith('.ts'))
    .some((name) => {
      const built = join(root, 'dist', name.replace(/\.ts$/, '.js'));
      return !existsSync(built) || statSync(built).mtimeMs < statSync(join(root, 'src', name)).mtimeMs;
    });
  if (!stale) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
