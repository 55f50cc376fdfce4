import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const sources = readdirSync(join(root, 'src')).filter((f) => f.endsWith('.c'));
const clang = spawnSync('clang', ['--version']).status === 0;

describe('committed guest fixtures', () => {
  it('there is one component per C source', () => {
    const components = readdirSync(join(root, 'fixtures')).filter((f) => f.endsWith('.component.wasm'));
    expect(components.sort()).toEqual(sources.map((s) => s.replace(/\.c$/, '.component.wasm')).sort());
  });

  // A toolchain check: the fixtures are what scripts/build.sh makes of the sources. It needs clang
  // with wasi-libc (see scripts/build.sh); machines without it still run every guest test on the
  // committed fixtures, and only this comparison is skipped there.
  it.skipIf(!clang)(
    'match their sources (rebuilt with clang)',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'eryx-guests-build-'));
      try {
        // Asynchronous, so the test worker keeps answering vitest while clang compiles SQLite.
        await promisify(execFile)('bash', [join(root, 'scripts', 'build.sh')], {
          env: { ...process.env, OUT_DIR: out },
        });
        for (const source of sources) {
          const name = source.replace(/\.c$/, '.component.wasm');
          const rebuilt = readFileSync(join(out, name));
          const committed = readFileSync(join(root, 'fixtures', name));
          expect(rebuilt.equals(committed), `${name} differs from a fresh build of src/${source}`).toBe(true);
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
    600_000,
  );
});
