import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkDelete,
  checkExistingDirectory,
  checkExistingFile,
  checkFileTarget,
  checkMkdir,
  checkReadlink,
  checkRename,
  checkSymlink,
  createSyncStorage,
  hostDirectory,
  isVfsError,
  limits,
  readOnly,
  restrictedFiles,
  scrub,
  type VfsErrorCode,
  type VfsStorage,
  type VfsSyncDriver,
  type VfsSyncStorage,
} from '../src/index.js';
import { ensureDist } from './build-dist.js';

// Symbolic links through core's semantics, wrappers and routers. The store with links is the Map
// backend of the bridge tests, built on the package's `dist`.
ensureDist();
const { mapBackend } = (await import(new URL('./fixtures/async-map-backend.mjs', import.meta.url).href)) as {
  mapBackend(options?: { noSymlinks?: boolean }): VfsStorage;
};

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function expectCode(run: () => unknown, code: VfsErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(isVfsError(caught), `expected ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code, String(caught)).toBe(code);
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfs-links-'));
  temps.push(dir);
  return dir;
}

describe('semantics: a link is its own kind', () => {
  it('is never a file to read or write, never a directory to list or create in', async () => {
    await expectCode(() => checkFileTarget('/l', 'symlink', 'directory'), 'is-a-symlink');
    await expectCode(() => checkExistingFile('/l', 'symlink'), 'is-a-symlink');
    await expectCode(() => checkExistingDirectory('/l', 'symlink'), 'not-a-directory');
    await expectCode(() => checkFileTarget('/l/f', undefined, 'symlink'), 'not-a-directory');
    await expectCode(() => checkMkdir('/l', 'symlink', 'directory'), 'already-exists');
    await expectCode(() => checkMkdir('/l/d', undefined, 'symlink'), 'not-a-directory');
    expect(() => checkDelete('/l', 'symlink')).not.toThrow();
    await expectCode(() => checkDelete('/d', 'directory'), 'is-a-directory');
  });

  it('symlink and readlink follow the contract', async () => {
    expect(() => checkSymlink('/l', undefined, 'directory')).not.toThrow();
    await expectCode(() => checkSymlink('/', 'directory', undefined), 'already-exists');
    await expectCode(() => checkSymlink('/f', 'file', 'directory'), 'already-exists');
    await expectCode(() => checkSymlink('/x/l', undefined, undefined), 'not-found');
    await expectCode(() => checkSymlink('/f/l', undefined, 'file'), 'not-a-directory');
    await expectCode(() => checkSymlink('/l/l', undefined, 'symlink'), 'not-a-directory');
    expect(() => checkReadlink('/l', 'symlink')).not.toThrow();
    await expectCode(() => checkReadlink('/l', undefined), 'not-found');
    await expectCode(() => checkReadlink('/f', 'file'), 'invalid-argument');
    await expectCode(() => checkReadlink('/d', 'directory'), 'invalid-argument');
  });

  it('rename moves a link as a file: it replaces a file or link, never a directory', async () => {
    expect(checkRename('/l', '/m', 'symlink', undefined, 'directory')).toBe('move');
    expect(checkRename('/l', '/f', 'symlink', 'file', 'directory')).toBe('replace-file');
    expect(checkRename('/f', '/l', 'file', 'symlink', 'directory')).toBe('replace-file');
    expect(checkRename('/l', '/m', 'symlink', 'symlink', 'directory')).toBe('replace-file');
    await expectCode(() => checkRename('/l', '/d', 'symlink', 'directory', 'directory'), 'is-a-directory');
    await expectCode(() => checkRename('/d', '/l', 'directory', 'symlink', 'directory'), 'not-a-directory');
    await expectCode(() => checkRename('/f', '/l/f', 'file', undefined, 'symlink'), 'not-a-directory');
  });
});

describe("core's emulated append", () => {
  it('refuses a link with is-a-symlink, never writing at its size', async () => {
    const writes: string[] = [];
    const meta = { kind: 'symlink' as const, size: 6, created: 1, modified: 1, accessed: 1 };
    // A driver without append whose writeAt would take anything: core's emulation must not call it.
    const driver = {
      stat: () => meta,
      writeAt: (path: string) => void writes.push(path),
    } as unknown as VfsSyncDriver;
    const storage = createSyncStorage(driver);
    await expectCode(() => storage.append('/l', enc('x')), 'is-a-symlink');
    expect(writes).toEqual([]);
  });
});

describe('limits: a link is a file of its name and target bytes', () => {
  it('counts a link as a file in maxFiles, and deleting or replacing it frees one', async () => {
    const storage = limits(mapBackend(), { maxFiles: 2 });
    await storage.write('/a', enc('a'));
    await storage.symlink('/l', 'a');
    await expectCode(() => storage.symlink('/m', 'a'), 'quota-exceeded');
    await expectCode(() => storage.write('/b', enc('b')), 'quota-exceeded');
    expect(await storage.exists('/m')).toBe(false);
    await storage.delete('/l');
    await storage.symlink('/m', 'a');
    // A link replacing a file by rename: one entry fewer.
    await storage.rename('/m', '/a');
    await storage.write('/b', enc('b'));
    await expectCode(() => storage.create('/c'), 'quota-exceeded');
  });

  it('counts name and target UTF-8 bytes in maxBytes, and no maxFileSize', async () => {
    const storage = limits(mapBackend(), { maxBytes: 12, maxFileSize: 1 });
    await storage.symlink('/ab', 'xyzé'); // 2 + 5
    await expectCode(() => storage.symlink('/c', '123456'), 'quota-exceeded'); // 1 + 6: 14
    expect(await storage.exists('/c')).toBe(false);
    await storage.symlink('/c', '1234'); // 1 + 4: 12
    await expectCode(() => storage.mkdir('/d'), 'quota-exceeded');
    await storage.delete('/ab');
    await storage.mkdir('/d');
    // A rename to a longer name grows by the name only, not the target.
    await storage.rename('/c', '/cc'); // 2 + 4, /d 1: 7
    await expectCode(() => storage.rename('/cc', '/cccccccc'), 'quota-exceeded'); // 13
    await storage.rename('/cc', '/ccccccc'); // 12
  });

  it('walks links already in the store into its usage', async () => {
    const inner = mapBackend();
    await inner.symlink('/pre', 'abcd'); // 3 + 4
    const storage = limits(inner, { maxBytes: 10, maxFiles: 2 });
    await storage.write('/f', enc('ab')); // 1 + 2: 10
    await expectCode(() => storage.write('/f', enc('abc')), 'quota-exceeded');
    await expectCode(() => storage.create('/g'), 'quota-exceeded');
    await storage.delete('/pre');
    await storage.symlink('/g', '12345'); // 1 + 5: 9
  });

  it("reports a link's own errors before any quota, and unsupported where the store has no links", async () => {
    const inner = mapBackend();
    await inner.write('/f', enc('full'));
    await inner.symlink('/l', 'f');
    const storage = limits(inner, { maxBytes: 0, maxFiles: 0 });
    await expectCode(() => storage.symlink('/l', 'x'), 'already-exists');
    await expectCode(() => storage.symlink('/missing/l', 'x'), 'not-found');
    await expectCode(() => storage.symlink('/f/l', 'x'), 'not-a-directory');
    await expectCode(() => storage.symlink('/new', 'x'), 'quota-exceeded');
    for (const write of [
      () => storage.write('/l', enc('more')),
      () => storage.writeAt('/l', 0, enc('more')),
      () => storage.append('/l', enc('more')),
      () => storage.writeExtents('/l', [[0, enc('more')]]),
      () => storage.setSize('/l', 100),
    ]) {
      await expectCode(write, 'is-a-symlink');
    }
    await expectCode(() => storage.create('/l'), 'already-exists');
    expect(await storage.readlink('/l')).toBe('f');
    const without = limits(mapBackend({ noSymlinks: true }), { maxFiles: 0 });
    expect(without.capabilities.symlinks).toBe(false);
    await expectCode(() => without.symlink('/l', 'x'), 'unsupported');
  });
});

describe('readOnly', () => {
  it('refuses symlink with read-only and passes readlink', async () => {
    const inner = mapBackend();
    await inner.symlink('/l', 'target');
    const view = readOnly(inner);
    expect(view.capabilities.symlinks).toBe(true);
    await expectCode(() => view.symlink('/m', 'x'), 'read-only');
    expect(await inner.exists('/m')).toBe(false);
    expect(await view.readlink('/l')).toBe('target');
    expect(await view.stat('/l')).toMatchObject({ kind: 'symlink', size: 6 });
    await expectCode(() => view.delete('/l'), 'read-only');
  });
});

describe('scrub: a link target is what is written at its path', () => {
  const secrets = ['SECRET-TOKEN-123'];

  it('masks secrets in the targets of links at scrubbed paths, keeping their byte length', async () => {
    const inner = mapBackend();
    const storage = scrub(inner, { secrets, policy: { except: ['open/**'] } });
    await storage.mkdir('/open');
    await storage.symlink('/l', 'dir/SECRET-TOKEN-123/é');
    const masked = await inner.readlink('/l');
    expect(masked).toBe('dir/[REDACTED]******/é');
    expect((await storage.stat('/l')).size).toBe(Buffer.byteLength('dir/SECRET-TOKEN-123/é'));
    await storage.symlink('/open/l', 'SECRET-TOKEN-123');
    expect(await storage.readlink('/open/l')).toBe('SECRET-TOKEN-123');
    await storage.symlink('/plain', 'nothing secret');
    expect(await inner.readlink('/plain')).toBe('nothing secret');
    await expectCode(() => storage.writeAt('/l', 0, enc('SECRET-TOKEN-123')), 'is-a-symlink');
    await expectCode(() => storage.append('/l', enc('x')), 'is-a-symlink');
  });

  it('masks a link moved from an unscrubbed path to a scrubbed one, keeping its times', async () => {
    const inner = mapBackend();
    const storage = scrub(inner, { secrets, policy: { only: ['**/*.env', 'secret/**'] } });
    await storage.symlink('/a.txt', 'SECRET-TOKEN-123');
    await storage.setTimes('/a.txt', { modified: 1_000, accessed: 2_000 });
    await storage.rename('/a.txt', '/b.env');
    expect(await inner.readlink('/b.env')).toBe('[REDACTED]******');
    expect(await inner.stat('/b.env')).toMatchObject({ kind: 'symlink', modified: 1_000, accessed: 2_000 });
    expect(await inner.exists('/a.txt')).toBe(false);
    // Times set in nanoseconds stay exact.
    await storage.symlink('/c.txt', 'SECRET-TOKEN-123');
    await storage.setTimes('/c.txt', { modified: 1_733_000_000_123_456_789n, accessed: -1n });
    await storage.rename('/c.txt', '/c.env');
    expect(await inner.readlink('/c.env')).toBe('[REDACTED]******');
    expect(await inner.stat('/c.env')).toMatchObject({
      modifiedNs: 1_733_000_000_123_456_789n,
      accessedNs: -1n,
    });
    // A directory holding a link and a file, moved into a scrubbed tree.
    await storage.mkdir('/d');
    await storage.symlink('/d/l', 'x-SECRET-TOKEN-123');
    await storage.write('/d/f', enc('SECRET-TOKEN-123'));
    await storage.rename('/d', '/secret');
    expect(await inner.readlink('/secret/l')).toBe('x-[REDACTED]******');
    expect(dec(await inner.read('/secret/f'))).toBe('[REDACTED]******');
  });
});

describe('routers store no links', () => {
  it('hostDirectory: no symlink capability; host links show as what they point to; readlink per the contract', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'file'), 'data');
    symlinkSync('file', join(root, 'to-file'));
    symlinkSync('dir', join(root, 'to-dir'));
    symlinkSync('/', join(root, 'escaping'));
    for (const storage of [
      hostDirectory(root),
      hostDirectory(root, { readOnly: true }),
    ] as VfsSyncStorage[]) {
      expect(storage.capabilities.symlinks).toBe(false);
      const kinds = Object.fromEntries(storage.list('/').map((e) => [e.name, e.kind]));
      expect(kinds).toEqual({ dir: 'directory', file: 'file', 'to-dir': 'directory', 'to-file': 'file' });
      expect(storage.stat('/to-file')).toMatchObject({ kind: 'file', size: 4 });
      for (const path of ['/to-file', '/to-dir', '/file', '/dir', '/']) {
        await expectCode(() => storage.readlink(path), 'invalid-argument');
      }
      await expectCode(() => storage.readlink('/missing'), 'not-found');
      await expectCode(() => storage.readlink('/file/below'), 'not-found');
      await expectCode(() => storage.symlink('/new', 'file'), 'unsupported');
      expect(storage.exists('/new')).toBe(false);
    }
  });

  it('restrictedFiles: no symlink capability, only files, readlink per the contract', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.conf'), 'conf');
    const storage = restrictedFiles({ 'app.conf': join(dir, 'app.conf') });
    expect(storage.capabilities.symlinks).toBe(false);
    expect(storage.list('/')).toEqual([{ name: 'app.conf', kind: 'file', size: 4 }]);
    await expectCode(() => storage.readlink('/app.conf'), 'invalid-argument');
    await expectCode(() => storage.readlink('/'), 'invalid-argument');
    await expectCode(() => storage.readlink('/other'), 'not-found');
    await expectCode(() => storage.symlink('/other', 'app.conf'), 'unsupported');
  });
});
