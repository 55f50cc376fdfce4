import { limits, type StorageLimits, scrub, type VfsStorage, type WriteExtent } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, pattern, sleep, str, text } from '../util.js';

/** What writing `extents` in order over `base` gives: the reference for every test below. */
function applied(base: Uint8Array, extents: readonly WriteExtent[]): Uint8Array {
  let size = base.length;
  for (const [offset, data] of extents) if (data.length > 0) size = Math.max(size, offset + data.length);
  const out = new Uint8Array(size);
  out.set(base);
  for (const [offset, data] of extents) out.set(data, offset);
  return out;
}

/** `count` distinct offsets below `span`, in a scattered order (a fixed permutation). */
function scattered(count: number, span: number): number[] {
  const step = Math.floor(span / count);
  return Array.from({ length: count }, (_, i) => ((i * 7919) % count) * step + (i % Math.max(1, step)));
}

const declaredLimits = (s: VfsStorage): StorageLimits | undefined => s.limits ?? s.sync?.limits;

/**
 * How large a test file may grow: 260,000 bytes (several chunks of any usual size), or less where
 * the store declares tighter limits (a quarter of `maxBytes` leaves room for the rest of a test).
 */
function fileBudget(ctx: SuiteContext): number {
  const limits = ctx.declared.limits;
  return Math.min(260_000, limits?.maxFileSize ?? Infinity, Math.floor((limits?.maxBytes ?? Infinity) / 4));
}

/**
 * `writeExtents`: many extents of one file as one operation. What it leaves is exactly what
 * `writeAt` of each extent in order would (the later extent wins where they overlap, gaps read as
 * zeros), it creates and fails as `writeAt` does, sets the time it is given, a call refused by a
 * limit changes nothing, and the `limits` and `scrub` wrappers work over it.
 */
export function writeExtentsSuite(ctx: SuiteContext): void {
  describe('writeExtents', () => {
    it('stores many scattered one-byte extents in one call', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      const span = fileBudget(ctx);
      const base = pattern(Math.floor(span * 0.75), 3);
      await s.write(p, base);
      // Out of offset order, across several chunks of any usual size, and some past the end.
      const extents: WriteExtent[] = scattered(Math.min(5000, Math.floor(span / 8)), span).map(
        (offset, i) => [offset, Uint8Array.of((i % 250) + 1)],
      );
      await s.writeExtents(p, extents);
      const expected = applied(base, extents);
      expect((await s.stat(p)).size, `size of ${p}`).toBe(expected.length);
      expectBytes(await s.read(p), expected, `content of ${p}`);
    });

    it('applies overlapping and touching extents in the order given: the later one wins', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('..........'));
      const extents: WriteExtent[] = [
        [2, text('aaaa')],
        [4, text('bb')],
        [6, text('cc')],
        [1, text('X')],
        [3, text('Y')],
        [0, text('')],
        [5, text('ZZZZZZ')],
        [6, text('q')],
      ];
      await s.writeExtents(p, extents);
      expect(str(await s.read(p)), `content of ${p}`).toBe('.XaYbZqZZZZ');
      expect(str(applied(text('..........'), extents))).toBe('.XaYbZqZZZZ');
    });

    it('zero-fills the gaps past the end, and creates a missing file', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('abc'));
      await s.writeExtents(p, [
        [10, text('x')],
        [5, text('y')],
      ]);
      expect([...(await s.read(p))], `bytes of ${p}`).toEqual([97, 98, 99, 0, 0, 121, 0, 0, 0, 0, 120]);
      const q = ctx.path('new');
      const far = Math.min(70_000, fileBudget(ctx) - 3);
      await s.writeExtents(q, [
        [far, text('far')],
        [3, text('near')],
      ]);
      const content = await s.read(q);
      expect(content.length, `size of ${q}`).toBe(far + 3);
      expect(str(content.subarray(3, 7)), `bytes 3-7 of ${q}`).toBe('near');
      expect(str(content.subarray(far)), `last bytes of ${q}`).toBe('far');
      expect(
        content.subarray(7, far).every((b) => b === 0),
        `the gap of ${q} reads as zeros`,
      ).toBe(true);
    });

    it('with no extents, or only empty ones, creates the file and never extends it', async () => {
      const s = ctx.storage;
      const p = ctx.path('empty');
      await s.writeExtents(p, []);
      expect(await s.stat(p), `stat of ${p}`).toMatchObject({ kind: 'file', size: 0 });
      const q = ctx.path('f');
      await s.write(q, text('abc'));
      await s.writeExtents(q, []);
      await s.writeExtents(q, [[100, new Uint8Array(0)]]);
      expect(str(await s.read(q)), `content of ${q}`).toBe('abc');
    });

    it('sets the modification and access time it is given, else the current one', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('abc'));
      await s.setTimes(p, { modified: 1_000, accessed: 1_000 });
      await s.writeExtents(p, [[1, text('B')]], { modified: 1_700_000_000_000 });
      expect(await s.stat(p), `stat of ${p}`).toMatchObject({
        size: 3,
        modified: 1_700_000_000_000,
        accessed: 1_700_000_000_000,
      });
      const before = Date.now();
      await s.writeExtents(p, [[2, text('C')]]);
      expect((await s.stat(p)).modified, `modified of ${p}`).toBeGreaterThanOrEqual(before - 1000);
      expect(str(await s.read(p)), `content of ${p}`).toBe('aBC');
    });

    it('fails like writeAt, creating nothing: missing parent, file parent, directory target', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('file'), text('x'));
      await s.mkdir(ctx.path('dir'));
      const one: WriteExtent[] = [[0, text('y')]];
      await expectError(() => s.writeExtents(ctx.path('missing', 'f'), one), 'not-found');
      await expectError(() => s.writeExtents(ctx.path('file', 'f'), one), 'not-a-directory');
      await expectError(() => s.writeExtents(ctx.path('dir'), one), 'is-a-directory');
      await expectError(() => s.writeExtents('/', one), 'is-a-directory');
      await expectError(() => s.writeExtents(ctx.path('missing', 'f'), []), 'not-found');
      expect((await s.list(ctx.dir)).map((e) => e.name).sort(), `entries of ${ctx.dir}`).toEqual([
        'dir',
        'file',
      ]);
      expect(await s.list(ctx.path('dir')), `entries of ${ctx.path('dir')}`).toEqual([]);
      expect(str(await s.read(ctx.path('file'))), `content of ${ctx.path('file')}`).toBe('x');
    });

    it('refuses malformed extents and options before writing anything', async () => {
      const s = ctx.storage as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const p = ctx.path('f');
      await ctx.storage.write(p, text('intact'));
      const x = text('x');
      for (const bad of [
        undefined,
        null,
        'xy',
        x,
        { 0: [0, x], length: 1 },
        [0, x],
        [[0]],
        [[0, x, 1]],
        [[0, x], null],
      ]) {
        await expectError(
          () => s.writeExtents!(p, bad),
          'invalid-argument',
          `writeExtents(${p}, ${String(bad)})`,
        );
      }
      for (const bad of [null, 'soon', { modified: Number.NaN }, { modified: '1' }]) {
        await expectError(() => s.writeExtents!(p, [[0, x]], bad), 'invalid-argument');
      }
      await expectError(
        () =>
          s.writeExtents!(p, [
            [0, x],
            [Number.MAX_SAFE_INTEGER - 1, text('yz')],
          ]),
        'invalid-offset',
      );
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('intact');
    });

    it('through scrub, stores no secret: split across extents, or completed by stored bytes', async () => {
      const secret = 'SECRET-TOKEN-1234';
      const scrubbed = scrub(ctx.storage, { secrets: [secret] });
      const p = ctx.path('scrubbed');
      const base = new Uint8Array(80).fill(0x2e);
      base.set(text('SECRET-TOK'), 4);
      base.set(text('ET-TO'), 64);
      await ctx.storage.write(p, base);
      const far = Math.min(5000, fileBudget(ctx) - secret.length);
      const extents: WriteExtent[] = [
        [14, text('EN-1234')],
        [40, text('SECRET-')],
        [47, text('TOKEN-1234')],
        [60, text('SECR')],
        [69, text('KEN-1234')],
        [far, text(secret)],
      ];
      await scrubbed.writeExtents(p, extents);
      // Every occurrence masked in place, with a mask of its own length.
      const expected = Buffer.from(applied(base, extents));
      const mask = text('[REDACTED]*******');
      for (const at of [4, 40, 60, far]) {
        expect(expected.subarray(at, at + secret.length).toString(), `bytes at ${at}`).toBe(secret);
        expected.set(mask, at);
      }
      expectBytes(await ctx.storage.read(p), expected, `stored bytes of ${p}`);
    });

    it('a call refused by a limit changes nothing, even with extents that fit', async () => {
      // Through the limits wrapper, on every store; then the store's own limits, where declared.
      const file = pattern(1000, 5);
      const extents: WriteExtent[] = [
        [0, text('first')],
        [500, text('middle')],
        [2000, text('too far')],
      ];
      const wrapped = limits(ctx.storage, { maxFileSize: 1500 });
      const p = ctx.path('wrapped');
      await wrapped.write(p, file);
      await expectError(() => wrapped.writeExtents(p, extents), 'quota-exceeded');
      expectBytes(await ctx.storage.read(p), file, `content of ${p}`);
      await wrapped.writeExtents(p, extents.slice(0, 2));
      expectBytes(await ctx.storage.read(p), applied(file, extents.slice(0, 2)), `content of ${p}`);

      const own = declaredLimits(ctx.storage);
      const max = own?.maxFileSize ?? own?.maxBytes;
      if (max === undefined || max < file.length) return;
      const q = ctx.path('own');
      await ctx.storage.write(q, file);
      await expectError(
        () => ctx.storage.writeExtents(q, [...extents.slice(0, 2), [max, text('past the limit')]]),
        'quota-exceeded',
      );
      expectBytes(await ctx.storage.read(q), file, `content of ${q}`);
    });

    it('ifFile: writes into the file stat named, through renames; its id is stable and its own', async () => {
      const p = ctx.path('mine');
      await ctx.storage.write(p, text('hello'));
      const meta = await ctx.storage.stat(p);
      if (meta.id !== undefined) expect(typeof meta.id, `type of stat(${p}).id`).toBe('string');
      await ctx.storage.writeExtents(p, [[5, text(' world')]], { ifFile: meta });
      await ctx.storage.setSize(p, 11);
      const q = ctx.path('moved');
      await ctx.storage.rename(p, q);
      await ctx.storage.writeExtents(q, [[0, text('H')]], { ifFile: meta });
      expect(str(await ctx.storage.read(q)), `content of ${q}`).toBe('Hello world');
      const after = await ctx.storage.stat(q);
      expect(after.id, `stat(${q}).id after writes and a rename`).toBe(meta.id);
      expect(after.created, `stat(${q}).created after writes and a rename`).toBe(meta.created);
      // Past the creation time's millisecond: stores without an id tell files apart by it.
      await sleep(5);
      await ctx.storage.write(p, text('another'));
      const other = await ctx.storage.stat(p);
      if (meta.id !== undefined) expect(other.id, `stat(${p}).id of another file`).not.toBe(meta.id);
      await expectError(
        () => ctx.storage.writeExtents(p, [[0, text('x')]], { ifFile: meta }),
        'not-found',
        'writeExtents into another file with ifFile',
      );
    });

    it('ifFile: a deleted file fails with not-found and is never created again', async () => {
      const p = ctx.path('gone');
      await ctx.storage.write(p, text('data'));
      const meta = await ctx.storage.stat(p);
      await ctx.storage.delete(p);
      await expectError(() => ctx.storage.writeExtents(p, [[10, text('!')]], { ifFile: meta }), 'not-found');
      await expectError(() => ctx.storage.writeExtents(p, [], { ifFile: meta }), 'not-found');
      expect(await ctx.storage.exists(p), `exists(${p}) after writes with ifFile`).toBe(false);
    });

    it('ifFile: a replaced file fails with not-found and the new file is left intact', async () => {
      const p = ctx.path('replaced');
      await ctx.storage.write(p, text('old'));
      const meta = await ctx.storage.stat(p);
      // Past the creation time's millisecond: stores without an id tell files apart by it.
      await sleep(5);
      const next = ctx.path('next');
      await ctx.storage.write(next, text('new content'));
      await ctx.storage.rename(next, p);
      await expectError(() => ctx.storage.writeExtents(p, [[0, text('OLD')]], { ifFile: meta }), 'not-found');
      await ctx.storage.delete(p);
      await sleep(5);
      await ctx.storage.write(p, text('newer content'));
      await expectError(
        () =>
          ctx.storage.writeExtents(
            p,
            [
              [0, text('OLD')],
              [50, text('!')],
            ],
            { ifFile: meta },
          ),
        'not-found',
      );
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('newer content');
      // Through the limits wrapper too, before any limit is looked at.
      const wrapped = limits(ctx.storage, { maxFiles: 0 });
      await expectError(
        () => wrapped.writeExtents(ctx.path('none'), [[0, text('x')]], { ifFile: meta }),
        'not-found',
      );
      await expectError(() => wrapped.writeExtents(p, [[0, text('x')]], { ifFile: meta }), 'not-found');
    });

    it('ifFile: a malformed identity is invalid-argument', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('x'));
      for (const ifFile of [null, 'id', { created: 'now' }, { id: 7, created: 1 }, {}]) {
        await expectError(
          () => ctx.storage.writeExtents(p, [[0, text('y')]], { ifFile } as never),
          'invalid-argument',
          `writeExtents with ifFile ${JSON.stringify(ifFile)}`,
        );
      }
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('x');
    });
  });
}
