import { createHash } from 'node:crypto';
import type { StorageLimits, VfsStorage } from '@eryx/vfs-core';
import { exportTar, importTar } from '@eryx/vfs-core/tar';
import { describe, expect, it } from 'vitest';
import type { ConformanceOptions, SuiteContext } from '../context.js';
import { inParallel, pattern, text } from '../util.js';

const MiB = 1024 * 1024;

/** The round trip's default sizes: the numbers the tar import/export promises at scale. */
export const TAR_DEFAULTS = Object.freeze({ files: 10_000, largeFileBytes: 100 * MiB });

/** Small files per directory: the tree is directories of this many files, two levels deep. */
const PER_DIRECTORY = 100;
/** Storage calls in flight while the tree is written and compared (a network backend waits on each). */
const PARALLEL = 8;
/** Bytes per call for the large file. */
const PIECE = 4 * MiB;
/** The symbolic links the tree holds in a store with `symlinks`, below its root: path → target. */
const LINKS: Readonly<Record<string, string>> = {
  '/empty/to-large': '../large.bin',
  '/dangling 😀': 'nowhere/ü',
};

/** The sizes the `tar` sub-suite runs with: the `tar` option over {@link TAR_DEFAULTS}. */
export function tarSizes(options: Pick<ConformanceOptions, 'tar'>): {
  files: number;
  largeFileBytes: number;
} {
  return { ...TAR_DEFAULTS, ...options.tar };
}

/**
 * Why a store's declared limits cannot hold the `tar` round trip (the tree twice: the original and
 * its copy, names included as `maxBytes` counts them), or `undefined` when they can.
 */
export function tarDoesNotFit(options: Pick<ConformanceOptions, 'tar'>, limits: StorageLimits | undefined) {
  if (!limits) return undefined;
  const { files, largeFileBytes } = tarSizes(options);
  const bytes = 2 * (largeFileBytes + files * 100 + treeNameBytes(files));
  if (limits.maxBytes !== undefined && limits.maxBytes < bytes) return `maxBytes below ${bytes}`;
  // The links count as files (whether the store keeps them or not: a few, to keep this simple).
  const allFiles = 2 * (files + 1 + Object.keys(LINKS).length);
  if (limits.maxFiles !== undefined && limits.maxFiles < allFiles) return `maxFiles below ${allFiles}`;
  if (limits.maxFileSize !== undefined && limits.maxFileSize < largeFileBytes) {
    return `maxFileSize below ${largeFileBytes}`;
  }
  return undefined;
}

/**
 * The tar round trip of `@eryx/vfs-core/tar`: a tree of small files (default 10,000, sizes 0–199
 * bytes, in directories of 100, two levels deep, empty directories included) and one large file
 * (default 100 MiB) is exported with `exportTar` and piped straight into `importTar` under another
 * directory of the same store; the copy must have the same directories, names, sizes, content
 * (SHA-256) and modification times (to the second, tar's precision); in a store with `symlinks`,
 * the tree holds links too, copied as links with their targets. Registered in the async form
 * only (the sync form would repeat the same calls through `toAsync`), and only for stores whose
 * declared limits hold the tree twice. The option `tar` lowers the sizes for a backend too slow for
 * them; the test's timeout is at least 15 minutes.
 */
export function tarSuite(ctx: SuiteContext): void {
  if (ctx.form !== 'async' || tarDoesNotFit(ctx.options, ctx.declared.limits)) return;
  const { files, largeFileBytes } = tarSizes(ctx.options);
  const links = ctx.declared.capabilities?.symlinks === true;
  const timeout = Math.max(ctx.options.timeout ?? 60_000, 15 * 60_000);
  describe('tar', () => {
    it(`round-trips ${files} small files and a ${largeFileBytes}-byte file${links ? ' and links' : ''} through exportTar and importTar`, {
      timeout,
    }, async () => {
      const s = ctx.storage;
      const src = ctx.path('src');
      const dst = ctx.path('dst');
      const started = performance.now();
      await writeTree(s, src, files, largeFileBytes, links);
      const written = performance.now();
      const stats = await importTar(s, exportTar(s, { root: src }), { root: dst });
      const copied = performance.now();
      const directories = Math.ceil(files / PER_DIRECTORY) + Math.ceil(files / PER_DIRECTORY / 10) + 2;
      expect(stats, 'importTar totals').toEqual({
        files: files + 1,
        directories,
        links: links ? Object.keys(LINKS).length : 0,
        hardLinks: 0,
        bytes: largeFileBytes + smallBytes(files),
        skipped: 0,
      });
      await expectSameTree(s, src, dst);
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      console.log(
        `[vfs-conformance] ${ctx.options.name} tar: ${files} files + ${largeFileBytes} bytes: ` +
          `written in ${seconds(written - started)} s, exported and imported in ${seconds(copied - written)} s, ` +
          `compared in ${seconds(performance.now() - copied)} s`,
      );
    });

    if (ctx.declared.capabilities?.hardLinks)
      it('round-trips hard links as tar link entries: the content once, the names kept together', async () => {
        const s = ctx.storage;
        const src = ctx.path('hard-src');
        const dst = ctx.path('hard-dst');
        await s.mkdir(src);
        await s.mkdir(`${src}/d`);
        await s.write(`${src}/a`, text('shared'));
        await s.link(`${src}/a`, `${src}/d/b`);
        await s.link(`${src}/a`, `${src}/c`);
        await s.write(`${src}/plain`, text('plain'));
        const stats = await importTar(s, exportTar(s, { root: src }), { root: dst });
        // Names of one file are told apart by `id`: a store without ids exports each as a file.
        if ((await s.stat(`${src}/a`)).id === undefined) {
          expect(stats, 'importTar totals').toMatchObject({ files: 4, hardLinks: 0, bytes: 23 });
          return;
        }
        expect(stats, 'importTar totals').toEqual({
          files: 2,
          directories: 1,
          links: 0,
          hardLinks: 2,
          bytes: 11,
          skipped: 0,
        });
        const first = await s.stat(`${dst}/a`);
        expect(first.linkCount, 'names of the imported file').toBe(3);
        for (const name of ['c', 'd/b']) {
          const meta = await s.stat(`${dst}/${name}`);
          expect(meta.linkCount, `linkCount of ${name}`).toBe(3);
          expect(meta.id, `id of ${name}`).toBe(first.id);
        }
        await s.append(`${dst}/d/b`, text('!'));
        expect(new TextDecoder().decode(await s.read(`${dst}/c`)), 'a write through one imported name').toBe(
          'shared!',
        );
        expect((await s.stat(`${dst}/plain`)).linkCount, 'a file with one name').toBe(1);
        expect((await s.stat(`${src}/a`)).linkCount, 'the source, untouched').toBe(3);
      });
  });
}

const smallSize = (i: number) => i % 200;

function smallBytes(files: number): number {
  let total = 0;
  for (let i = 0; i < files; i++) total += smallSize(i);
  return total;
}

/** The UTF-8 bytes of the names in the tree {@link writeTree} makes (its root's included). */
function treeNameBytes(files: number): number {
  const utf8 = (name: string) => Buffer.byteLength(name, 'utf8');
  let total = utf8('src') + utf8('empty') + utf8('nested-empty') + utf8('large.bin');
  const dirs = Math.ceil(files / PER_DIRECTORY);
  for (let d = 0; d < dirs; d++) total += utf8(`dir-${d}`) + (d % 10 === 0 ? utf8(`group-${d / 10}`) : 0);
  for (let i = 0; i < files; i++) total += utf8(`file-${i}`);
  for (const [path, target] of Object.entries(LINKS))
    total += utf8(path.slice(path.lastIndexOf('/') + 1)) + utf8(target);
  return total;
}

/**
 * The tree: `group-G/dir-D/file-I`, two empty directories, `large.bin`, a few set times and, with
 * `links`, the {@link LINKS}.
 */
async function writeTree(
  s: VfsStorage,
  root: string,
  files: number,
  largeFileBytes: number,
  links: boolean,
): Promise<void> {
  await s.mkdir(root);
  await s.mkdir(`${root}/empty`);
  await s.mkdir(`${root}/empty/nested-empty`);
  const dirs = Math.ceil(files / PER_DIRECTORY);
  const dirOf = (d: number) => `${root}/group-${Math.floor(d / 10)}/dir-${d}`;
  for (let d = 0; d < dirs; d++) {
    if (d % 10 === 0) await s.mkdir(`${root}/group-${d / 10}`);
    await s.mkdir(dirOf(d));
  }
  const indexes = Array.from({ length: files }, (_, i) => i);
  await inParallel(indexes, PARALLEL, async (i) => {
    const path = `${dirOf(Math.floor(i / PER_DIRECTORY))}/file-${i}`;
    await s.write(path, pattern(smallSize(i), i + 1));
    // Times far from now and from each other, so a copy that kept none would show.
    if (i % 97 === 0) await s.setTimes(path, { modified: 1_000_000_000_000 + i * 1_000_003 });
  });
  const large = `${root}/large.bin`;
  for (let offset = 0; offset < largeFileBytes; offset += PIECE) {
    await s.writeAt(large, offset, pattern(Math.min(PIECE, largeFileBytes - offset), offset / PIECE + 7));
  }
  if (largeFileBytes === 0) await s.write(large, new Uint8Array(0));
  await s.setTimes(large, { modified: 1_234_567_890_000 });
  await s.setTimes(`${root}/empty/nested-empty`, { modified: 1_111_111_111_000 });
  await s.setTimes(dirOf(0), { modified: 1_222_222_222_000 });
  if (!links) return;
  for (const [path, target] of Object.entries(LINKS)) await s.symlink(root + path, target);
  await s.setTimes(`${root}/empty/to-large`, { modified: 1_333_333_333_000 });
}

/** The two trees have the same directories, names, sizes, content and times (in seconds). */
async function expectSameTree(s: VfsStorage, a: string, b: string): Promise<void> {
  const files: string[] = [];
  const walk = async (relative: string) => {
    const [left, right] = await Promise.all([s.list(a + relative), s.list(b + relative)]);
    const shape = (entries: typeof left) => entries.map((e) => `${e.kind} ${e.name} ${e.size}`).sort();
    expect(shape(right), `entries of ${b}${relative}`).toEqual(shape(left));
    // The roots are not in the archive: only what is below them has the original's times.
    if (relative !== '') await expectSameTime(s, a + relative, b + relative);
    for (const entry of left) {
      const path = `${relative}/${entry.name}`;
      if (entry.kind === 'directory') await walk(path);
      else if (entry.kind === 'symlink') {
        expect(await s.readlink(b + path), `target of the link ${b}${path}`).toBe(await s.readlink(a + path));
        await expectSameTime(s, a + path, b + path);
      } else files.push(path);
    }
  };
  await walk('');
  await inParallel(files, PARALLEL, async (path) => {
    const [left, right] = await Promise.all([hash(s, a + path), hash(s, b + path)]);
    expect(right, `SHA-256 of ${b}${path}`).toBe(left);
    await expectSameTime(s, a + path, b + path);
  });
}

async function expectSameTime(s: VfsStorage, a: string, b: string): Promise<void> {
  const [left, right] = await Promise.all([s.stat(a), s.stat(b)]);
  expect(Math.floor(right.modified / 1000), `modified of ${b} (seconds), as ${a}`).toBe(
    Math.floor(left.modified / 1000),
  );
}

async function hash(s: VfsStorage, path: string): Promise<string> {
  const sha = createHash('sha256');
  for (let offset = 0; ; offset += PIECE) {
    const piece = await s.readAt(path, offset, PIECE);
    sha.update(piece);
    if (piece.length < PIECE) break;
  }
  return sha.digest('hex');
}
