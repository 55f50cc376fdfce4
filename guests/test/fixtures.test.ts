import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const sources = readdirSync(join(root, 'src')).filter((f) => f.endsWith('.c'));
const clang = spawnSync('clang', ['--version']).status === 0;
const components = readdirSync(join(root, 'fixtures')).filter((f) => f.endsWith('.component.wasm'));
const require = createRequire(import.meta.url);

describe('committed guest fixtures', () => {
  it('there is one component per C source', () => {
    expect([...components].sort()).toEqual(sources.map((s) => s.replace(/\.c$/, '.component.wasm')).sort());
  });

  it('are the build of the committed sources (checksums recorded by scripts/build.sh)', () => {
    const recorded = new Map(
      readFileSync(join(root, 'fixtures', 'checksums.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [hash, file] = line.split(/ {2}/) as [string, string];
          return [file, hash];
        }),
    );
    const fromSqlite = createRequire(require.resolve('@eryx/vfs-sqlite/package.json'));
    const sqliteDir = join(dirname(fromSqlite.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3');
    const inputs: [string, string][] = [
      ...sources.map((s): [string, string] => [`src/${s}`, join(root, 'src', s)]),
      ...components.map((c): [string, string] => [`fixtures/${c}`, join(root, 'fixtures', c)]),
      ['better-sqlite3/deps/sqlite3/sqlite3.c', join(sqliteDir, 'sqlite3.c')],
    ];
    for (const [name, file] of inputs) {
      const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(hash, `${name} changed since the fixtures were built: run scripts/build.sh`).toBe(
        recorded.get(name),
      );
    }
    expect(recorded.size).toBe(inputs.length);
  });

  // The full rebuild needs clang with wasi-libc (see scripts/build.sh), so it is registered only
  // where clang exists; everywhere else the checksum test above proves the same link.
  if (clang)
    it('match their sources (rebuilt with clang)', async () => {
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
    }, 600_000);
});
