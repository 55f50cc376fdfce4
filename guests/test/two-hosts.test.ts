import type { Descriptor, ErrorCode } from '@bytecodealliance/preview2-shim/interfaces/wasi-filesystem-types';
import type { VfsStorage, VfsSyncStorage } from '@eryx/vfs-core';
import { createWasiHost, type WasiHost } from '@eryx/vfs-core/wasi';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresBackend, sqliteBackend, type TestStore } from './backends.js';
import { wasiCodeOf as codeOf, decode, drop, R, RW, root, text } from './descriptors.js';

/*
 * Issue #18, class 4: two hosts (two storage objects, as two processes would have) on one store.
 * Host B holds a file open, host A unlinks or replaces it: B's writes never bring the path back
 * nor land in the file now at that path; they fail with `no-entry` (the WASI host writes through
 * the file's identity, `WriteExtentsOptions.ifFile`; appends, size and time changes check it with a
 * stat first). Direct storages refuse the write itself; the
 * sync bridge buffers it and refuses it when storing it (fsync, close). Memory cannot be shared by
 * two storage objects; S3 in single-writer mode promises one writer only (see the kit's
 * `sharedFiles` sub-suite for S3's conditional mode).
 */

function syncOf(storage: VfsStorage | VfsSyncStorage): VfsSyncStorage {
  return 'sync' in storage && storage.sync ? storage.sync : (storage as VfsSyncStorage);
}

const names = (dir: Descriptor): string[] => {
  const stream = dir.readDirectory();
  const out: string[] = [];
  for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry())
    out.push(entry.name);
  return out;
};

/** The error code of an append through a stream of `file` (`ok` when it worked). */
function appendCode(host: WasiHost, file: Descriptor, data: Uint8Array): ErrorCode | 'ok' {
  try {
    file.appendViaStream().blockingWriteAndFlush(data);
    return 'ok';
  } catch (error) {
    const { filesystemErrorCode } = host.imports['wasi:filesystem/types'] as {
      filesystemErrorCode(error: unknown): ErrorCode | undefined;
    };
    return filesystemErrorCode((error as { val: unknown }).val) ?? 'io';
  }
}

/** A write and an fsync: the sync bridge reports a refused write at the latest there. */
const writeAndSync = (file: Descriptor, data: Uint8Array, offset: number) =>
  codeOf(() => {
    file.write(data, BigInt(offset));
    file.sync();
  });

describe.each([sqliteBackend, postgresBackend])('two hosts on one store, on $name', (backend) => {
  const stores: TestStore[] = [];
  const hosts: WasiHost[] = [];
  afterEach(async () => {
    for (const host of hosts.splice(0)) host.close();
    for (const store of stores.splice(0)) await store.destroy();
  });

  function setup() {
    const store = backend.store();
    stores.push(store);
    const open = () => {
      const storage = syncOf(store.open());
      const host = createWasiHost({ mounts: { '/data': storage } });
      hosts.push(host);
      return { storage, host, dir: root(host) };
    };
    return { a: open(), b: open() };
  }

  it("an unlink by host A: host B's write through its open file fails, the path stays absent", () => {
    const { a, b } = setup();
    const file = b.dir.openAt({}, 'shared', { create: true }, RW);
    expect(writeAndSync(file, text('hello'), 0)).toBe('ok');
    expect(decode(a.dir.openAt({}, 'shared', {}, R).read(100n, 0n)[0])).toBe('hello');

    a.dir.unlinkFileAt('shared');
    expect(writeAndSync(file, text('!'), 10)).toBe('no-entry');
    expect(names(a.dir)).not.toContain('shared');
    expect(a.storage.exists('/shared')).toBe(false);
    // Nor does closing B's descriptor (which stores what is buffered) or B's host bring it back.
    drop(file);
    hosts.splice(hosts.indexOf(b.host), 1);
    b.host.close();
    expect(a.storage.exists('/shared')).toBe(false);
    expect(codeOf(() => a.dir.openAt({}, 'shared', {}, R))).toBe('no-entry');
  });

  it("a replacement by host A: host B's write fails, the new file is left intact", () => {
    const { a, b } = setup();
    const file = b.dir.openAt({}, 'shared', { create: true }, RW);
    expect(writeAndSync(file, text('old'), 0)).toBe('ok');

    const next = a.dir.openAt({}, 'next', { create: true }, RW);
    next.write(text('new content'), 0n);
    next.sync();
    a.dir.renameAt('next', a.dir, 'shared');
    expect(writeAndSync(file, text('OLD'), 0)).toBe('no-entry');
    expect(decode(a.storage.read('/shared'))).toBe('new content');
    drop(file);
    expect(decode(a.storage.read('/shared'))).toBe('new content');
  });

  it("an unlink by host A: host B's append, setSize and setTimes fail, the path stays absent", () => {
    const { a, b } = setup();
    const file = b.dir.openAt({}, 'log', { create: true }, RW);
    expect(appendCode(b.host, file, text('one\n'))).toBe('ok');

    a.dir.unlinkFileAt('log');
    expect(appendCode(b.host, file, text('two\n'))).toBe('no-entry');
    expect(codeOf(() => file.setSize(100n))).toBe('no-entry');
    const when = { tag: 'timestamp', val: { seconds: 1_000_000_000n, nanoseconds: 0 } } as const;
    expect(codeOf(() => file.setTimes({ tag: 'no-change' }, when))).toBe('no-entry');
    expect(a.storage.exists('/log')).toBe(false);
    drop(file);
    expect(a.storage.exists('/log')).toBe(false);
  });

  it("a replacement by host A: host B's append and setSize leave the new file intact", () => {
    const { a, b } = setup();
    const file = b.dir.openAt({}, 'log', { create: true }, RW);
    expect(appendCode(b.host, file, text('old\n'))).toBe('ok');

    const next = a.dir.openAt({}, 'next', { create: true }, RW);
    next.write(text('new content'), 0n);
    next.sync();
    a.dir.renameAt('next', a.dir, 'log');
    expect(appendCode(b.host, file, text('OLD\n'))).toBe('no-entry');
    expect(codeOf(() => file.setSize(0n))).toBe('no-entry');
    expect(decode(a.storage.read('/log'))).toBe('new content');
    drop(file);
    expect(decode(a.storage.read('/log'))).toBe('new content');
  });
});
