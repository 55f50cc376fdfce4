import type { Descriptor } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost, type WasiHost } from '@eryx/vfs-core/wasi';
import { memory } from '@eryx/vfs-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { allBackends, type TestStore } from './backends.js';
import { wasiCodeOf as codeOf, decode, drop, R, RW, root, text } from './descriptors.js';

/*
 * Issue #22 item 2: hard links through the host's `link-at`, on every backend that stores them
 * (`capabilities.hardLinks`); the others answer `not-permitted`, as POSIX file systems without hard
 * links do. Storage semantics are the kit's `hardLinks` sub-suite; this is what the guest sees:
 * link counts, writes through open descriptors, unlinking open names, inode numbers.
 */

function syncOf(storage: VfsStorage | VfsSyncStorage): VfsSyncStorage {
  return 'sync' in storage && storage.sync ? storage.sync : (storage as VfsSyncStorage);
}

const readAll = (dir: Descriptor, path: string): string =>
  decode(dir.openAt({}, path, {}, R).read(1000n, 0n)[0]);

describe.each(allBackends)('hard links on $name', (backend) => {
  const stores: TestStore[] = [];
  afterAll(async () => {
    for (const store of stores) await store.destroy();
  });

  /** A host on a new store with `sub/f` ("file"). */
  function setup(): { host: WasiHost; dir: Descriptor; storage: VfsSyncStorage } {
    const store = backend.store();
    stores.push(store);
    const source = store.open();
    const host = createWasiHost({ mounts: { '/data': source, '/other': memory() } });
    const dir = root(host);
    dir.createDirectoryAt('sub');
    dir.openAt({}, 'sub/f', { create: true }, RW).write(text('file'), 0n);
    return { host, dir, storage: syncOf(source) };
  }

  it('link-at gives a file a second name: one content, link count 2, one inode number', () => {
    const { dir, storage } = setup();
    if (!storage.capabilities.hardLinks) {
      expect(codeOf(() => dir.linkAt({}, 'sub/f', dir, 'g'))).toBe('not-permitted');
      expect(storage.exists('/g')).toBe(false);
      return;
    }
    expect(dir.statAt({}, 'sub/f').linkCount).toBe(1n);
    dir.linkAt({}, 'sub/f', dir, 'g');
    expect(dir.statAt({}, 'g').linkCount).toBe(2n);
    expect(dir.statAt({}, 'sub/f').linkCount).toBe(2n);
    expect(readAll(dir, 'g')).toBe('file');
    // One inode number for both names, where storage gives files an identity.
    const identified = storage.stat('/g').id !== undefined;
    if (identified) expect(dir.metadataHashAt({}, 'g')).toEqual(dir.metadataHashAt({}, 'sub/f'));
    const a = dir.openAt({}, 'sub/f', {}, RW);
    const b = dir.openAt({}, 'g', {}, RW);
    if (identified) {
      expect(a.isSameObject(b)).toBe(true);
      expect(a.metadataHash()).toEqual(b.metadataHash());
    }
    // A write through one descriptor is read through the other name at once.
    a.write(text('FILE!'), 0n);
    expect(decode(b.read(100n, 0n)[0])).toBe('FILE!');
    b.write(text('+'), 5n);
    expect(readAll(dir, 'sub/f')).toBe('FILE!+');
    expect(a.stat().size).toBe(6n);
    drop(a);
    drop(b);
    expect(storage.stat('/g').linkCount).toBe(2);
  });

  it('unlinking one name leaves the other, even while the unlinked name is open', () => {
    const { host, dir, storage } = setup();
    if (!storage.capabilities.hardLinks) return;
    dir.linkAt({}, 'sub/f', dir, 'g');
    const open = dir.openAt({}, 'g', {}, RW);
    dir.unlinkFileAt('g');
    expect(codeOf(() => dir.statAt({}, 'g'))).toBe('no-entry');
    // The open descriptor goes on with the file, whose one remaining name is sub/f.
    expect(open.stat().linkCount).toBe(1n);
    open.write(text('FROM-G'), 0n);
    expect(readAll(dir, 'sub/f')).toBe('FROM-G');
    expect(dir.statAt({}, 'sub/f').linkCount).toBe(1n);
    drop(open);
    host.close();
    // Once closed, the orphan name is gone: one name, the data kept.
    expect(storage.stat('/sub/f').linkCount).toBe(1);
    expect(decode(storage.read('/sub/f'))).toBe('FROM-G');
  });

  it('rename onto another name of the same file does nothing, open or not', () => {
    const { dir, storage } = setup();
    if (!storage.capabilities.hardLinks) return;
    dir.linkAt({}, 'sub/f', dir, 'g');
    const open = dir.openAt({}, 'g', {}, R);
    dir.renameAt('sub/f', dir, 'g');
    expect(dir.statAt({}, 'sub/f').linkCount).toBe(2n);
    expect(dir.statAt({}, 'g').linkCount).toBe(2n);
    expect(decode(open.read(100n, 0n)[0])).toBe('file');
    drop(open);
  });

  it('refuses what Linux refuses, with its codes', () => {
    const { host, dir, storage } = setup();
    if (!storage.capabilities.hardLinks) return;
    dir.openAt({}, 'h', { create: true }, RW);
    expect(codeOf(() => dir.linkAt({}, 'missing', dir, 'x'))).toBe('no-entry');
    expect(codeOf(() => dir.linkAt({}, 'sub', dir, 'x'))).toBe('not-permitted');
    expect(codeOf(() => dir.linkAt({}, 'sub', dir, 'h'))).toBe('exist');
    expect(codeOf(() => dir.linkAt({}, 'sub/f', dir, 'h'))).toBe('exist');
    expect(codeOf(() => dir.linkAt({}, 'sub/f', dir, 'nope/x'))).toBe('no-entry');
    expect(codeOf(() => dir.linkAt({}, 'sub/f/', dir, 'x'))).toBe('not-directory');
    expect(codeOf(() => dir.linkAt({}, 'sub/f', dir, 'x/'))).toBe('no-entry');
    expect(codeOf(() => dir.linkAt({}, 'sub/f', dir, '../x'))).toBe('not-permitted');
    expect(codeOf(() => dir.linkAt({}, 'sub/f', root(host, 1), 'x'))).toBe('cross-device');
    expect(storage.exists('/x')).toBe(false);
    expect(storage.stat('/sub/f').linkCount).toBe(1);
  });

  it('link-at follows a final symbolic link only with symlink-follow', () => {
    const { dir, storage } = setup();
    if (!storage.capabilities.hardLinks || !storage.capabilities.symlinks) return;
    dir.symlinkAt('sub/f', 'l');
    dir.linkAt({}, 'l', dir, 'l2');
    expect(dir.readlinkAt('l2')).toBe('sub/f');
    expect(dir.statAt({}, 'l2').linkCount).toBe(2n);
    dir.linkAt({ symlinkFollow: true }, 'l', dir, 'f2');
    expect(dir.statAt({}, 'f2').type).toBe('regular-file');
    expect(dir.statAt({}, 'sub/f').linkCount).toBe(2n);
  });
});
