import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/**
 * The sync bridge runs its backend in a worker thread that loads the built `dist/bridge/worker.js`
 * (a worker cannot load TypeScript), so the bridge tests build the package when `dist` is missing
 * or older than `src`.
 */
export function ensureDist(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const stale = sources(join(root, 'src')).some((file) => {
    const built = file.replace(`${root}src`, `${root}dist`).replace(/\.ts$/, '.js');
    return !existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs;
  });
  if (!stale) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
