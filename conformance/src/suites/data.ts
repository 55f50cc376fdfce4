import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, inParallel, pattern, str, syncTwinWith, text } from '../util.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** read and readAt: whole files, ranges, EOF, empty files, independence of buffers. */
export function readSuite(ctx: SuiteContext): void {
  describe('read', () => {
    it('reads back what was written', async () => {
      const p = ctx.path('a.txt');
      await ctx.storage.write(p, text('hello world'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('hello world');
    });

    it('reads an empty file as zero bytes', async () => {
      const p = ctx.path('empty');
      await ctx.storage.write(p, new Uint8Array(0));
      expect((await ctx.storage.read(p)).length, `length of ${p}`).toBe(0);
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(0);
      expect((await ctx.storage.readAt(p, 0, 10)).length, `length of readAt(${p}, 0, 10)`).toBe(0);
    });

    it('overwrites with shorter and longer content', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, pattern(5000, 1));
      await ctx.storage.write(p, text('short'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('short');
      await ctx.storage.write(p, pattern(70000, 2));
      expectBytes(await ctx.storage.read(p), pattern(70000, 2), `content of ${p}`);
      expect(
        (await ctx.storage.list(ctx.dir)).map((e) => e.name),
        `names listed in ${ctx.dir}`,
      ).toEqual(['f']);
    });

    it('readAt returns a range from the middle', async () => {
      const p = ctx.path('r');
      const data = pattern(1000, 3);
      await ctx.storage.write(p, data);
      expectBytes(await ctx.storage.readAt(p, 100, 50), data.slice(100, 150), `readAt(${p}, 100, 50)`);
    });

    it('readAt is short at EOF and empty past it', async () => {
      const p = ctx.path('r');
      const data = pattern(100, 4);
      await ctx.storage.write(p, data);
      expectBytes(await ctx.storage.readAt(p, 90, 50), data.slice(90), `readAt(${p}, 90, 50)`);
      expect((await ctx.storage.readAt(p, 100, 10)).length, `length of readAt(${p}, 100, 10)`).toBe(0);
      expect((await ctx.storage.readAt(p, 101, 10)).length, `length of readAt(${p}, 101, 10)`).toBe(0);
      expect((await ctx.storage.readAt(p, 5000, 10)).length, `length of readAt(${p}, 5000, 10)`).toBe(0);
    });

    it('readAt with zero length is empty', async () => {
      const p = ctx.path('r');
      await ctx.storage.write(p, pattern(10));
      expect((await ctx.storage.readAt(p, 3, 0)).length, `length of readAt(${p}, 3, 0)`).toBe(0);
    });

    it('readAt with huge offsets and lengths stays correct', async () => {
      const p = ctx.path('r');
      const data = pattern(100, 5);
      await ctx.storage.write(p, data);
      expect((await ctx.storage.readAt(p, 2 ** 40, 10)).length, `length of readAt(${p}, 2 ** 40, 10)`).toBe(
        0,
      );
      expect(
        (await ctx.storage.readAt(p, Number.MAX_SAFE_INTEGER, 10)).length,
        `length of readAt(${p}, Number.MAX_SAFE_INTEGER, 10)`,
      ).toBe(0);
      expectBytes(
        await ctx.storage.readAt(p, 0, Number.MAX_SAFE_INTEGER),
        data,
        `readAt(${p}, 0, Number.MAX_SAFE_INTEGER)`,
      );
      expectBytes(await ctx.storage.readAt(p, 50, 2 ** 40), data.slice(50), `readAt(${p}, 50, 2 ** 40)`);
    });

    it('reading a missing file is not-found', async () => {
      await expectError(() => ctx.storage.read(ctx.path('missing')), 'not-found');
      await expectError(() => ctx.storage.readAt(ctx.path('missing'), 0, 1), 'not-found');
      await expectError(() => ctx.storage.read(ctx.path('no', 'such', 'dir')), 'not-found');
    });

    it('reading a directory is is-a-directory', async () => {
      await expectError(() => ctx.storage.read(ctx.dir), 'is-a-directory');
      await expectError(() => ctx.storage.readAt(ctx.dir, 0, 1), 'is-a-directory');
      await expectError(() => ctx.storage.read('/'), 'is-a-directory');
    });

    it('does not share buffers with the caller', async () => {
      const p = ctx.path('own');
      const data = text('abcdef');
      await ctx.storage.write(p, data);
      data[0] = 0x7a;
      const first = await ctx.storage.read(p);
      expect(str(first), `content of ${p} after the caller changed the written buffer`).toBe('abcdef');
      first[1] = 0x7a;
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('abcdef');
    });

    it('accepts a Buffer and a subarray view', async () => {
      const p = ctx.path('views');
      const backing = text('xxhello worldxx');
      await ctx.storage.write(p, backing.subarray(2, 13));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('hello world');
      await ctx.storage.write(p, Buffer.from('buffer'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('buffer');
    });

    it('write creates the file in an existing directory only', async () => {
      await expectError(() => ctx.storage.write(ctx.path('nodir', 'f'), text('x')), 'not-found');
      await ctx.storage.write(ctx.path('file'), text('x'));
      await expectError(() => ctx.storage.write(ctx.path('file', 'f'), text('x')), 'not-a-directory');
      await expectError(() => ctx.storage.write(ctx.dir, text('x')), 'is-a-directory');
      await expectError(() => ctx.storage.write('/', text('x')), 'is-a-directory');
    });
  });
}

/** writeAt: in place, at and past EOF, zero-filled gaps, chunk-sized boundaries. */
export function writeAtSuite(ctx: SuiteContext): void {
  describe('writeAt', () => {
    it('overwrites in place', async () => {
      const p = ctx.path('w');
      await ctx.storage.write(p, text('hello world'));
      await ctx.storage.writeAt(p, 6, text('WORLD'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('hello WORLD');
    });

    it('writes at EOF and extends', async () => {
      const p = ctx.path('w');
      await ctx.storage.write(p, text('hello'));
      await ctx.storage.writeAt(p, 5, text(' there'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('hello there');
      await ctx.storage.writeAt(p, 8, text('EYONCE'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('hello thEYONCE');
    });

    it('fills a gap past EOF with zeros', async () => {
      const p = ctx.path('w');
      await ctx.storage.write(p, text('ab'));
      await ctx.storage.writeAt(p, 10, text('cd'));
      const expected = new Uint8Array(12);
      expected.set(text('ab'));
      expected.set(text('cd'), 10);
      expectBytes(await ctx.storage.read(p), expected, `content of ${p}`);
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(12);
    });

    it('creates a missing file, gap included', async () => {
      const p = ctx.path('new');
      await ctx.storage.writeAt(p, 3, text('x'));
      expectBytes(await ctx.storage.read(p), Uint8Array.of(0, 0, 0, 0x78), `content of ${p}`);
    });

    it('an empty writeAt past EOF extends nothing but creates the file', async () => {
      const p = ctx.path('e');
      await ctx.storage.writeAt(p, 0, new Uint8Array(0));
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(0);
      await ctx.storage.write(p, text('abc'));
      await ctx.storage.writeAt(p, 1, new Uint8Array(0));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('abc');
    });

    it('a far sparse write reads zeros before it', async () => {
      const p = ctx.path('sparse');
      const at = 3 * MiB + 5;
      await ctx.storage.writeAt(p, at, text('end'));
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(at + 3);
      expectBytes(await ctx.storage.readAt(p, 2 * MiB, 16), new Uint8Array(16), 'gap');
      expect(str(await ctx.storage.readAt(p, at, 10)), `readAt(${p}, at, 10)`).toBe('end');
    });

    it('rejects directories and missing parents', async () => {
      await expectError(() => ctx.storage.writeAt(ctx.dir, 0, text('x')), 'is-a-directory');
      await expectError(() => ctx.storage.writeAt(ctx.path('nodir', 'f'), 0, text('x')), 'not-found');
    });

    const sizes = [1, 4 * KiB, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB + 3];
    const offsets = [0, 1, 4 * KiB - 1, 64 * KiB - 1, 64 * KiB + 1, MiB + 3];
    const BASE = 70_000;
    for (const size of sizes) {
      it(`writeAt of ${size} bytes at chunk-boundary offsets`, async () => {
        let n = 0;
        await inParallel(offsets, 3, async (offset) => {
          const p = ctx.path(`b-${size}-${offset}`);
          const base = pattern(BASE, 7);
          const data = pattern(size, 8 + n++);
          await ctx.storage.write(p, base);
          await ctx.storage.writeAt(p, offset, data);
          const expected = new Uint8Array(Math.max(BASE, offset + size));
          expected.set(base);
          expected.set(data, offset);
          expectBytes(await ctx.storage.read(p), expected, `size ${size} at ${offset}`);
          expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(expected.length);
          const probe = Math.max(0, offset - 3);
          expectBytes(
            await ctx.storage.readAt(p, probe, size + 6),
            expected.slice(probe, probe + size + 6),
            `readAt around ${offset}`,
          );
        });
      });
    }

    it('many small writes across a chunk boundary assemble correctly', async () => {
      const p = ctx.path('pieces');
      const whole = pattern(64 * KiB + 4 * KiB, 21);
      for (let at = 60 * KiB; at < whole.length; at += 1000) {
        await ctx.storage.writeAt(p, at, whole.slice(at, Math.min(whole.length, at + 1000)));
      }
      await ctx.storage.writeAt(p, 0, whole.slice(0, 60 * KiB));
      expectBytes(await ctx.storage.read(p), whole, `content of ${p}`);
    });
  });
}

/** append: offsets returned, creation, directories. Concurrency lives in the concurrency suite. */
export function appendSuite(ctx: SuiteContext): void {
  describe('append', () => {
    it('returns the offset it wrote at and creates the file', async () => {
      const p = ctx.path('log');
      expect(await ctx.storage.append(p, text('one\n')), `offset returned by append to ${p}`).toBe(0);
      expect(await ctx.storage.append(p, text('two\n')), `offset returned by append to ${p}`).toBe(4);
      expect(await ctx.storage.append(p, new Uint8Array(0)), `offset returned by append to ${p}`).toBe(8);
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('one\ntwo\n');
    });

    it('appends after a writeAt that extended the file', async () => {
      const p = ctx.path('log');
      await ctx.storage.writeAt(p, 100, text('x'));
      expect(await ctx.storage.append(p, text('y')), `offset returned by append to ${p}`).toBe(101);
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(102);
    });

    it('appends across chunk boundaries', async () => {
      const p = ctx.path('big');
      const parts = [pattern(60 * KiB, 1), pattern(10 * KiB, 2), pattern(70 * KiB, 3)];
      let at = 0;
      for (const part of parts) {
        expect(await ctx.storage.append(p, part), `offset returned by append to ${p}`).toBe(at);
        at += part.length;
      }
      const expected = new Uint8Array(at);
      expected.set(parts[0]!, 0);
      expected.set(parts[1]!, 60 * KiB);
      expected.set(parts[2]!, 70 * KiB);
      expectBytes(await ctx.storage.read(p), expected, `content of ${p}`);
    });

    it('rejects directories and missing parents', async () => {
      await expectError(() => ctx.storage.append(ctx.dir, text('x')), 'is-a-directory');
      await expectError(() => ctx.storage.append(ctx.path('nodir', 'f'), text('x')), 'not-found');
      await ctx.storage.write(ctx.path('file'), text('x'));
      await expectError(() => ctx.storage.append(ctx.path('file', 'f'), text('x')), 'not-a-directory');
    });
  });
}

/** create: an empty file where nothing is, or `already-exists`. Races live in the concurrency suite. */
export function createSuite(ctx: SuiteContext): void {
  describe('create', () => {
    it('creates an empty file, listed and stat-able like any other', async () => {
      const p = ctx.path('lock');
      await ctx.storage.create(p);
      expect((await ctx.storage.stat(p)).kind, `kind of ${p}`).toBe('file');
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(0);
      expect((await ctx.storage.read(p)).length, `length of ${p}`).toBe(0);
      expect(await ctx.storage.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([
        { name: 'lock', kind: 'file', size: 0 },
      ]);
      expect(await ctx.storage.append(p, text('pid 42')), `offset returned by append to ${p}`).toBe(0);
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('pid 42');
    });

    it('fails with already-exists on a file, keeping its content', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('intact'));
      const error = await expectError(() => ctx.storage.create(p), 'already-exists');
      expect(error.path, 'path of the already-exists error').toBe(p);
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('intact');
    });

    it('fails with already-exists on an empty file, on a directory and on the root', async () => {
      await ctx.storage.create(ctx.path('empty'));
      await expectError(() => ctx.storage.create(ctx.path('empty')), 'already-exists');
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('d', 'inside'), text('x'));
      await expectError(() => ctx.storage.create(ctx.path('d')), 'already-exists');
      await expectError(() => ctx.storage.create(ctx.dir), 'already-exists');
      await expectError(() => ctx.storage.create('/'), 'already-exists');
      expect((await ctx.storage.stat(ctx.path('d'))).kind, `kind of ${ctx.path('d')}`).toBe('directory');
      expect(
        (await ctx.storage.list(ctx.path('d'))).map((e) => e.name),
        `names listed in ${ctx.path('d')}`,
      ).toEqual(['inside']);
    });

    it('rejects a missing parent and a parent that is a file, creating nothing', async () => {
      await expectError(() => ctx.storage.create(ctx.path('nodir', 'f')), 'not-found');
      await ctx.storage.write(ctx.path('file'), text('x'));
      await expectError(() => ctx.storage.create(ctx.path('file', 'f')), 'not-a-directory');
      expect(await ctx.storage.exists(ctx.path('nodir')), `exists(${ctx.path('nodir')})`).toBe(false);
      expect(str(await ctx.storage.read(ctx.path('file'))), `content of ${ctx.path('file')}`).toBe('x');
    });

    it('creates again after a delete, and at a renamed-away name', async () => {
      const p = ctx.path('f');
      await ctx.storage.create(p);
      await ctx.storage.delete(p);
      await ctx.storage.create(p);
      await ctx.storage.writeAt(p, 0, text('moved'));
      await ctx.storage.rename(p, ctx.path('g'));
      await ctx.storage.create(p);
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(0);
      expect(str(await ctx.storage.read(ctx.path('g'))), `content of ${ctx.path('g')}`).toBe('moved');
      await expectError(() => ctx.storage.create(ctx.path('g')), 'already-exists');
    });

    it('sets all three times to now', async () => {
      const before = Date.now() - 1000;
      const p = ctx.path('f');
      await ctx.storage.create(p);
      const meta = await ctx.storage.stat(p);
      for (const field of ['created', 'modified', 'accessed'] as const) {
        expect(meta[field], `${field} of ${p} after create`).toBeGreaterThan(before);
        expect(meta[field], `${field} of ${p} after create`).toBeLessThan(Date.now() + 1000);
      }
    });
  });
}

/** setSize: grow with zeros, shrink, no stale bytes after shrink-then-grow. */
export function setSizeSuite(ctx: SuiteContext): void {
  describe('setSize', () => {
    it('grows with zeros', async () => {
      const p = ctx.path('s');
      await ctx.storage.write(p, text('abc'));
      await ctx.storage.setSize(p, 8);
      expectBytes(
        await ctx.storage.read(p),
        Uint8Array.of(0x61, 0x62, 0x63, 0, 0, 0, 0, 0),
        `content of ${p}`,
      );
    });

    it('shrinks', async () => {
      const p = ctx.path('s');
      await ctx.storage.write(p, text('abcdef'));
      await ctx.storage.setSize(p, 2);
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('ab');
      await ctx.storage.setSize(p, 0);
      expect((await ctx.storage.read(p)).length, `length of ${p}`).toBe(0);
    });

    it('never shows old bytes after shrinking and growing again', async () => {
      const p = ctx.path('s');
      const data = pattern(200 * KiB, 9);
      await ctx.storage.write(p, data);
      await ctx.storage.setSize(p, 65 * KiB + 7);
      await ctx.storage.setSize(p, 200 * KiB);
      const expected = new Uint8Array(200 * KiB);
      expected.set(data.subarray(0, 65 * KiB + 7));
      expectBytes(await ctx.storage.read(p), expected, `content of ${p}`);
      await ctx.storage.setSize(p, 10);
      await ctx.storage.writeAt(p, 30, text('z'));
      const tail = new Uint8Array(31);
      tail.set(data.subarray(0, 10));
      tail[30] = 0x7a;
      expectBytes(await ctx.storage.read(p), tail, `content of ${p}`);
    });

    it('grows across chunks sparsely and keeps the content', async () => {
      const p = ctx.path('s');
      await ctx.storage.write(p, text('head'));
      await ctx.storage.setSize(p, 5 * MiB);
      expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(5 * MiB);
      expect(str(await ctx.storage.readAt(p, 0, 4)), `readAt(${p}, 0, 4)`).toBe('head');
      expectBytes(
        await ctx.storage.readAt(p, 5 * MiB - 8, 100),
        new Uint8Array(8),
        `readAt(${p}, 5 * MiB - 8, 100)`,
      );
    });

    it('rejects missing files and directories', async () => {
      await expectError(() => ctx.storage.setSize(ctx.path('missing'), 1), 'not-found');
      await expectError(() => ctx.storage.setSize(ctx.dir, 1), 'is-a-directory');
    });
  });
}

/**
 * `readAtView` of a sync twin that has one: the same bytes as `readAt` for every range (within a
 * chunk, across chunks, past the end, sparse), and the same errors. Sync form only.
 */
export function readAtViewSuite(ctx: SuiteContext): void {
  if (ctx.form !== 'sync' || !ctx.declared.readAtView) return;
  describe('readAtView', () => {
    const sync = () => syncTwinWith(ctx, 'readAtView');

    it('returns what readAt returns, for every kind of range', () => {
      const s = sync();
      const p = ctx.path('f');
      const data = pattern(300_000, 7);
      s.write(p, data);
      s.writeAt(ctx.path('sparse'), 200_000, pattern(10, 3));
      const ranges: [string, number, number][] = [
        [p, 0, 10],
        [p, 100, 4096],
        [p, 65_000, 1_000],
        [p, 0, 300_000],
        [p, 299_990, 100],
        [p, 300_000, 10],
        [p, 400_000, 10],
        [p, 5, 0],
        [ctx.path('sparse'), 0, 4096],
        [ctx.path('sparse'), 199_995, 20],
      ];
      for (const [path, offset, length] of ranges) {
        expectBytes(
          s.readAtView(path, offset, length),
          s.readAt(path, offset, length),
          `${path} @${offset}+${length}`,
        );
      }
    });

    it('fails as readAt does', async () => {
      const s = sync();
      s.mkdir(ctx.path('d'));
      await expectError(() => s.readAtView(ctx.path('missing'), 0, 1), 'not-found');
      await expectError(() => s.readAtView(ctx.path('d'), 0, 1), 'is-a-directory');
      await expectError(() => s.readAtView('relative', 0, 1), 'invalid-path');
      await expectError(() => s.readAtView(ctx.path('d'), -1, 1), 'invalid-offset');
    });
  });
}
