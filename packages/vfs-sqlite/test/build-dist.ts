import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: the multi-process and crash tests run child processes that import the
 * built package, so build it when `dist` is missing or older than `src`.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const stale = readdirSync(`${root}/src`).some((file) => {
    const built = `${root}/dist/${file.replace(/\.ts$/, '.js')}`;
    return !existsSync(built) || statSync(built).mtimeMs < statSync(`${root}/src/${file}`).mtimeMs;
  });
  if (!stale) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
