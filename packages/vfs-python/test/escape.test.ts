import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON_GUEST_FILES } from '../src/index.js';
import { fixture, fixtureText, python, tempDir, URL_STORES } from './helpers.js';

/*
 * A hostile script (fixtures/escape.py) tries, from inside the guest, to read and write host files
 * by every route we know: traversal, host absolute paths, /proc and /dev, symlinks and hard links
 * (its own, and ones planted on the host inside a host mount), renames across mounts, the read-only
 * standard library, awkward names and extreme offsets. It prints one line per attempt; the host side
 * then checks that nothing outside the mounts changed and that the planted secret never showed up.
 */

const ESCAPE = fixtureText('escape.py');
/** What escape.py prints on SQLite, PostgreSQL and (with the overrides below) the others. */
const TRANSCRIPT = readFileSync(fixture('escape.expected'), 'utf8');

/**
 * Lines that differ by backend, as label -> outcome.
 * - memory: the store's default 64 MiB limit refuses a 1 TiB sparse file (SQLite and PostgreSQL
 *   store the gap as nothing).
 */
const OVERRIDES: Record<string, Record<string, string>> = {
  memory: {
    'seek 2**40 write': 'OSError ENOSPC',
    'truncate 2**40': 'OSError ENOSPC',
    'data size': "ok [('inside.txt', 6), ('pwrite.bin', 0), ('seek.bin', 0)]",
  },
};

/**
 * Attempts that may succeed: listings of what the guest may see, and creations inside its own
 * mounts. Every other attempt must fail, whatever the transcript file says.
 */
const MAY_SUCCEED = new Set([
  'list root',
  // Links inside /data are stored as written; following them is what must fail.
  'symlink data to secret',
  'symlink data relative up',
  'readlink data up',
  // A hard link within /data is a second name of the guest's own file (issue #22).
  'link within data',
  'list stdlib',
  'create name 255',
  'create name 255 bytes utf-8',
  'create newline',
  'create backslash',
  'create control',
  'create fullwidth slash',
  'create fullwidth dots',
  'create one dot leader',
  'create lone surrogate',
  'read fullwidth traversal',
  'create fullwidth in host',
  'seek 2**40 write',
  'truncate 2**40',
  'data size',
  'data names',
  'host names',
]);

function transcript(lines: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines.split('\n').filter((l) => l !== '' && l !== 'done')) {
    const at = line.indexOf(': ');
    expect(at, line).toBeGreaterThan(0);
    map.set(line.slice(0, at), line.slice(at + 2));
  }
  return map;
}

/** Every file, directory and symlink under `dir` (not following links), with what identifies it. */
function snapshot(dir: string, skip?: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (path === skip) continue;
      const stat = lstatSync(path);
      const key = relative(dir, path);
      if (stat.isSymbolicLink()) out[key] = `link ${readlinkSync(path)}`;
      else if (stat.isDirectory()) {
        out[key] = `dir ${stat.mode}`;
        walk(path);
      } else {
        const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
        out[key] = `file ${stat.size} ${stat.mtimeMs} ${stat.mode} ${hash}`;
      }
    }
  };
  walk(dir);
  return out;
}

interface Playground {
  dir: string;
  secret: string;
  secretText: string;
  hostMount: string;
  marker: string;
}

/**
 * A temporary directory holding a secret (a file whose content must never reach the guest), a
 * canary next to it, and the directory mounted read-write at /host with symlinks planted in it
 * that point at the secret (absolute, relative, and at its directory).
 */
function playground(): Playground {
  const dir = tempDir('vfs-python-escape-');
  const secretDir = join(dir, 'secret');
  mkdirSync(secretDir);
  const secretText = `SECRET-${randomBytes(12).toString('hex')}`;
  const secret = join(secretDir, 'secret.txt');
  writeFileSync(secret, secretText);
  writeFileSync(join(dir, 'canary.txt'), 'canary');
  const hostMount = join(dir, 'host');
  mkdirSync(hostMount);
  symlinkSync(secret, join(hostMount, 'planted-absolute'));
  symlinkSync('../secret/secret.txt', join(hostMount, 'planted-relative'));
  symlinkSync(secretDir, join(hostMount, 'planted-dir'));
  return { dir, secret, secretText, hostMount, marker: `eryx-escape-${randomBytes(6).toString('hex')}` };
}

const markerEntries = (dir: string, marker: string) =>
  readdirSync(dir).filter((name) => name.includes(marker));

const STORES: Array<{ name: string; url: () => string; drop: (url: string) => Promise<void> }> = [
  { name: 'memory', url: () => 'memory:', drop: async () => {} },
  ...URL_STORES,
];

describe.each(STORES)('the escape suite on a $name store at /data', (store) => {
  it('reaches nothing of the host outside its mounts, and gets Python exceptions, never a trap', async () => {
    const ground = playground();
    const stdlibDir = dirname(PYTHON_GUEST_FILES.component);
    const before = { test: snapshot(ground.dir, ground.hostMount), stdlib: snapshot(stdlibDir) };
    const url = store.url();
    let result: Awaited<ReturnType<typeof python>>;
    try {
      result = await python({
        code: ESCAPE,
        args: [
          JSON.stringify({
            secret: ground.secret,
            marker: ground.marker,
            hostTmp: tmpdir(),
            testDir: ground.dir,
          }),
        ],
        mounts: { '/data': url, '/host': `host:${ground.hostMount}` },
        // No /tmp in the guest, so that the host's temporary directory (often /tmp) is not shadowed.
        tmp: false,
        timeout: 90_000,
      });
    } finally {
      await store.drop(url);
    }

    // The guest ran to its end: every attempt became a Python exception or a result.
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ status: 'exited', exitCode: 0, unstored: [] });
    expect(result.stdout.endsWith('\ndone\n')).toBe(true);

    // No host data reached the guest.
    expect(result.stdout).not.toContain(ground.secretText);
    expect(result.stdout).not.toMatch(/root:x?:0:0/);

    const got = transcript(result.stdout);
    for (const [label, outcome] of got) {
      if (!MAY_SUCCEED.has(label)) expect(outcome, label).not.toMatch(/^ok/);
    }
    const expected = transcript(TRANSCRIPT);
    for (const [label, outcome] of Object.entries(OVERRIDES[store.name] ?? {})) {
      expect(expected.has(label), label).toBe(true);
      expected.set(label, outcome);
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));

    // Nothing changed on the host outside the read-write mount, nor in the standard library...
    expect(snapshot(ground.dir, ground.hostMount)).toEqual(before.test);
    expect(snapshot(stdlibDir)).toEqual(before.stdlib);
    expect(readFileSync(ground.secret, 'utf8')).toBe(ground.secretText);
    // ...and inside the mount, only what the guest made there, next to the untouched planted links.
    expect(snapshot(ground.hostMount)).toMatchObject({
      'planted-absolute': `link ${ground.secret}`,
      'planted-relative': 'link ../secret/secret.txt',
      'planted-dir': `link ${dirname(ground.secret)}`,
    });
    expect(readdirSync(ground.hostMount).sort()).toEqual(
      ['inside.txt', 'planted-absolute', 'planted-dir', 'planted-relative', 'seek-host.bin', '．．'].sort(),
    );
    // Every name the guest tried to create outside its mounts carries the marker: none exists.
    for (const dir of [tmpdir(), dirname(ground.dir), ground.dir, ground.hostMount]) {
      expect(markerEntries(dir, ground.marker), dir).toEqual([]);
    }
    for (const dir of ['/etc', '/root']) expect(existsSync(join(dir, ground.marker)), dir).toBe(false);
    expect(JSON.stringify(snapshot(ground.dir))).not.toContain(ground.marker);
  });
});
