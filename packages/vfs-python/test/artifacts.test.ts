import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const repo = join(root, '..', '..');
const guest = join(root, 'guest');
const buildScript = join(root, 'build', 'build.sh');
// The rebuild needs Debian's clang 14 with wasi-libc and the WASM runtime library (build.sh's
// header lists them); CI has none of it, so there the checksum tests below prove the link.
const toolchain =
  spawnSync('clang-14', ['--version']).status === 0 &&
  existsSync('/usr/lib/wasm32-wasi/libc.a') &&
  existsSync('/usr/bin/python3.11');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** checksums.txt as file -> hash, in the order written. */
function recorded(dir: string): Map<string, string> {
  return new Map(
    readFileSync(join(dir, 'checksums.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [hash, file] = line.split(/ {2}/) as [string, string];
        return [file, hash];
      }),
  );
}

function sqliteDir(): string {
  const fromSqlite = createRequire(join(repo, 'packages', 'vfs-sqlite', 'package.json'));
  return join(dirname(fromSqlite.resolve('better-sqlite3/package.json')), 'deps', 'sqlite3');
}

/** Names of the entries of a zip, from its central directory. */
function zipEntries(zip: Uint8Array): string[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  expect(end, 'the zip has an end-of-central-directory record').toBeGreaterThanOrEqual(0);
  const count = view.getUint16(end + 10, true);
  const names: string[] = [];
  for (let at = view.getUint32(end + 16, true), i = 0; i < count; i++) {
    expect(view.getUint32(at, true)).toBe(0x02014b50);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    names.push(new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)));
    at += 46 + nameLength + extra;
  }
  return names;
}

describe('committed CPython guest', () => {
  it('is the build of the committed scripts (checksums recorded by build/build.sh)', () => {
    const sums = recorded(guest);
    const inputs: [string, string][] = [
      ['build/build.sh', buildScript],
      ['build/cabi_realloc.c', join(root, 'build', 'cabi_realloc.c')],
      ['build/stdlib.py', join(root, 'build', 'stdlib.py')],
      ['better-sqlite3/deps/sqlite3/sqlite3.c', join(sqliteDir(), 'sqlite3.c')],
      ...readdirSync(guest)
        .filter((f) => f !== 'checksums.txt')
        .map((f): [string, string] => [`guest/${f}`, join(guest, f)]),
    ];
    for (const [name, file] of inputs) {
      expect(
        sha256(readFileSync(file)),
        `${name} changed since the guest was built: run build/build.sh`,
      ).toBe(sums.get(name));
    }
    expect(sums.size).toBe(inputs.length);
  });

  it('records in BUILD-INFO the versions and flags build.sh builds with', () => {
    const info = readFileSync(join(guest, 'BUILD-INFO'), 'utf8').trim().split('\n');
    // The lines the script alone decides: it prints them without needing the toolchain.
    const config = spawnSync('bash', [buildScript, '--print-config'], { encoding: 'utf8' });
    expect(config.status, config.stderr).toBe(0);
    for (const line of config.stdout.trim().split('\n')) expect(info).toContain(line);
    // The jco build.sh runs (guests/node_modules/.bin/jco); its exports map hides package.json.
    const jcoPackage = join(repo, 'guests', 'node_modules', '@bytecodealliance', 'jco', 'package.json');
    const jco = JSON.parse(readFileSync(jcoPackage, 'utf8')) as { version: string };
    expect(info).toContain(`jco ${jco.version}`);
    const sqlite = /#define SQLITE_VERSION\s+"([^"]+)"/.exec(
      readFileSync(join(sqliteDir(), 'sqlite3.h'), 'utf8'),
    );
    expect(info).toContain(`sqlite ${sqlite?.[1]} (better-sqlite3 deps/sqlite3)`);
    for (const tool of ['clang', 'lld', 'wasi-libc', 'libclang-rt-14-dev-wasm32', 'build-python'])
      expect(info.some((line) => line.startsWith(`${tool} `))).toBe(true);
  });

  it('ships a WASI component (brotli, Node alone) and a zip stdlib with source and bytecode', () => {
    const component = brotliDecompressSync(readFileSync(join(guest, 'python.component.wasm.br')));
    // `\0asm`, then the component-model layer (version 0x0d, layer 1), not a core module.
    expect([...component.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    const names = new Set(zipEntries(readFileSync(join(guest, 'python311.zip'))));
    for (const name of [
      'os.py',
      'os.pyc',
      'encodings/__init__.py',
      'encodings/utf_8.pyc',
      'sqlite3/__init__.py',
      'json/decoder.pyc',
    ])
      expect(names.has(name), `${name} in python311.zip`).toBe(true);
    for (const dropped of ['test/__init__.py', 'idlelib/__init__.py', 'tkinter/__init__.py'])
      expect(names.has(dropped), `${dropped} is pruned`).toBe(false);
  });

  // The full rebuild needs the toolchain (see build/build.sh), so it is registered only where it
  // exists; everywhere else the checksum test above proves the same link.
  if (toolchain)
    it('match a fresh build (rebuilt with clang-14 and wasi-libc)', async () => {
      const out = mkdtempSync(join(tmpdir(), 'eryx-python-out-'));
      const work = mkdtempSync(join(tmpdir(), 'eryx-python-work-'));
      try {
        // Asynchronous, so the test worker keeps answering vitest while CPython builds.
        await promisify(execFile)('bash', [buildScript], {
          env: { ...process.env, OUT_DIR: out, WORK: work },
          maxBuffer: 64 * 1024 * 1024,
        });
        const committed = recorded(guest);
        const rebuilt = recorded(out);
        for (const [name, hash] of committed) {
          expect(rebuilt.get(name), `${name} differs from a fresh build of build/build.sh`).toBe(hash);
        }
        expect(rebuilt.size).toBe(committed.size);
      } finally {
        rmSync(out, { recursive: true, force: true });
        rmSync(work, { recursive: true, force: true });
      }
    }, 3_600_000);
});
