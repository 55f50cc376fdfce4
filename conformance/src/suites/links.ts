import { toAsync, type VfsErrorCode, type VfsStorage } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectError, expectRefusedBelow, str, text, treeBelow } from '../util.js';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The longest target: 4,096 UTF-8 bytes. */
const LONGEST = `/${'a'.repeat(4095)}`;

/** Targets a link must keep verbatim: storage never normalizes, resolves or checks them. */
const TARGETS: [string, string][] = [
  ['absolute', '/etc/passwd'],
  ['relative', 'sibling/file.txt'],
  ['climbing with ..', '../../up/./there/'],
  ['dangling', 'does-not-exist'],
  ['unicode', 'ümlaut/日本語/😀'],
  ['odd', ' spaced //double\\back ?*'],
  ['a single dot', '.'],
  ['4,096 ASCII bytes', LONGEST],
  // 1,024 four-byte characters: 4,096 UTF-8 bytes in 2,048 UTF-16 units.
  ['4,096 bytes of 4-byte UTF-8', '😀'.repeat(1024)],
];

/** Targets `symlink` refuses with `invalid-argument`. */
const BAD_TARGETS: [string, string][] = [
  ['empty', ''],
  ['holding NUL', 'a\0b'],
  ['of 4,097 ASCII bytes', 'a'.repeat(4097)],
  ['of 4,097 UTF-8 bytes in fewer units', `${'é'.repeat(2048)}a`],
  ['with a lone surrogate', 'x\uD800'],
];

/**
 * Symbolic links (`symlink`, `readlink`), driven by `capabilities.symlinks`. A store that declares
 * them keeps each link as an entry of its own kind holding its target verbatim and never follows
 * it: every rule of {@link VfsStorage.symlink}'s contract, one test per rule or small group. A store
 * that does not declares so truthfully: `symlink` is `unsupported` and nothing is ever a link.
 */
export function linksSuite(ctx: SuiteContext): void {
  describe('symbolic links', () => {
    if (!ctx.declared.capabilities?.symlinks) {
      unsupportedLinks(ctx);
      return;
    }

    const expectRefused = (run: () => Promise<unknown>, code: VfsErrorCode, what?: string) =>
      expectRefusedBelow(ctx.storage, ctx.dir, run, code, what);

    it('symlink makes an entry of kind symlink: stat, list and exists report it, size = target bytes', async () => {
      const s = ctx.storage;
      const before = Date.now() - 1000;
      const l = ctx.path('link');
      const target = 'dir/ü.txt';
      await s.symlink(l, target);
      const meta = await s.stat(l);
      expect(meta.kind, `kind of ${l}`).toBe('symlink');
      expect(meta.size, `size of ${l} (UTF-8 bytes of ${target})`).toBe(utf8(target));
      for (const field of ['created', 'modified', 'accessed'] as const) {
        expect(meta[field], `${field} of ${l}`).toBeGreaterThan(before);
        expect(meta[field], `${field} of ${l}`).toBeLessThan(Date.now() + 1000);
      }
      expect(meta.modified, `modified of ${l} (= created)`).toBe(meta.created);
      expect(meta.accessed, `accessed of ${l} (= created)`).toBe(meta.created);
      expect(await s.exists(l), `exists(${l})`).toBe(true);
      expect(await s.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([
        { name: 'link', kind: 'symlink', size: utf8(target) },
      ]);
      // An id like a file's, where the backend gives files one.
      await s.write(ctx.path('file'), text('x'));
      const file = await s.stat(ctx.path('file'));
      if (file.id !== undefined) {
        expect(typeof meta.id, `type of id of ${l}`).toBe(typeof file.id);
        expect(meta.id, `id of ${l} against a file's`).not.toBe(file.id);
      }
    });

    it('readlink returns the target verbatim: absolute, relative, .., dangling, unicode, 4,096 bytes', async () => {
      for (const [i, [what, target]] of TARGETS.entries()) {
        const l = ctx.path(`l${i}`);
        await ctx.storage.symlink(l, target);
        expect(await ctx.storage.readlink(l), `readlink of a link to a ${what} target`).toBe(target);
        expect((await ctx.storage.stat(l)).size, `size of a link to a ${what} target`).toBe(utf8(target));
      }
      // A link's target is never looked at: one to the test directory is a link, not a directory.
      await ctx.storage.symlink(ctx.path('self'), ctx.dir);
      expect((await ctx.storage.stat(ctx.path('self'))).kind).toBe('symlink');
    });

    it('a target that is empty, holds NUL, is over 4,096 UTF-8 bytes or ill-formed is invalid-argument; nothing is made', async () => {
      for (const [what, bad] of BAD_TARGETS) {
        await expectError(
          () => ctx.storage.symlink(ctx.path('l'), bad),
          'invalid-argument',
          `a target ${what}`,
        );
      }
      expect(await ctx.storage.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([]);
    });

    it('symlink onto anything that exists is already-exists: a file, a directory, a link, the root', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('file'));
      await s.mkdir(ctx.path('d'));
      await s.symlink(ctx.path('l'), 'first');
      for (const name of ['f', 'd', 'l']) {
        await expectRefused(
          () => s.symlink(ctx.path(name), 'other'),
          'already-exists',
          `symlink onto ${name}`,
        );
      }
      await expectRefused(() => s.symlink('/', 'other'), 'already-exists', 'symlink onto the root');
      await expectRefused(
        () => s.symlink(ctx.dir, 'other'),
        'already-exists',
        'symlink onto the test directory',
      );
      expect(await s.readlink(ctx.path('l'))).toBe('first');
    });

    it('symlink needs a directory parent: missing is not-found, a file or a link is not-a-directory', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('file'));
      await s.mkdir(ctx.path('d'));
      await s.symlink(ctx.path('l'), 'd');
      await expectRefused(() => s.symlink(ctx.path('missing', 'l'), 't'), 'not-found', 'missing parent');
      await expectRefused(() => s.symlink(ctx.path('f', 'l'), 't'), 'not-a-directory', 'a file as parent');
      await expectRefused(() => s.symlink(ctx.path('l', 'l'), 't'), 'not-a-directory', 'a link as parent');
      await s.symlink(ctx.path('d', 'nested'), '../f');
      expect(await s.readlink(ctx.path('d', 'nested'))).toBe('../f');
    });

    it('readlink of nothing is not-found (also below a file or a link); of a file or directory invalid-argument', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('file'));
      await s.mkdir(ctx.path('d'));
      await s.symlink(ctx.path('l'), 'd');
      await expectError(() => s.readlink(ctx.path('missing')), 'not-found');
      await expectError(() => s.readlink(ctx.path('f', 'x')), 'not-found');
      await expectError(() => s.readlink(ctx.path('l', 'x')), 'not-found');
      await expectError(() => s.readlink(ctx.path('f')), 'invalid-argument');
      await expectError(() => s.readlink(ctx.path('d')), 'invalid-argument');
      await expectError(() => s.readlink('/'), 'invalid-argument');
    });

    it('every file-data operation on a link is is-a-symlink and changes nothing', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('target content'));
      // Links to a file, to a directory and to nothing: none is followed.
      const links: [string, string][] = [
        ['to-file', 'f'],
        ['to-dir', '.'],
        ['dangling', 'missing'],
      ];
      for (const [name, target] of links) await s.symlink(ctx.path(name), target);
      for (const [name] of links) {
        const l = ctx.path(name);
        const calls: [string, () => Promise<unknown>][] = [
          ['read', () => s.read(l)],
          ['readAt', () => s.readAt(l, 0, 4)],
          ['write', () => s.write(l, text('x'))],
          ['write of nothing', () => s.write(l, new Uint8Array(0))],
          ['writeAt', () => s.writeAt(l, 0, text('x'))],
          ['writeExtents', () => s.writeExtents(l, [[0, text('x')]])],
          ['writeExtents with modified', () => s.writeExtents(l, [[2, text('x')]], { modified: 1 })],
          ['append', () => s.append(l, text('x'))],
          ['append of nothing', () => s.append(l, new Uint8Array(0))],
          ['setSize', () => s.setSize(l, 0)],
          ['setSize larger', () => s.setSize(l, 100)],
        ];
        const before = await s.stat(l);
        for (const [op, call] of calls)
          await expectRefused(call, 'is-a-symlink', `${op} of the link ${name}`);
        const after = await s.stat(l);
        expect(after.modified, `modified of ${l} after the refused calls`).toBe(before.modified);
        expect(after.size, `size of ${l} after the refused calls`).toBe(before.size);
      }
      expect(str(await s.read(ctx.path('f'))), 'content of the linked file').toBe('target content');
    });

    it('writeExtents with ifFile on a link is not-found, whatever identity it is given', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('file'));
      await s.symlink(ctx.path('l'), 'f');
      const file = await s.stat(ctx.path('f'));
      const link = await s.stat(ctx.path('l'));
      await expectRefused(
        () => s.writeExtents(ctx.path('l'), [[0, text('x')]], { ifFile: link }),
        'not-found',
      );
      await expectRefused(
        () => s.writeExtents(ctx.path('l'), [[0, text('x')]], { ifFile: file }),
        'not-found',
      );
    });

    it('create and mkdir on a link are already-exists', async () => {
      const s = ctx.storage;
      await s.symlink(ctx.path('l'), 'missing');
      await expectRefused(() => s.create(ctx.path('l')), 'already-exists', 'create');
      await expectRefused(() => s.mkdir(ctx.path('l')), 'already-exists', 'mkdir');
    });

    it('list and rmdir of a link are not-a-directory, even of a link to a directory', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('d'));
      await s.write(ctx.path('d', 'inside'), text('x'));
      await s.symlink(ctx.path('l'), 'd');
      await s.symlink(ctx.path('abs'), ctx.path('d'));
      for (const name of ['l', 'abs']) {
        await expectError(() => s.list(ctx.path(name)), 'not-a-directory', `list of ${name}`);
        await expectRefused(() => s.rmdir(ctx.path(name)), 'not-a-directory', `rmdir of ${name}`);
      }
    });

    it('delete removes the link, never its target; its name can then be reused', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('kept'));
      await s.mkdir(ctx.path('d'));
      await s.symlink(ctx.path('to-file'), 'f');
      await s.symlink(ctx.path('to-dir'), 'd');
      await s.delete(ctx.path('to-file'));
      await s.delete(ctx.path('to-dir'));
      expect(await s.exists(ctx.path('to-file')), 'exists of the deleted link').toBe(false);
      await expectError(() => s.readlink(ctx.path('to-file')), 'not-found');
      await expectError(() => s.delete(ctx.path('to-file')), 'not-found');
      expect(await treeBelow(s, ctx.dir)).toEqual({ [ctx.path('f')]: 'file:4:kept', [ctx.path('d')]: 'dir' });
      // The freed names take another kind, and a file's name a link.
      await s.write(ctx.path('to-file'), text('now a file'));
      await s.mkdir(ctx.path('to-dir'));
      await s.delete(ctx.path('f'));
      await s.symlink(ctx.path('f'), 'to-file');
      expect(await treeBelow(s, ctx.dir)).toEqual({
        [ctx.path('f')]: 'link:7:to-file',
        [ctx.path('d')]: 'dir',
        [ctx.path('to-file')]: 'file:10:now a file',
        [ctx.path('to-dir')]: 'dir',
      });
    });

    it('creating below a link is not-a-directory in every creating operation, the target untouched', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('d'));
      await s.write(ctx.path('src'), text('s'));
      // Absolute and relative links to an existing directory: followed, they would work.
      await s.symlink(ctx.path('abs'), ctx.path('d'));
      await s.symlink(ctx.path('rel'), 'd');
      for (const name of ['abs', 'rel']) {
        const below = ctx.path(name, 'new');
        const calls: [string, () => Promise<unknown>][] = [
          ['write', () => s.write(below, text('x'))],
          ['writeAt', () => s.writeAt(below, 0, text('x'))],
          ['writeExtents', () => s.writeExtents(below, [[0, text('x')]])],
          ['append', () => s.append(below, text('x'))],
          ['create', () => s.create(below)],
          ['mkdir', () => s.mkdir(below)],
          ['symlink', () => s.symlink(below, 't')],
          ['rename', () => s.rename(ctx.path('src'), below)],
        ];
        for (const [op, call] of calls) await expectRefused(call, 'not-a-directory', `${op} below ${name}`);
      }
      expect(await s.list(ctx.path('d')), 'entries of the linked directory').toEqual([]);
    });

    it('lookups below a link are not-found; exists is false', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('d'));
      await s.write(ctx.path('d', 'f'), text('x'));
      await s.mkdir(ctx.path('d', 'sub'));
      await s.symlink(ctx.path('l'), 'd');
      const f = ctx.path('l', 'f');
      const sub = ctx.path('l', 'sub');
      expect(await s.exists(f), `exists(${f})`).toBe(false);
      expect(await s.exists(sub), `exists(${sub})`).toBe(false);
      const calls: [string, () => Promise<unknown>][] = [
        ['stat', () => s.stat(f)],
        ['stat of a directory', () => s.stat(sub)],
        ['read', () => s.read(f)],
        ['readAt', () => s.readAt(f, 0, 1)],
        ['setSize', () => s.setSize(f, 0)],
        ['list', () => s.list(sub)],
        ['readlink', () => s.readlink(f)],
        ['setTimes', () => s.setTimes(f, { modified: 1 })],
        ['delete', () => s.delete(f)],
        ['rmdir', () => s.rmdir(sub)],
        ['rename from below', () => s.rename(f, ctx.path('moved'))],
      ];
      for (const [op, call] of calls) await expectRefused(call, 'not-found', `${op} below a link`);
    });

    it('rename moves a link as itself, never its target, within and across directories', async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('target'));
      await s.mkdir(ctx.path('d'));
      await s.symlink(ctx.path('l'), 'f');
      const before = await s.stat(ctx.path('l'));
      await s.rename(ctx.path('l'), ctx.path('m'));
      await s.rename(ctx.path('m'), ctx.path('d', 'n'));
      const after = await s.stat(ctx.path('d', 'n'));
      expect(after.kind, 'kind of the moved link').toBe('symlink');
      expect(after.created, 'created of the moved link').toBe(before.created);
      if (before.id !== undefined) expect(after.id, 'id of the moved link').toBe(before.id);
      // The target string moves unchanged: a relative one now dangles, as on POSIX.
      expect(await treeBelow(s, ctx.dir)).toEqual({
        [ctx.path('f')]: 'file:6:target',
        [ctx.path('d')]: 'dir',
        [ctx.path('d', 'n')]: 'link:1:f',
      });
      // A link renamed onto itself stays.
      await s.rename(ctx.path('d', 'n'), ctx.path('d', 'n'));
      expect(await s.readlink(ctx.path('d', 'n'))).toBe('f');
    });

    it('rename: a file or a link replaces an existing file or link', async () => {
      const s = ctx.storage;
      const cases: ['file' | 'link', 'file' | 'link'][] = [
        ['link', 'link'],
        ['link', 'file'],
        ['file', 'link'],
      ];
      for (const [i, [from, to]] of cases.entries()) {
        const a = ctx.path(`${from}-${i}`);
        const b = ctx.path(`${to}-onto-${i}`);
        if (from === 'link') await s.symlink(a, `source-${i}`);
        else await s.write(a, text(`source-${i}`));
        if (to === 'link') await s.symlink(b, 'replaced');
        else await s.write(b, text('replaced'));
        await s.rename(a, b);
        expect(await s.exists(a), `exists of the renamed ${from}`).toBe(false);
        if (from === 'link') expect(await s.readlink(b), `${from} onto ${to}`).toBe(`source-${i}`);
        else expect(str(await s.read(b)), `${from} onto ${to}`).toBe(`source-${i}`);
        expect((await s.stat(b)).kind, `kind after ${from} onto ${to}`).toBe(
          from === 'link' ? 'symlink' : 'file',
        );
      }
      expect((await s.list(ctx.dir)).length, `entries of ${ctx.dir}`).toBe(3);
    });

    it('rename: a link onto a directory is is-a-directory, a directory onto a link not-a-directory', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('d'));
      await s.mkdir(ctx.path('empty'));
      await s.write(ctx.path('d', 'f'), text('x'));
      await s.symlink(ctx.path('l'), 'empty');
      await expectRefused(
        () => s.rename(ctx.path('l'), ctx.path('empty')),
        'is-a-directory',
        'link onto directory',
      );
      await expectRefused(
        () => s.rename(ctx.path('l'), ctx.path('d')),
        'is-a-directory',
        'link onto a full one',
      );
      await expectRefused(
        () => s.rename(ctx.path('d'), ctx.path('l')),
        'not-a-directory',
        'directory onto link',
      );
      await expectRefused(
        () => s.rename(ctx.path('empty'), ctx.path('l')),
        'not-a-directory',
        'empty onto link',
      );
    });

    it('a directory rename carries the links below it', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('src'));
      await s.mkdir(ctx.path('src', 'sub'));
      await s.write(ctx.path('src', 'f'), text('data'));
      await s.symlink(ctx.path('src', 'a'), 'f');
      await s.symlink(ctx.path('src', 'sub', 'b'), '/absolute/target');
      await s.symlink(ctx.path('src', 'sub', 'c'), '../a');
      await s.rename(ctx.path('src'), ctx.path('dst'));
      expect(await treeBelow(s, ctx.dir)).toEqual({
        [ctx.path('dst')]: 'dir',
        [ctx.path('dst', 'sub')]: 'dir',
        [ctx.path('dst', 'f')]: 'file:4:data',
        [ctx.path('dst', 'a')]: 'link:1:f',
        [ctx.path('dst', 'sub', 'b')]: 'link:16:/absolute/target',
        [ctx.path('dst', 'sub', 'c')]: 'link:4:../a',
      });
      expect(await s.exists(ctx.path('src', 'a')), 'exists of a link at its old path').toBe(false);
      // And into another directory, and back.
      await s.mkdir(ctx.path('other'));
      await s.rename(ctx.path('dst', 'sub'), ctx.path('other', 'sub'));
      expect(await s.readlink(ctx.path('other', 'sub', 'c'))).toBe('../a');
    });

    it("setTimes on a link sets the link's own times, never its target's", async () => {
      const s = ctx.storage;
      await s.write(ctx.path('f'), text('x'));
      await s.symlink(ctx.path('l'), 'f');
      const file = await s.stat(ctx.path('f'));
      await s.setTimes(ctx.path('l'), { modified: 1_000_000_000_000 });
      let link = await s.stat(ctx.path('l'));
      expect(link.modified, 'modified of the link').toBeCloseTo(1_000_000_000_000, -1);
      await s.setTimes(ctx.path('l'), { accessed: 1_100_000_000_000 });
      link = await s.stat(ctx.path('l'));
      expect(link.accessed, 'accessed of the link').toBeCloseTo(1_100_000_000_000, -1);
      expect(link.modified, 'modified of the link after setting accessed').toBeCloseTo(1_000_000_000_000, -1);
      const after = await s.stat(ctx.path('f'));
      expect(after.modified, 'modified of the target').toBe(file.modified);
      expect(after.accessed, 'accessed of the target').toBe(file.accessed);
      expect(await s.readlink(ctx.path('l')), 'the target after setTimes').toBe('f');
    });

    if (ctx.options.reopen) {
      it('a second storage object on the store sees the links the first makes, replaces and deletes', async () => {
        const opened = await ctx.options.reopen!(ctx.storage);
        const other = ctx.form === 'sync' && opened.sync ? toAsync(opened.sync) : opened;
        try {
          const l = ctx.path('l');
          await ctx.storage.symlink(l, 'first');
          expect(await other.readlink(l), 'readlink through the second object').toBe('first');
          expect((await other.stat(l)).kind, 'kind through the second object').toBe('symlink');
          await expectError(() => other.read(l), 'is-a-symlink');
          await ctx.storage.delete(l);
          expect(await other.exists(l), 'exists through the second object after the delete').toBe(false);
          await other.symlink(l, 'second');
          expect(await ctx.storage.readlink(l), 'readlink of the link the second object made').toBe('second');
          await ctx.storage.write(ctx.path('f'), text('file'));
          await ctx.storage.rename(ctx.path('f'), l);
          await expectError(() => other.readlink(l), 'invalid-argument');
          expect(str(await other.read(l)), 'the file that replaced the link').toBe('file');
        } finally {
          await opened.close();
        }
      });
    }

    if (ctx.declared.capabilities?.persistent && ctx.options.reopen) {
      it('links survive closing the store and reopening it, and can be made afterwards', async () => {
        const s = ctx.storage;
        await s.mkdir(ctx.path('d'));
        await s.symlink(ctx.path('d', 'l'), LONGEST);
        await s.symlink(ctx.path('u'), 'ümlaut/😀');
        await s.setTimes(ctx.path('u'), { modified: 1_300_000_000_000 });
        const before = await s.stat(ctx.path('u'));
        const again = await ctx.restart();
        expect(await again.readlink(ctx.path('d', 'l')), 'a 4,096-byte target after reopening').toBe(LONGEST);
        expect(await again.readlink(ctx.path('u')), 'a unicode target after reopening').toBe('ümlaut/😀');
        const meta = await again.stat(ctx.path('u'));
        expect(meta.kind, 'kind after reopening').toBe('symlink');
        expect(meta.size, 'size after reopening').toBe(utf8('ümlaut/😀'));
        expect(meta.modified, 'modified after reopening').toBeCloseTo(1_300_000_000_000, -1);
        expect(meta.created, 'created after reopening').toBeCloseTo(before.created, -1);
        if (before.id !== undefined) expect(meta.id, 'id after reopening').toBe(before.id);
        await again.symlink(ctx.path('new'), 'u');
        await expectError(() => again.read(ctx.path('u')), 'is-a-symlink');
        expect(await again.readlink(ctx.path('new'))).toBe('u');
      });
    }
  });
}

/** A store without `symlinks`: `symlink` is `unsupported`, and `readlink` finds no link. */
function unsupportedLinks(ctx: SuiteContext): void {
  it('symlink is unsupported and makes nothing (capabilities.symlinks is false)', async () => {
    const s = ctx.storage;
    await s.mkdir(ctx.path('d'));
    await expectError(() => s.symlink(ctx.path('l'), 'd'), 'unsupported');
    await expectError(() => s.symlink(ctx.path('d', 'l'), '/abs'), 'unsupported');
    expect(await s.exists(ctx.path('l')), 'exists of the refused link').toBe(false);
    expect(
      (await s.list(ctx.dir)).map((e) => `${e.name}:${e.kind}`),
      `entries of ${ctx.dir}`,
    ).toEqual(['d:directory']);
  });

  it('readlink of a file or a directory is invalid-argument, of nothing not-found', async () => {
    const s = ctx.storage;
    await s.write(ctx.path('f'), text('x'));
    await s.mkdir(ctx.path('d'));
    await expectError(() => s.readlink(ctx.path('f')), 'invalid-argument');
    await expectError(() => s.readlink(ctx.path('d')), 'invalid-argument');
    await expectError(() => s.readlink('/'), 'invalid-argument');
    await expectError(() => s.readlink(ctx.path('missing')), 'not-found');
    await expectError(() => s.readlink(ctx.path('f', 'below')), 'not-found');
  });
}
