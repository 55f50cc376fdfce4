import { createSyncStorage } from '@eryx/vfs-core';
import { createWasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { describe, expect, it } from 'vitest';
import { wasiCodeOf as codeOf, drop, R, RW, root } from './descriptors.js';

/*
 * Issue #22, items 4 and 5: a path may not climb above the directory it is relative to; a host
 * given no mounts preopens nothing; storage without symbolic links answers `unsupported`.
 */

describe('hosts without links, and without mounts', () => {
  it('answers unsupported where storage stores no links', () => {
    const inner = memory().sync;
    const { symlink: _s, readlink: _r, capabilities: _c, ...rest } = inner;
    const noLinks = createSyncStorage({ ...rest } as never);
    const host = createWasiHost({ mounts: { '/data': noLinks } });
    const dir = root(host);
    dir.openAt({}, 'a.txt', { create: true }, RW);
    expect(codeOf(() => dir.symlinkAt('a.txt', 'link'))).toBe('unsupported');
    expect(codeOf(() => dir.symlinkAt('a.txt', 'a.txt'))).toBe('exist');
    expect(codeOf(() => dir.readlinkAt('a.txt'))).toBe('invalid');
    expect(codeOf(() => dir.readlinkAt('missing'))).toBe('no-entry');
  });

  it('preopens nothing when given no mounts', () => {
    const host = createWasiHost({ mounts: {} });
    const preopens = host.imports['wasi:filesystem/preopens'] as { getDirectories(): unknown[] };
    expect(preopens.getDirectories()).toEqual([]);
    // With a mount elsewhere, `/` is the synthetic directory that lists it.
    const withMount = createWasiHost({ mounts: { '/data': memory() } });
    expect(
      (withMount.imports['wasi:filesystem/preopens'] as { getDirectories(): [unknown, string][] })
        .getDirectories()
        .map(([, path]) => path),
    ).toEqual(['/data', '/']);
  });

  it('confines a path to the directory it is relative to, not only to the mount', () => {
    const host = createWasiHost({ mounts: { '/data': memory() } });
    const dir = root(host);
    dir.createDirectoryAt('dir');
    dir.createDirectoryAt('dir/nested');
    dir.openAt({}, 'x', { create: true }, RW);
    const opened = dir.openAt({}, 'dir', { directory: true }, R);
    expect(codeOf(() => opened.statAt({}, 'nested/../../x'))).toBe('not-permitted');
    expect(codeOf(() => opened.openAt({}, '../x', {}, R))).toBe('not-permitted');
    expect(codeOf(() => opened.openAt({}, 'nested/../../dir/x', { create: true }, RW))).toBe('not-permitted');
    expect(opened.statAt({}, 'nested/..').type).toBe('directory');
    expect(dir.statAt({}, 'dir/nested/../../x').type).toBe('regular-file');
  });

  it('refuses a path of PATH_MAX bytes or more before looking it up, as Linux does', () => {
    const host = createWasiHost({ mounts: { '/data': memory() } });
    const dir = root(host);
    const segments = (bytes: number) => 'd/'.repeat(bytes / 2 - 1) + 'dd';
    expect(codeOf(() => dir.statAt({}, segments(4094)))).toBe('no-entry');
    expect(codeOf(() => dir.statAt({}, segments(4096)))).toBe('name-too-long');
    expect(codeOf(() => dir.openAt({}, 'é'.repeat(2048), { create: true }, RW))).toBe('name-too-long');
    expect(codeOf(() => dir.statAt({}, 'd/'.repeat(500_000)))).toBe('name-too-long');
  });

  it('refuses to remove a directory named by . or .., as Linux does', () => {
    const host = createWasiHost({ mounts: { '/data': memory() } });
    const dir = root(host);
    dir.createDirectoryAt('empty');
    for (const path of ['empty/.', 'empty/./', 'empty/./.']) {
      expect(
        codeOf(() => dir.removeDirectoryAt(path)),
        path,
      ).toBe('invalid');
    }
    dir.createDirectoryAt('empty/sub');
    expect(codeOf(() => dir.removeDirectoryAt('empty/sub/..'))).toBe('not-empty');
    expect(codeOf(() => dir.removeDirectoryAt('missing/.'))).toBe('no-entry');
    // The mount's root, as libc asks for rmdir("/data"): busy, as a mount point is.
    expect(codeOf(() => dir.removeDirectoryAt('.'))).toBe('busy');
    drop(dir.openAt({}, 'file', { create: true }, RW));
    expect(codeOf(() => dir.removeDirectoryAt('file/.'))).toBe('not-directory');
    expect(dir.statAt({}, 'empty/sub').type).toBe('directory');
    dir.removeDirectoryAt('empty/sub/');
    dir.removeDirectoryAt('empty');
    expect(codeOf(() => dir.statAt({}, 'empty'))).toBe('no-entry');
  });

  it('refuses to rename a path ending in . or .., either side, as Linux does (busy)', () => {
    const host = createWasiHost({ mounts: { '/data': memory() } });
    const dir = root(host);
    dir.createDirectoryAt('a');
    dir.createDirectoryAt('a/b');
    for (const [from, to] of [
      ['a/b/.', 'c'],
      ['a/b/..', 'c'],
      ['a/b/./', 'c'],
      ['a/b', 'a/.'],
      ['a/b', 'a/b/..'],
    ]) {
      expect(
        codeOf(() => dir.renameAt(from!, dir, to!)),
        `${from} -> ${to}`,
      ).toBe('busy');
    }
    expect(codeOf(() => dir.renameAt('missing/.', dir, 'c'))).toBe('no-entry');
    expect(dir.statAt({}, 'a/b').type).toBe('directory');
    expect(codeOf(() => dir.statAt({}, 'c'))).toBe('no-entry');
  });
});
