import { runInNewContext } from 'node:vm';
import { expectBytes, expectError, pattern } from '@eryx/vfs-conformance';
import { isVfsError } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { memory } from '../src/index.js';

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
