import { execFileSync } from 'node:child_process';
import {
  createWriteStream,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runInNewContext } from 'node:vm';
import { expectBytes, expectError, pattern } from '@eryx/vfs-conformance';
import { isVfsError, limits, type Metadata, nsToMs } from '@eryx/vfs-core';
import { exportTar, importTar } from '@eryx/vfs-core/tar';
import { describe, expect, it } from 'vitest';
import { type MemoryStorage, memory } from '../src/index.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('memory limits', () => {
  it('defaults to 64 MiB', () => {
    expect(memory().maxBytes).toBe(64 * 1024 * 1024);
  });

  it('takes limits as an option, like every backend: maxBytes itself, the rest refused', async () => {
    const s = memory({ maxBytes: 10, limits: { maxBytes: 4 } });
    expect(s.maxBytes).toBe(4);
    expect(s.limits).toEqual({ maxBytes: 4 });
    await expectError(() => s.write('/a', pattern(5)), 'quota-exceeded');
    expect(() => memory({ limits: { maxFiles: 1 } })).toThrow(/limits\(\) for maxFiles/);
    expect(() => memory({ limits: { maxFiles: 1 } })).toThrowError(
      expect.objectContaining({ code: 'invalid-argument' }),
    );
  });

  it('refuses a 1-byte write at 2^40 before allocating anything', async () => {
    const s = memory();
    const heapBefore = process.memoryUsage().arrayBuffers;
    await expectError(() => s.writeAt('/far', 2 ** 40, text('x')), 'quota-exceeded');
    expect(await s.exists('/far')).toBe(false);
    expect(s.usedBytes).toBe(0);
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(1024 * 1024);
  });

  it('counts every kind of growth and gives space back', async () => {
    // Usage counts each name (a byte here) with the file's size.
    const s = memory({ maxBytes: 1000 });
    await s.write('/a', pattern(600));
    await expectError(() => s.write('/b', pattern(399)), 'quota-exceeded');
    await expectError(() => s.append('/a', pattern(400)), 'quota-exceeded');
    await expectError(() => s.setSize('/a', 1000), 'quota-exceeded');
    await expectError(() => s.writeAt('/a', 999, pattern(1)), 'quota-exceeded');
    expect(await s.exists('/b')).toBe(false);
    expectBytes(await s.read('/a'), pattern(600));
    await s.write('/b', pattern(398));
    expect(s.usedBytes).toBe(1000);
    await s.delete('/a');
    await s.setSize('/b', 100);
    await s.write('/c', pattern(800));
    await s.write('/b', pattern(50));
    expect(s.usedBytes).toBe(852);
    await s.rename('/b', '/c');
    expect(s.usedBytes).toBe(51);
  });

  it('counts names: files, directories, renames; only growth is refused, before any change', async () => {
    const s = memory({ maxBytes: 20 });
    await s.mkdir('/dir');
    await s.write('/dir/é', text('xy'));
    expect(s.usedBytes).toBe(3 + 2 + 2);
    const refusal = await s.mkdir('/abcdefghijklmn').catch((e: unknown) => e);
    expect(isVfsError(refusal, 'quota-exceeded')).toBe(true);
    expect((refusal as Error).message).toContain(
      'the memory store would hold 21 bytes (names included), the limit is 20',
    );
    await expectError(() => s.write('/abcdefghijklmn', new Uint8Array(0)), 'quota-exceeded');
    await expectError(() => s.create('/abcdefghijklmn'), 'quota-exceeded');
    await expectError(() => s.rename('/dir', '/dir-abcdefghijklm'), 'quota-exceeded');
    expect(await s.list('/')).toEqual([{ name: 'dir', kind: 'directory', size: 0 }]);
    expect(s.usedBytes).toBe(7);
    // A directory's rename changes its own name only.
    await s.rename('/dir', '/d');
    expect(s.usedBytes).toBe(5);
    await s.mkdir('/abcdefghijklmno');
    expect(s.usedBytes).toBe(20);
    await expectError(() => s.rename('/d', '/dd'), 'quota-exceeded');
    await s.rename('/abcdefghijklmno', '/abcdefghijklmnp');
    await s.rmdir('/abcdefghijklmnp');
    await s.write('/f', text('abcdefghijklm'));
    expect(s.usedBytes).toBe(19);
    // Replacing a file frees its name and size, and the source's old name.
    await s.rename('/f', '/d/é');
    expect(s.usedBytes).toBe(1 + 2 + 13);
    await s.delete('/d/é');
    await s.rmdir('/d');
    expect(s.usedBytes).toBe(0);
  });

  it('a replacing write may use the space it frees', async () => {
    const s = memory({ maxBytes: 100 });
    await s.write('/a', pattern(99));
    await s.write('/a', pattern(99, 2));
    expectBytes(await s.read('/a'), pattern(99, 2));
  });

  it('rejects a bad limit', () => {
    expect(() => memory({ maxBytes: -1 })).toThrow(/maxBytes/);
  });
});

describe('memory snapshots', () => {
  async function sample() {
    const s = memory({ maxBytes: 10_000_000 });
    await s.mkdir('/dir');
    await s.write('/dir/a', text('alpha'));
    await s.writeAt('/dir/sparse', 200_000, text('z'));
    await s.mkdir('/dir/empty');
    await s.write('/😀 name', text('emoji'));
    await s.setTimes('/dir/a', { modified: 1_000_000_000_000 });
    return s;
  }

  it('restores a snapshot in place', async () => {
    const s = await sample();
    const snap = s.snapshot();
    await s.write('/dir/a', text('changed'));
    await s.delete('/😀 name');
    await s.mkdir('/new');
    s.restore(snap);
    expect(str(await s.read('/dir/a'))).toBe('alpha');
    expect(str(await s.read('/😀 name'))).toBe('emoji');
    expect(await s.exists('/new')).toBe(false);
    // The sizes, then the names: dir, a, sparse, empty and '😀 name' (UTF-8 bytes).
    expect(s.usedBytes).toBe(5 + 200_001 + 5 + (3 + 1 + 6 + 5 + 9));
    await s.write('/dir/a', text('again'));
    s.restore(snap);
    expect(str(await s.read('/dir/a'))).toBe('alpha');
  });

  it('forks into an independent store with the same limits', async () => {
    const s = await sample();
    const f = s.fork();
    expect(f.maxBytes).toBe(10_000_000);
    await f.write('/dir/a', text('fork'));
    await s.write('/dir/a', text('orig'));
    expect(str(await f.read('/dir/a'))).toBe('fork');
    expect(str(await s.read('/dir/a'))).toBe('orig');
    await expectError(() => f.write('/big', new Uint8Array(10_000_001)), 'quota-exceeded');
  });

  it('serializes to bytes and back', async () => {
    const s = await sample();
    const bytes = s.serialize();
    const t = memory({ from: bytes, maxBytes: 10_000_000 });
    expect(str(await t.read('/dir/a'))).toBe('alpha');
    expect((await t.stat('/dir/a')).modified).toBe(1_000_000_000_000);
    expect((await t.stat('/dir/sparse')).size).toBe(200_001);
    expect(str(await t.readAt('/dir/sparse', 200_000, 5))).toBe('z');
    expect(await t.list('/dir/empty')).toEqual([]);
    expect(str(await t.read('/😀 name'))).toBe('emoji');
    expect(t.usedBytes).toBe(s.usedBytes);
    expect(t.usedBytes).toBe(5 + 200_001 + 5 + (3 + 1 + 6 + 5 + 9));
    expectBytes(t.serialize(), bytes);
  });

  it('restores serialized bytes handed over as a Uint8Array of another realm', async () => {
    const s = await sample();
    const bytes = s.serialize();
    const foreign = runInNewContext('(n) => new Uint8Array(n)')(bytes.length) as Uint8Array;
    foreign.set(bytes);
    expect(foreign instanceof Uint8Array).toBe(false);
    const t = memory({ from: foreign, maxBytes: 10_000_000 });
    expect(str(await t.read('/dir/a'))).toBe('alpha');
  });

  it('serializes a given snapshot', async () => {
    const s = await sample();
    const snap = s.snapshot();
    await s.delete('/dir/a');
    const t = memory({ from: s.serialize(snap), maxBytes: 10_000_000 });
    expect(await t.exists('/dir/a')).toBe(true);
  });

  it('refuses corrupt bytes and snapshots over the limit', async () => {
    const s = await sample();
    const bytes = s.serialize();
    for (const bad of [new Uint8Array(0), text('not a snapshot'), bytes.subarray(0, bytes.length - 3)]) {
      let error: unknown;
      try {
        memory({ from: bad });
      } catch (e) {
        error = e;
      }
      expect(isVfsError(error, 'invalid-argument')).toBe(true);
    }
    expect(() => memory({ from: bytes, maxBytes: 100 })).toThrow(/quota-exceeded/);
    const small = memory({ maxBytes: 100 });
    expect(() => small.restore(s.snapshot())).toThrow(/quota-exceeded/);
  });
});

describe('memory symbolic links', () => {
  it('counts a link as its name plus its target in the usage; deleting or replacing it frees both', async () => {
    // 'l' (1 byte) to 'tä' (3 bytes): 4 bytes.
    const s = memory({ maxBytes: 9 });
    await s.write('/f', text('xxxx'));
    await expectError(() => s.symlink('/l', 'täx'), 'quota-exceeded');
    await expectError(() => s.symlink('/ll', 'tä'), 'quota-exceeded');
    expect(s.usedBytes).toBe(5);
    await s.symlink('/l', 'tä');
    expect(s.usedBytes).toBe(9);
    expect(await s.list('/')).toEqual(expect.arrayContaining([{ name: 'l', kind: 'symlink', size: 3 }]));
    await expectError(() => s.rename('/l', '/ll'), 'quota-exceeded');
    await s.delete('/l');
    expect(s.usedBytes).toBe(5);
    await s.symlink('/m', 'abc');
    // A link replacing a file frees the file's name and size; a file replacing a link its target.
    await s.rename('/m', '/f');
    expect(s.usedBytes).toBe(4);
    await s.write('/g', text('y'));
    await s.rename('/g', '/f');
    expect(s.usedBytes).toBe(2);
    expect(str(await s.read('/f'))).toBe('y');
  });

  it('snapshots, forks and restores carry links, as links of their own', async () => {
    const s = memory();
    await s.symlink('/l', '../target');
    const snap = s.snapshot();
    const f = s.fork();
    await s.delete('/l');
    await s.symlink('/l', 'changed');
    expect(await f.readlink('/l')).toBe('../target');
    s.restore(snap);
    expect(await s.readlink('/l')).toBe('../target');
    expect(s.usedBytes).toBe(1 + 9);
    expect((await s.stat('/l')).id).not.toBe((await f.stat('/l')).id);
  });

  it('serializes links and reads them back, as version 2; a store without links stays version 1', async () => {
    const s = memory();
    await s.mkdir('/d');
    await s.write('/d/f', text('data'));
    const plain = s.serialize();
    expect(plain[7]).toBe(1);
    const long = `/${'ü'.repeat(2047)}x`;
    await s.symlink('/d/l', long);
    await s.symlink('/rel', 'd/f');
    await s.setTimes('/rel', { modified: 1_200_000_000_000, accessed: 1_300_000_000_000 });
    const bytes = s.serialize();
    expect(bytes[7]).toBe(2);
    const t = memory({ from: bytes });
    expect(await t.readlink('/d/l')).toBe(long);
    expect(await t.readlink('/rel')).toBe('d/f');
    const meta = await t.stat('/rel');
    expect([meta.kind, meta.size, meta.modified, meta.accessed]).toEqual([
      'symlink',
      3,
      1_200_000_000_000,
      1_300_000_000_000,
    ]);
    expect(t.usedBytes).toBe(s.usedBytes);
    expectBytes(t.serialize(), bytes);
    // Deleting the links makes the store plain again.
    await t.delete('/d/l');
    await t.delete('/rel');
    expectBytes(t.serialize(), plain);
  });

  it('loads a snapshot of the format before links (a fixture), and can make links afterwards', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('./fixtures/snapshot-v1.bin', import.meta.url)));
    const s = memory({ from: bytes });
    expect(await s.list('/docs/empty')).toEqual([]);
    expect(str(await s.read('/docs/ümlaut 😀.txt'))).toBe('hello, world\n');
    expect(str(await s.readAt('/sparse', 300, 10))).toBe('tail');
    expect((await s.stat('/sparse')).size).toBe(304);
    expect((await s.stat('/empty')).size).toBe(0);
    const meta = await s.stat('/docs/ümlaut 😀.txt');
    expect([meta.modified, meta.accessed]).toEqual([1_600_000_000_000, 1_600_000_000_500]);
    // Names (docs, empty, ümlaut 😀.txt, sparse, empty) and sizes.
    expect(s.usedBytes).toBe(4 + 5 + 16 + 6 + 5 + 13 + 304);
    expectBytes(s.serialize(), bytes);
    await s.symlink('/docs/link', 'ümlaut 😀.txt');
    expect(await memory({ from: s.serialize() }).readlink('/docs/link')).toBe('ümlaut 😀.txt');
  });

  it('refuses a link entry in a version 1 snapshot, an empty target and a truncated link', async () => {
    const s = memory();
    await s.symlink('/l', 'abc');
    const bytes = s.serialize();
    const v1 = bytes.slice();
    v1[7] = 1;
    expect(() => memory({ from: v1 })).toThrow(/unknown entry kind 3/);
    // The target's length follows magic, root times, kind, the path '/l' and its times.
    const at = 8 + 24 + 1 + 4 + 2 + 24;
    expect(new DataView(bytes.buffer).getUint32(at, true)).toBe(3);
    const empty = new Uint8Array([...bytes.subarray(0, at), 0, 0, 0, 0, 0]);
    expect(() => memory({ from: empty })).toThrow(/bad link target/);
    expect(() => memory({ from: bytes.subarray(0, at + 5) })).toThrow(/truncated/);
  });

  it('a link counts as a file under limits() maxFiles', async () => {
    const s = limits(memory(), { maxFiles: 2 });
    await s.write('/f', text('x'));
    await s.symlink('/l', 'f');
    await expectError(() => s.symlink('/m', 'f'), 'quota-exceeded');
    await expectError(() => s.write('/g', text('x')), 'quota-exceeded');
    await s.delete('/l');
    await s.symlink('/m', 'f');
  });
});

describe('memory exact times (nanoseconds)', () => {
  /** 2024-11-30T20:53:20.123456789Z: more digits than a double of milliseconds holds. */
  const N = 1_733_000_000_123_456_789n;

  async function timed() {
    const s = memory();
    await s.mkdir('/d');
    await s.write('/d/f', text('data'));
    await s.symlink('/d/l', 'f');
    await s.setTimes('/d/f', { modified: N, accessed: N + 1n });
    await s.setTimes('/d', { modified: N - 100n });
    await s.setTimes('/d/l', { accessed: -(2n ** 63n) });
    await s.setTimes('/', { modified: 2n ** 63n - 1n, accessed: -1n });
    return s;
  }

  async function metas(s: MemoryStorage) {
    const out: Metadata[] = [];
    for (const p of ['/', '/d', '/d/f', '/d/l']) {
      const { id: _, ...meta } = await s.stat(p);
      out.push(meta);
    }
    return out;
  }

  it('snapshots, forks and serialized bytes keep them, as version 3; usage is unchanged', async () => {
    const s = await timed();
    const before = await metas(s);
    expect(before[2]).toMatchObject({ modified: nsToMs(N), modifiedNs: N, accessedNs: N + 1n });
    expect(before[3]).toMatchObject({ accessedNs: -(2n ** 63n) });
    expect(before[3]).not.toHaveProperty('modifiedNs');
    // Names d, f, l, the file's 4 bytes and the link's 1-byte target: exact times cost nothing.
    expect(s.usedBytes).toBe(1 + 1 + 1 + 4 + 1);
    const bytes = s.serialize();
    expect(bytes[7]).toBe(3);
    const t = memory({ from: bytes });
    expect(await metas(t)).toEqual(before);
    expect(await t.readlink('/d/l')).toBe('f');
    expect(str(await t.read('/d/f'))).toBe('data');
    expect(t.usedBytes).toBe(s.usedBytes);
    expectBytes(t.serialize(), bytes);
    expect(await metas(s.fork())).toEqual(before);
    const snap = s.snapshot();
    await s.setTimes('/d/f', { modified: 5 });
    await s.setTimes('/', { modified: 5 });
    s.restore(snap);
    expect(await metas(s)).toEqual(before);
  });

  it('a store whose exact times are all stale or dropped is written in the oldest format again', async () => {
    const s = await timed();
    await s.write('/d/f', text('moved'));
    await s.setTimes('/d', { modified: 1_000 });
    await s.setTimes('/d/l', { accessed: 2_000 });
    await s.setTimes('/', { modified: 3_000, accessed: 4_000 });
    expect((await s.stat('/d/f')).modifiedNs).toBeUndefined();
    expect(s.serialize()[7]).toBe(2);
    await s.delete('/d/l');
    const plain = s.serialize();
    expect(plain[7]).toBe(1);
    await s.setTimes('/d/f', { accessed: N });
    const exact = s.serialize();
    expect(exact[7]).toBe(3);
    expect((await memory({ from: exact }).stat('/d/f')).accessedNs).toBe(N);
    // Dropping the exact time (a number time) makes the bytes version 1 again, unchanged.
    await s.setTimes('/d/f', { accessed: (await memory({ from: plain }).stat('/d/f')).accessed });
    expectBytes(s.serialize(), plain);
  });

  it('loads a snapshot of the format with links (a fixture) and writes it back byte for byte', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('./fixtures/snapshot-v2.bin', import.meta.url)));
    expect(bytes[7]).toBe(2);
    const s = memory({ from: bytes });
    expect(str(await s.read('/docs/note.txt'))).toBe('links ahead\n');
    expect(await s.readlink('/docs/link')).toBe('note.txt');
    expect(await s.readlink('/up')).toBe('../ü/😀');
    const meta = await s.stat('/docs/note.txt');
    expect([meta.modified, meta.accessed]).toEqual([1_650_000_002_000.25, 1_650_000_002_500]);
    expect(meta).not.toHaveProperty('modifiedNs');
    expect((await s.stat('/up')).modified).toBe(1_650_000_004_000.25);
    expect((await s.stat('/')).accessed).toBe(1_650_000_000_500);
    // Names (docs, note.txt, link, up), the file's size and the targets' bytes.
    expect(s.usedBytes).toBe(4 + 8 + 4 + 2 + 12 + 8 + 10);
    expectBytes(s.serialize(), bytes);
    await s.setTimes('/up', { modified: N });
    const t = memory({ from: s.serialize() });
    expect((await t.stat('/up')).modifiedNs).toBe(N);
    expect(await t.readlink('/up')).toBe('../ü/😀');
  });

  it('refuses version 3 bytes with an unknown mask, exact times off their milliseconds, or cut short', async () => {
    const s = memory();
    await s.write('/f', text('x'));
    await s.setTimes('/', { modified: 1 });
    await s.setTimes('/f', { modified: N });
    const bytes = s.serialize();
    expect(bytes[7]).toBe(3);
    // The root's mask follows the magic and its three f64 times; it has no exact time.
    const mask = 8 + 24;
    expect(bytes[mask]).toBe(0);
    const unknown = bytes.slice();
    unknown[mask] = 4;
    expect(() => memory({ from: unknown })).toThrow(/unknown times mask 4/);
    // The file's exact modified time follows its kind, the path '/f', its times and its mask.
    const ns = mask + 1 + 1 + 4 + 2 + 24 + 1;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getBigInt64(ns, true)).toBe(N);
    const off = bytes.slice();
    new DataView(off.buffer).setBigInt64(ns, N - 1000n, true);
    expect(() => memory({ from: off })).toThrow(/exact times disagree/);
    expect(() => memory({ from: bytes.subarray(0, ns + 4) })).toThrow(/truncated/);
    const future = bytes.slice();
    future[7] = 5;
    expect(() => memory({ from: future })).toThrow(/bad magic or version/);
  });
});

describe('memory hard links', () => {
  it('counts a file once in the usage, each name apart; the size goes with the last name', async () => {
    const s = memory({ maxBytes: 100 });
    await s.write('/a', new Uint8Array(40));
    expect(s.usedBytes).toBe(1 + 40);
    await s.link('/a', '/bb');
    expect(s.usedBytes).toBe(1 + 2 + 40);
    // A write through one name grows the one file.
    await s.append('/bb', new Uint8Array(10));
    expect(s.usedBytes).toBe(1 + 2 + 50);
    await s.rename('/a', '/ccc');
    expect(s.usedBytes).toBe(3 + 2 + 50);
    await s.delete('/ccc');
    expect(s.usedBytes).toBe(2 + 50);
    await s.write('/x', text('x'));
    await s.rename('/x', '/bb');
    expect(s.usedBytes).toBe(2 + 1);
    // A name that would pass the limit is refused before anything changes.
    await s.write('/big', new Uint8Array(90));
    await expectError(() => s.link('/big', '/longer-than-what-is-left'), 'quota-exceeded');
    expect((await s.stat('/big')).linkCount).toBe(1);
    expect(await s.exists('/longer-than-what-is-left')).toBe(false);
  });

  it('a rename refused by the limit leaves the replaced file its names', async () => {
    const s = memory({ maxBytes: 30 });
    await s.write('/a', new Uint8Array(10));
    await s.link('/a', '/b');
    await s.write('/c', new Uint8Array(10));
    // '/c' → '/bbbbbbbbbb…' would need more names' bytes than are left; '/b' keeps its file.
    await s.link('/c', '/d');
    await expectError(() => s.rename('/c', `/${'b'.repeat(10)}`), 'quota-exceeded');
    expect((await s.stat('/a')).linkCount).toBe(2);
    expect((await s.stat('/c')).linkCount).toBe(2);
  });

  it('snapshots, forks and restores keep the names of one file together', async () => {
    const s = memory();
    await s.mkdir('/d');
    await s.write('/d/f', text('one'));
    await s.link('/d/f', '/g');
    const snap = s.snapshot();
    const f = s.fork();
    await s.delete('/g');
    s.restore(snap);
    for (const store of [s, f]) {
      await store.append('/g', text('+'));
      expect(str(await store.read('/d/f'))).toBe('one+');
      expect((await store.stat('/d/f')).linkCount).toBe(2);
      expect((await store.stat('/g')).id).toBe((await store.stat('/d/f')).id);
    }
    expect((await s.stat('/g')).id).not.toBe((await f.stat('/g')).id);
  });

  it('serializes hard links as version 4 and reads them back; without them, the older versions', async () => {
    const s = memory();
    await s.mkdir('/d');
    await s.write('/d/f', text('data'));
    await s.symlink('/l', 'd/f');
    const before = s.serialize();
    expect(before[7]).toBe(2);
    await s.link('/d/f', '/h');
    await s.link('/l', '/d/m');
    await s.setTimes('/h', { modified: 1_200_000_000_000 });
    const bytes = s.serialize();
    expect(bytes[7]).toBe(4);
    const t = memory({ from: bytes });
    expect(t.usedBytes).toBe(s.usedBytes);
    for (const [a, b] of [
      ['/d/f', '/h'],
      ['/l', '/d/m'],
    ] as const) {
      const [ma, mb] = [await t.stat(a), await t.stat(b)];
      expect(ma.linkCount).toBe(2);
      expect(mb).toEqual(ma);
    }
    expect((await t.stat('/h')).modified).toBe(1_200_000_000_000);
    expect(await t.readlink('/d/m')).toBe('d/f');
    await t.write('/h', text('new'));
    expect(str(await t.read('/d/f'))).toBe('new');
    expectBytes(memory({ from: bytes }).serialize(), bytes);
    // With one name each again, the store is written as before.
    await t.delete('/h');
    await t.delete('/d/m');
    await t.write('/d/f', text('data'));
    expect(t.serialize()[7]).toBe(2);
  });

  it('refuses a second name in a version 3 snapshot, or one of nothing', async () => {
    const s = memory();
    await s.write('/f', text('x'));
    await s.link('/f', '/g');
    const bytes = s.serialize();
    expect(bytes[7]).toBe(4);
    const older = bytes.slice();
    older[7] = 3;
    expect(() => memory({ from: older })).toThrow(/unknown entry kind 4/);
    // The second entry names '/f' as its first name: point it at '/x' instead.
    const at = Buffer.from(bytes).lastIndexOf(Buffer.from('/f'));
    const dangling = bytes.slice();
    dangling[at + 1] = 'x'.charCodeAt(0);
    expect(() => memory({ from: dangling })).toThrow(/another name of nothing/);
  });
});

describe('memory hard links and GNU tar', () => {
  it('imports the hard links GNU tar makes, and exports ones GNU tar extracts as hard links', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eryx-hard-tar-'));
    try {
      const src = join(dir, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'a'), 'shared');
      linkSync(join(src, 'a'), join(src, 'sub', 'b'));
      const made = join(dir, 'made.tar');
      execFileSync('tar', ['-cf', made, '-C', src, 'a', 'sub']);
      const s = memory();
      const stats = await importTar(s, readFileSync(made), { root: '/in' });
      expect(stats).toMatchObject({ files: 1, hardLinks: 1, bytes: 6 });
      expect((await s.stat('/in/sub/b')).linkCount).toBe(2);
      expect((await s.stat('/in/sub/b')).id).toBe((await s.stat('/in/a')).id);

      const out = join(dir, 'out.tar');
      await pipeline(exportTar(s, { root: '/in' }), createWriteStream(out));
      expect(execFileSync('tar', ['-tvf', out], { encoding: 'utf8' })).toMatch(/sub\/b link to a$/m);
      const extracted = join(dir, 'extracted');
      mkdirSync(extracted);
      execFileSync('tar', ['-xf', out, '-C', extracted]);
      expect(statSync(join(extracted, 'sub', 'b')).nlink).toBe(2);
      expect(statSync(join(extracted, 'sub', 'b')).ino).toBe(statSync(join(extracted, 'a')).ino);
      expect(readFileSync(join(extracted, 'sub', 'b'), 'utf8')).toBe('shared');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
