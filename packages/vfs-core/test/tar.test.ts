import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { hostDirectory, isVfsError, toAsync, type VfsErrorCode, type VfsStorage } from '../src/index.js';
import { exportTar, importTar, type TarStats } from '../src/tar/index.js';
import { ensureDist } from './build-dist.js';

// The storage under test is the Map backend of the bridge tests, built on the package's `dist`.
ensureDist();
interface FixtureModule {
  mapBackend(options?: { counters?: SharedArrayBuffer; noSymlinks?: boolean }): VfsStorage;
  COUNTER: { ops: number; writes: number; bytesWritten: number; reads: number; stats: number; lists: number };
}
const { mapBackend, COUNTER } = (await import(
  new URL('./fixtures/async-map-backend.mjs', import.meta.url).href
)) as FixtureModule;

function counted(): { storage: VfsStorage; count: (what: keyof FixtureModule['COUNTER']) => number } {
  const counters = new SharedArrayBuffer(32);
  const view = new Int32Array(counters);
  return { storage: mapBackend({ counters }), count: (what) => Atomics.load(view, COUNTER[what]) };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** Bytes that differ per seed and position, zeros and 0xff included. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfs-tar-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function archive(storage: VfsStorage, options: Parameters<typeof exportTar>[1] = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of exportTar(storage, options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An archive made by tar-stream's packer from the given entries (names taken as they are). */
async function handMade(
  entries: { name: string; type?: tar.Header['type']; data?: string; linkname?: string }[],
) {
  const pack = tar.pack();
  for (const { data, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const content = data === undefined ? undefined : Buffer.from(data);
      pack.entry({ mtime: new Date(1_000_000_000_000), ...header }, content ?? Buffer.alloc(0), (e) =>
        e ? reject(e) : resolve(),
      );
    });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Every entry under `root`: relative name → kind, size, content (a link's target) and modification
 * time.
 */
async function snapshot(storage: VfsStorage, root: string) {
  const out = new Map<string, { kind: string; size: number; content?: string; modified: number }>();
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await storage.list(dir)) {
      const path = `${dir === '/' ? '' : dir}/${entry.name}`;
      const name = `${prefix}${entry.name}`;
      const meta = await storage.stat(path);
      const modified = Math.floor(meta.modified / 1000);
      if (entry.kind === 'directory') {
        out.set(`${name}/`, { kind: 'directory', size: 0, modified });
        await walk(path, `${name}/`);
      } else if (entry.kind === 'symlink') {
        out.set(name, { kind: 'symlink', size: meta.size, content: await storage.readlink(path), modified });
      } else {
        const data = await storage.read(path);
        out.set(name, {
          kind: 'file',
          size: meta.size,
          content: Buffer.from(data).toString('base64'),
          modified,
        });
      }
    }
  };
  await walk(root, '');
  return out;
}

async function expectVfsError(run: () => Promise<unknown>, code: VfsErrorCode, text?: RegExp) {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(isVfsError(caught), `expected a VfsError ${code}, got ${String(caught)}`).toBe(true);
  const error = caught as Error & { code: string };
  expect(error.code, error.message).toBe(code);
  if (text) expect(error.message).toMatch(text);
  return error;
}

const LONG_DIR = `${'d'.repeat(120)}/${'e'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(30)}.bin`;

/** A tree with every kind of entry the round trip must keep, under `root`. */
async function sampleTree(storage: VfsStorage, root: string): Promise<void> {
  const p = (name: string) => `${root}/${name}`;
  await storage.mkdir(root);
  for (const dir of [
    'empty',
    'a',
    'a/b',
    'a/b/c',
    'a/empty-too',
    'd'.repeat(120),
    LONG_DIR,
    'ünïcødé 文件',
  ]) {
    await storage.mkdir(p(dir));
  }
  await storage.write(p('zero'), new Uint8Array(0));
  await storage.write(p('a/b/c/binary'), bytes(70_000, 1));
  await storage.write(p('a/text.txt'), enc('hello, tar\n'));
  await storage.write(p('ünïcødé 文件/ñame.txt'), enc('unicode'));
  await storage.write(p('n'.repeat(200)), bytes(513, 2));
  await storage.write(p(LONG_FILE), bytes(1, 3));
  await storage.write(p('a/large'), bytes(300_000, 4));
  let t = 1_400_000_000_000;
  for (const path of [
    'zero',
    'a/b/c/binary',
    'a/text.txt',
    'n'.repeat(200),
    LONG_FILE,
    'a/large',
    'a/b',
    'empty',
  ]) {
    t += 86_400_123;
    await storage.setTimes(p(path), { modified: t });
  }
}

describe('exportTar and importTar', () => {
  it('round-trip a tree: empty and nested directories, empty, binary, large and long-named files, times', async () => {
    const storage = mapBackend();
    await sampleTree(storage, '/src');
    const progress: TarStats[] = [];
    // A small chunk size sends the large file through the piecewise paths of both sides.
    const tarBytes = await archive(storage, {
      root: '/src',
      chunkSize: 64 * 1024,
      onProgress: (p) => progress.push(p),
    });
    expect(progress.at(-1)).toEqual({
      files: 7,
      directories: 8,
      links: 0,
      hardLinks: 0,
      bytes: 70_000 + 11 + 7 + 513 + 1 + 300_000,
      skipped: 0,
    });
    const stats = await importTar(storage, Readable.from([tarBytes]), {
      root: '/copy/here',
      chunkSize: 64 * 1024,
    });
    expect(stats).toEqual(progress.at(-1));
    const before = await snapshot(storage, '/src');
    expect(before.size).toBe(15);
    expect(await snapshot(storage, '/copy/here')).toEqual(before);
    // The same tree gives the same archive.
    expect(
      Buffer.compare(await archive(storage, { root: '/copy/here', chunkSize: 64 * 1024 }), tarBytes),
    ).toBe(0);
  });

  it('round-trips the same through a synchronous twin (a host directory), without a promise per file', async () => {
    const source = mapBackend();
    await sampleTree(source, '/src');
    const tarBytes = await archive(source, { root: '/src', chunkSize: 64 * 1024 });
    const storage = toAsync(hostDirectory(tempDir()));
    expect(storage.sync).toBeDefined();
    const stats = await importTar(storage, Readable.from([tarBytes]), {
      root: '/copy',
      chunkSize: 64 * 1024,
    });
    expect(stats).toEqual({
      files: 7,
      directories: 8,
      links: 0,
      hardLinks: 0,
      bytes: 70_000 + 11 + 7 + 513 + 1 + 300_000,
      skipped: 0,
    });
    expect(await snapshot(storage, '/copy')).toEqual(await snapshot(source, '/src'));
    expect(Buffer.compare(await archive(storage, { root: '/copy', chunkSize: 64 * 1024 }), tarBytes)).toBe(0);
  });

  it('reports failures and aborts of small files on a synchronous twin', async () => {
    const source = mapBackend();
    await source.mkdir('/src');
    for (let i = 0; i < 50; i++) await source.write(`/src/f${i}`, bytes(10, i));
    const tarBytes = await archive(source, { root: '/src' });
    const storage = toAsync(hostDirectory(tempDir()));
    await storage.mkdir('/dst');
    await storage.mkdir('/dst/f3');
    await expectVfsError(() => importTar(storage, tarBytes, { root: '/dst' }), 'is-a-directory');
    expect(await storage.exists('/dst/f4')).toBe(false);
    const controller = new AbortController();
    const reason = new Error('enough');
    const importing = importTar(storage, Readable.from([tarBytes]), {
      root: '/again',
      signal: controller.signal,
      onProgress: (p) => p.files === 5 && controller.abort(reason),
    });
    await expect(importing).rejects.toBe(reason);
    expect((await storage.list('/again')).length).toBeLessThan(50);
  });

  it('hands the archive on in chunks of up to 64 KiB, however small the files', async () => {
    const storage = mapBackend();
    await storage.mkdir('/src');
    for (let i = 0; i < 300; i++) await storage.write(`/src/f${i}`, bytes(100, i));
    const chunks: Buffer[] = [];
    for await (const chunk of exportTar(storage, { root: '/src' })) chunks.push(chunk as Buffer);
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    // 300 headers and 300 padded contents (and the end of archive): 600 pieces batched into a few.
    expect(total).toBe(300 * 1024 + 1024);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 * 1024);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(total / (63 * 1024)) + 1);
  });

  it('reads small files no further ahead than a paused consumer needs', async () => {
    const { storage, count } = counted();
    await storage.mkdir('/src');
    for (let i = 0; i < 2000; i++) await storage.write(`/src/f${i}`, bytes(100, i));
    const stream = exportTar(storage, { root: '/src' });
    const first = await new Promise<Buffer>((resolve) =>
      stream.once('data', (chunk: Buffer) => {
        stream.pause();
        resolve(chunk);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Two batches of 64 KiB (64 files each), the packer's buffer, the entries queued in the packer
    // and those fetched ahead: a few hundred files at most, not all 2,000.
    expect(count('reads')).toBeLessThan(500);
    let total = first.length;
    for await (const chunk of stream) total += (chunk as Buffer).length;
    expect(total).toBe(2000 * 1024 + 1024);
    expect(count('reads')).toBe(2000);
  });

  it('keeps times before 1970 and after 2038 (pax mtime records)', async () => {
    const storage = mapBackend();
    await storage.mkdir('/t');
    await storage.write('/t/old', enc('old'));
    await storage.write('/t/future', enc('future'));
    await storage.setTimes('/t/old', { modified: -86_400_000 * 365 });
    await storage.setTimes('/t/future', { modified: 4_102_444_800_000 });
    await importTar(storage, await archive(storage, { root: '/t' }), { root: '/u' });
    expect((await storage.stat('/u/old')).modified).toBe(-86_400_000 * 365);
    expect((await storage.stat('/u/future')).modified).toBe(4_102_444_800_000);
  });

  it('imports what GNU tar made, in its gnu and posix formats', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    mkdirSync(join(src, 'empty'), { recursive: true });
    mkdirSync(join(src, LONG_DIR), { recursive: true });
    writeFileSync(join(src, LONG_FILE), bytes(5000, 5));
    writeFileSync(join(src, 'zero'), '');
    writeFileSync(join(src, 'ünï.txt'), 'unicode');
    utimesSync(join(src, 'zero'), 1_234_567_890, 1_234_567_890.25);
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']);
      const storage = mapBackend();
      const stats = await importTar(storage, createReadStream(file), { root: '/in' });
      // './' is the root itself: not counted.
      expect(stats, format).toEqual({
        files: 3,
        directories: 3,
        links: 0,
        hardLinks: 0,
        bytes: 5007,
        skipped: 0,
      });
      expect([...(await storage.list('/in'))].map((e) => e.name).sort()).toEqual([
        'd'.repeat(120),
        'empty',
        'zero',
        'ünï.txt',
      ]);
      expect(Buffer.from(await storage.read(`/in/${LONG_FILE}`)).equals(Buffer.from(bytes(5000, 5)))).toBe(
        true,
      );
      expect(dec(await storage.read('/in/ünï.txt'))).toBe('unicode');
      // The posix format keeps fractions of a second (pax mtime); the gnu format whole seconds.
      expect((await storage.stat('/in/zero')).modified).toBe(
        format === 'posix' ? 1_234_567_890_250 : 1_234_567_890_000,
      );
      expect((await storage.stat('/in/empty')).kind).toBe('directory');
    }
  });

  it('writes archives GNU tar lists and extracts', async () => {
    const storage = mapBackend();
    await sampleTree(storage, '/src');
    const dir = tempDir();
    const file = join(dir, 'out.tar');
    await pipeline(exportTar(storage, { root: '/src' }), createWriteStream(file));
    const listed = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(listed).toMatch(/^drwxr-xr-x .* empty\/$/m);
    expect(listed).toMatch(/^-rw-r--r-- .* 70000 .* a\/b\/c\/binary$/m);
    expect(listed).toContain(` ${LONG_FILE}\n`);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    for (const [name, entry] of await snapshot(storage, '/src')) {
      const stat = statSync(join(out, name));
      expect(stat.isDirectory(), name).toBe(entry.kind === 'directory');
      expect(Math.floor(stat.mtimeMs / 1000), `mtime of ${name}`).toBe(entry.modified);
      if (entry.kind === 'file')
        expect(readFileSync(join(out, name)).toString('base64'), name).toBe(entry.content);
    }
  });

  it('refuses hostile names before writing anything for them, and nothing lands outside the root', async () => {
    const cases: [string, string, RegExp][] = [
      ['../escape', 'invalid-path', /"\.\.\/escape" climbs out of the root/],
      ['ok/../../escape', 'invalid-path', /climbs out of the root/],
      ['/escape', 'invalid-path', /"\/escape" is absolute/],
      [`${'x'.repeat(120)}\0escape`, 'invalid-path', /contains NUL/],
    ];
    for (const [name, code, text] of cases) {
      const storage = mapBackend();
      await storage.mkdir('/jail');
      const evil = await handMade([
        { name: 'first.txt', data: 'first' },
        { name, data: 'evil' },
      ]);
      const error = await expectVfsError(
        () => importTar(storage, evil, { root: '/jail/in' }),
        code as VfsErrorCode,
        text,
      );
      expect((error as { path?: string }).path).toBe(name.replace('\0', '\\0'));
      // What came before the entry stays (the import is not transactional); nothing else is written.
      expect(dec(await storage.read('/jail/in/first.txt'))).toBe('first');
      expect((await storage.list('/')).map((e) => e.name)).toEqual(['jail']);
      expect((await storage.list('/jail')).map((e) => e.name)).toEqual(['in']);
      expect((await storage.list('/jail/in')).map((e) => e.name)).toEqual(['first.txt']);
    }
  });

  it('on a store without links, refuses links, devices and fifos, or skips and counts them with skipUnsupported', async () => {
    const entries = [
      { name: 'a.txt', data: 'a' },
      { name: 'link', type: 'symlink' as const, linkname: '/etc/passwd' },
      { name: 'hard', type: 'link' as const, linkname: 'a.txt' },
      { name: 'fifo', type: 'fifo' as const },
      { name: 'b.txt', data: 'b' },
    ];
    const evil = await handMade(entries);
    for (const [index, type] of [
      [1, 'symlink'],
      [2, 'link'],
      [3, 'fifo'],
    ] as const) {
      const storage = mapBackend({ noSymlinks: true });
      const only = await handMade([entries[0]!, entries[index]!]);
      await expectVfsError(
        () => importTar(storage, only),
        'unsupported',
        new RegExp(`"${entries[index]!.name}" is a ${type}`),
      );
      expect(await storage.exists(`/${entries[index]!.name}`)).toBe(false);
    }
    const storage = mapBackend({ noSymlinks: true });
    expect(storage.capabilities.symlinks).toBe(false);
    expect(await importTar(storage, evil, { skipUnsupported: true })).toEqual({
      files: 2,
      directories: 0,
      links: 0,
      hardLinks: 0,
      bytes: 2,
      skipped: 3,
    });
    expect((await storage.list('/')).map((e) => e.name).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('round-trips symbolic links as symlink entries: the link itself, its target verbatim, its time', async () => {
    const storage = mapBackend();
    await storage.mkdir('/src');
    await storage.mkdir('/src/dir');
    await storage.write('/src/dir/file', enc('content'));
    const LONG_TARGET = `../${'ü'.repeat(150)}/${'t'.repeat(40)}`;
    const links: [string, string][] = [
      ['rel', 'dir/file'],
      ['abs', '/etc/passwd'],
      ['dangling', '../../nowhere'],
      ['dir/up', '..'],
      ['dir/long', LONG_TARGET],
      ['to-dir', 'dir'],
    ];
    let t = 1_500_000_000_000;
    for (const [name, target] of links) {
      await storage.symlink(`/src/${name}`, target);
      t += 86_400_000;
      await storage.setTimes(`/src/${name}`, { modified: t });
    }
    const tarBytes = await archive(storage, { root: '/src' });
    // The archive holds symlink entries with tar's linkname, in name order with the files.
    const seen: [string, string, string | null | undefined, number | undefined][] = [];
    const extract = tar.extract();
    extract.on('entry', (header, entry, next) => {
      seen.push([header.name, header.type ?? '', header.linkname, header.mode]);
      entry.resume();
      entry.on('end', next);
    });
    await pipeline(Readable.from([tarBytes]), extract);
    expect(seen).toEqual([
      ['abs', 'symlink', '/etc/passwd', 0o777],
      ['dangling', 'symlink', '../../nowhere', 0o777],
      ['rel', 'symlink', 'dir/file', 0o777],
      ['to-dir', 'symlink', 'dir', 0o777],
      ['dir/', 'directory', null, 0o755],
      ['dir/file', 'file', null, 0o644],
      ['dir/long', 'symlink', LONG_TARGET, 0o777],
      ['dir/up', 'symlink', '..', 0o777],
    ]);
    const stats = await importTar(storage, tarBytes, { root: '/copy' });
    expect(stats).toEqual({ files: 1, directories: 1, links: 6, hardLinks: 0, bytes: 7, skipped: 0 });
    const before = await snapshot(storage, '/src');
    expect([...before.values()].filter((e) => e.kind === 'symlink')).toHaveLength(6);
    expect(await snapshot(storage, '/copy')).toEqual(before);
    expect(await storage.readlink('/copy/dir/long')).toBe(LONG_TARGET);
    // Nothing was followed: the links' targets were neither read nor created.
    expect(await storage.exists('/copy/etc')).toBe(false);
    expect(Buffer.compare(await archive(storage, { root: '/copy' }), tarBytes)).toBe(0);
  });

  it('exchanges symbolic links with GNU tar both ways', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'f'), 'f');
    symlinkSync('sub/f', join(src, 'rel'));
    symlinkSync('/does/not/exist', join(src, 'abs'));
    for (const format of ['gnu', 'posix']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']);
      const storage = mapBackend();
      const stats = await importTar(storage, createReadStream(file), { root: '/in' });
      expect(stats, format).toMatchObject({ files: 1, links: 2, skipped: 0 });
      expect(await storage.readlink('/in/rel')).toBe('sub/f');
      expect(await storage.readlink('/in/abs')).toBe('/does/not/exist');
      expect((await storage.stat('/in/rel')).kind).toBe('symlink');
    }
    const storage = mapBackend();
    await storage.mkdir('/t');
    await storage.write('/t/f', enc('f'));
    await storage.symlink('/t/l', 'f');
    const file = join(dir, 'out.tar');
    await pipeline(exportTar(storage, { root: '/t' }), createWriteStream(file));
    expect(execFileSync('tar', ['-tvf', file], { encoding: 'utf8' })).toMatch(/^lrwxrwxrwx .* l -> f$/m);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readlinkSync(join(out, 'l'))).toBe('f');
    expect(readFileSync(join(out, 'l'), 'utf8')).toBe('f');
  });

  it('replaces a file or link where the archive has a link, unless overwrite is off; never a directory', async () => {
    const linked = await handMade([{ name: 'x', type: 'symlink', linkname: 'new' }]);
    const storage = mapBackend();
    await storage.write('/x', enc('old file'));
    await importTar(storage, linked);
    expect(await storage.readlink('/x')).toBe('new');
    await storage.delete('/x');
    await storage.symlink('/x', 'old');
    await importTar(storage, linked);
    expect(await storage.readlink('/x')).toBe('new');
    await expectVfsError(() => importTar(storage, linked, { overwrite: false }), 'already-exists');
    expect(await storage.readlink('/x')).toBe('new');
    await storage.delete('/x');
    await storage.mkdir('/x');
    await expectVfsError(() => importTar(storage, linked), 'is-a-directory');
    expect((await storage.stat('/x')).kind).toBe('directory');
    // A file of the archive where a link is: the storage refuses to write through it.
    await storage.symlink('/y', 'x');
    const file = await handMade([{ name: 'y', data: 'y' }]);
    await expectVfsError(() => importTar(storage, file), 'is-a-symlink');
    expect(await storage.readlink('/y')).toBe('x');
    // A link where the archive has a directory: never followed into.
    const below = await handMade([{ name: 'y/f', data: 'f' }]);
    await expectVfsError(() => importTar(storage, below), 'not-a-directory', /a file or link is where/);
    expect(await storage.exists('/x/f')).toBe(false);
  });

  it('reports a truncated or malformed archive as invalid-argument', async () => {
    const storage = mapBackend();
    await storage.mkdir('/src');
    await storage.write('/src/big', bytes(100_000, 6));
    await storage.write('/src/small', enc('small'));
    const whole = await archive(storage, { root: '/src' });
    // Inside the big file's data, then inside the second header.
    for (const cut of [50_000, 512 + 100_352 + 100]) {
      await expectVfsError(
        () => importTar(storage, whole.subarray(0, cut), { root: `/cut${cut}` }),
        'invalid-argument',
        /truncated/,
      );
    }
    const garbage = Buffer.from(bytes(2048, 7));
    await expectVfsError(
      () => importTar(storage, garbage, { root: '/garbage' }),
      'invalid-argument',
      /not a valid tar archive/,
    );
  });

  it('passes a failure of the source on as io, with it as cause', async () => {
    const storage = mapBackend();
    const failing = (async function* () {
      yield Buffer.alloc(512 * 3);
      throw new Error('disk on fire');
    })();
    const error = await expectVfsError(() => importTar(storage, failing), 'io', /disk on fire/);
    expect((error.cause as Error).message).toBe('disk on fire');
  });

  it("leaves out the WASI host's orphans directory at the store's root", async () => {
    const storage = mapBackend();
    await storage.mkdir('/.eryx-orphans');
    await storage.write('/.eryx-orphans/x-1', enc('orphan'));
    await storage.mkdir('/d');
    await storage.mkdir('/d/.eryx-orphans');
    await storage.write('/keep.txt', enc('kept'));
    const names: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      stream.resume();
      stream.on('end', next);
    });
    await pipeline(Readable.from(await archive(storage)), extract);
    // Only the root's is the host's; a directory of that name deeper down is the guest's own.
    expect(names.sort()).toEqual(['d/', 'd/.eryx-orphans/', 'keep.txt']);
  });

  it('replaces existing files by default, and refuses them with overwrite: false', async () => {
    const storage = mapBackend();
    await storage.mkdir('/dst');
    await storage.write('/dst/a.txt', enc('old'));
    const tarBytes = await handMade([{ name: 'a.txt', data: 'new' }]);
    await expectVfsError(
      () => importTar(storage, tarBytes, { root: '/dst', overwrite: false }),
      'already-exists',
    );
    expect(dec(await storage.read('/dst/a.txt'))).toBe('old');
    await importTar(storage, tarBytes, { root: '/dst' });
    expect(dec(await storage.read('/dst/a.txt'))).toBe('new');
  });

  it('fails with not-a-directory where a file stands in for a directory of the archive', async () => {
    const storage = mapBackend();
    await storage.write('/a', enc('file'));
    const tarBytes = await handMade([{ name: 'a/b.txt', data: 'x' }]);
    await expectVfsError(() => importTar(storage, tarBytes), 'not-a-directory');
    await expectVfsError(() => importTar(storage, tarBytes, { root: '/a' }), 'not-a-directory');
  });

  it('costs about one write and one setTimes per small file, one mkdir per directory', async () => {
    const { storage, count } = counted();
    await storage.mkdir('/src');
    for (const d of ['d0', 'd1', 'd2', 'd3']) {
      await storage.mkdir(`/src/${d}`);
      for (let i = 0; i < 50; i++) await storage.write(`/src/${d}/f${i}`, bytes(100, i));
    }
    const tarBytes = await archive(storage, { root: '/src' });
    const ops = count('ops');
    const writes = count('writes');
    expect(await importTar(storage, tarBytes, { root: '/dst' })).toMatchObject({
      files: 200,
      directories: 4,
    });
    // 200 writes + 200 setTimes, 5 mkdir (root and 4), 4 directory times; no stat, no exists.
    expect(count('writes') - writes).toBe(200);
    expect(count('ops') - ops).toBe(200 + 200 + 5 + 4);
  });

  it('streams large files in pieces both ways, and reads no further ahead than the consumer', async () => {
    const { storage, count } = counted();
    await storage.mkdir('/src');
    const size = 10 * 1024 * 1024 + 17;
    await storage.write('/src/big', bytes(size, 8));
    const chunkSize = 1024 * 1024;
    const stream = exportTar(storage, { root: '/src', chunkSize });
    // Paused inside the handler: a flowing stream hands on what it holds before a later pause.
    const first = await new Promise<Buffer>((resolve) =>
      stream.once('data', (chunk: Buffer) => {
        stream.pause();
        resolve(chunk);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Paused after its first chunk: a piece in the stream's buffer, one being packed, one read ahead.
    expect(count('reads')).toBeLessThanOrEqual(4);
    const rest: Buffer[] = [first];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    expect(count('reads')).toBe(11);
    const writes = count('writes');
    await importTar(storage, Buffer.concat(rest), { root: '/dst', chunkSize });
    expect(count('writes') - writes).toBe(11);
    expect(Buffer.from(await storage.read('/dst/big')).equals(Buffer.from(bytes(size, 8)))).toBe(true);
  });

  it('stops at an abort with the signal reason', async () => {
    const storage = mapBackend();
    await storage.mkdir('/src');
    for (let i = 0; i < 50; i++) await storage.write(`/src/f${i}`, bytes(10, i));
    const tarBytes = await archive(storage, { root: '/src' });
    const controller = new AbortController();
    const reason = new Error('enough');
    const importing = importTar(storage, Readable.from([tarBytes]), {
      root: '/dst',
      signal: controller.signal,
      onProgress: (p) => p.files === 5 && controller.abort(reason),
    });
    await expect(importing).rejects.toBe(reason);
    expect((await storage.list('/dst')).length).toBeLessThan(50);
    const exporting = exportTar(storage, { root: '/src', signal: AbortSignal.abort(reason) });
    await expect(pipeline(exporting, createWriteStream(join(tempDir(), 'x.tar')))).rejects.toBe(reason);
  });

  it('exports only from a directory, and checks its options', async () => {
    const storage = mapBackend();
    await storage.write('/file', enc('x'));
    await expectVfsError(() => archive(storage, { root: '/file' }), 'not-a-directory');
    await expectVfsError(() => archive(storage, { root: '/missing' }), 'not-found');
    await expectVfsError(async () => exportTar(storage, { root: 'relative' }), 'invalid-path');
    await expectVfsError(async () => exportTar(storage, { chunkSize: 0 }), 'invalid-argument');
    await expectVfsError(() => importTar(storage, 42 as unknown as Uint8Array), 'invalid-argument');
    await expectVfsError(
      () => importTar(storage, Readable.from(['a string'])),
      'invalid-argument',
      /Uint8Arrays/,
    );
  });

  it('loads from CommonJS as @eryx/vfs-core/tar', () => {
    const dist = new URL('../dist/tar/index.js', import.meta.url).pathname;
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const t = require(${JSON.stringify(dist)}); console.log(typeof t.exportTar, typeof t.importTar)`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('function function');
  });
});
