import type { Metadata, VfsErrorCode } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, expectRefusedBelow, pattern, str, text } from '../util.js';

/**
 * Hard links (`link`), driven by `capabilities.hardLinks`. A store that declares them keeps one
 * file under several names: they share content, size, times and `id`, `stat` counts them in
 * `linkCount`, and the data goes with the last name. A store that does not declares so
 * truthfully: `link` is `unsupported` and changes nothing.
 */
export function hardLinksSuite(ctx: SuiteContext): void {
  describe('hard links', () => {
    if (!ctx.declared.capabilities?.hardLinks) {
      it('link is unsupported and makes nothing (capabilities.hardLinks is false)', async () => {
        const s = ctx.storage;
        await s.write(ctx.path('f'), text('x'));
        await expectError(() => s.link(ctx.path('f'), ctx.path('g')), 'unsupported');
        expect(await s.exists(ctx.path('g')), 'exists of the refused link').toBe(false);
        // Left out, or 1: a wrapper refusing links may pass through an inner store's counts.
        expect((await s.stat(ctx.path('f'))).linkCount ?? 1, 'linkCount without hard links').toBe(1);
      });
      return;
    }

    const expectRefused = (run: () => Promise<unknown>, code: VfsErrorCode, what?: string) =>
      expectRefusedBelow(ctx.storage, ctx.dir, run, code, what);

    /** Expects every name in `names` to show the same file: bytes, size, times, id and count. */
    const expectSame = async (names: string[], content: Uint8Array) => {
      const s = ctx.storage;
      const metas: Metadata[] = [];
      for (const name of names) {
        expectBytes(await s.read(name), content, `content of ${name}`);
        metas.push(await s.stat(name));
      }
      const first = metas[0] as Metadata;
      for (const [i, meta] of metas.entries()) {
        const name = names[i];
        expect(meta.kind, `kind of ${name}`).toBe('file');
        expect(meta.size, `size of ${name}`).toBe(content.length);
        expect(meta.linkCount, `linkCount of ${name}`).toBe(names.length);
        for (const field of ['id', 'created', 'modified', 'accessed', 'modifiedNs', 'accessedNs'] as const) {
          expect(meta[field], `${field} of ${name} (as ${names[0]})`).toEqual(first[field]);
        }
      }
    };

    it('link gives a file a second name: same bytes, size, times and id; linkCount 2', async () => {
      const s = ctx.storage;
      const a = ctx.path('a');
      const b = ctx.path('b');
      await s.write(a, text('shared'));
      expect((await s.stat(a)).linkCount, `linkCount of ${a} before the link`).toBe(1);
      await s.link(a, b);
      await expectSame([a, b], text('shared'));
      const entries = (await s.list(ctx.dir)).sort((x, y) => x.name.localeCompare(y.name));
      expect(entries, `entries of ${ctx.dir}`).toEqual([
        { name: 'a', kind: 'file', size: 6 },
        { name: 'b', kind: 'file', size: 6 },
      ]);
      expect((await s.stat(ctx.dir)).linkCount, 'linkCount of a directory').toBeUndefined();
    });

    it('a link into another directory works the same', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('x'));
      await s.mkdir(ctx.path('y'));
      await s.write(ctx.path('x', 'f'), text('deep'));
      await s.link(ctx.path('x', 'f'), ctx.path('y', 'g'));
      await expectSame([ctx.path('x', 'f'), ctx.path('y', 'g')], text('deep'));
    });

    const WRITES: [string, (s: SuiteContext['storage'], path: string) => Promise<unknown>, string][] = [
      ['write', (s, p) => s.write(p, text('replaced')), 'replaced'],
      ['writeAt', (s, p) => s.writeAt(p, 2, text('XY')), 'heXYo'],
      ['writeAt past the end', (s, p) => s.writeAt(p, 7, text('!')), 'hello\0\0!'],
      ['append', (s, p) => s.append(p, text(' world')), 'hello world'],
      [
        'writeExtents',
        (s, p) =>
          s.writeExtents(p, [
            [0, text('J')],
            [5, text('!')],
          ]),
        'Jello!',
      ],
      ['setSize shorter', (s, p) => s.setSize(p, 2), 'he'],
      ['setSize longer', (s, p) => s.setSize(p, 7), 'hello\0\0'],
    ];
    for (const [name, run, expected] of WRITES) {
      it(`${name} through one name shows through the other`, async () => {
        const s = ctx.storage;
        const a = ctx.path('a');
        const b = ctx.path('b');
        await s.write(a, text('hello'));
        await s.link(a, b);
        await run(s, b);
        await expectSame([a, b], text(expected));
        // And back the other way.
        await s.append(a, text('+'));
        await expectSame([b, a], text(`${expected}+`));
      });
    }

    it('setTimes through one name shows through the other', async () => {
      const s = ctx.storage;
      const a = ctx.path('a');
      const b = ctx.path('b');
      await s.write(a, text('t'));
      await s.link(a, b);
      await s.setTimes(b, { modified: 1_000_000_000_000, accessed: 1_500_000_000_000 });
      await expectSame([a, b], text('t'));
      expect((await s.stat(a)).modified, `modified of ${a}`).toBe(1_000_000_000_000);
      expect((await s.stat(a)).accessed, `accessed of ${a}`).toBe(1_500_000_000_000);
      if (ctx.capabilities.nanosecondTimes) {
        await s.setTimes(a, { modified: 1_700_000_000_123_456_789n });
        await expectSame([a, b], text('t'));
        expect((await s.stat(b)).modifiedNs, `modifiedNs of ${b}`).toBe(1_700_000_000_123_456_789n);
      }
    });

    it('a file larger than a chunk shares every byte, written through either name', async () => {
      const s = ctx.storage;
      // 2.5 MiB spans chunks of every backend; a store whose limits cannot hold it skips this.
      const limits = s.limits ?? s.sync?.limits;
      if ((limits?.maxFileSize ?? Number.POSITIVE_INFINITY) < 3 << 20) return;
      if ((limits?.maxBytes ?? Number.POSITIVE_INFINITY) < 16 << 20) return;
      const a = ctx.path('big');
      const b = ctx.path('other');
      const content = pattern(2.5 * 1024 * 1024, 7);
      await s.write(a, content);
      await s.link(a, b);
      const patch = pattern(300_000, 8);
      await s.writeAt(b, 1_000_000, patch);
      content.set(patch, 1_000_000);
      await expectSame([a, b], content);
      await s.setSize(a, 1_200_000);
      await expectSame([a, b], content.subarray(0, 1_200_000));
    });

    it('delete removes one name; the others keep the data; the last takes it', async () => {
      const s = ctx.storage;
      const [a, b, c] = [ctx.path('a'), ctx.path('b'), ctx.path('c')];
      await s.write(a, text('kept'));
      await s.link(a, b);
      await s.link(b, c);
      await expectSame([a, b, c], text('kept'));
      await s.delete(b);
      expect(await s.exists(b), `exists(${b}) after delete`).toBe(false);
      await expectSame([a, c], text('kept'));
      await s.delete(a);
      await expectSame([c], text('kept'));
      await s.delete(c);
      expect(await s.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([]);
      // The name is free again, for a new file that shares nothing with the old one.
      await s.write(a, text('new'));
      await expectSame([a], text('new'));
    });

    it('renaming a name, or a directory holding one, keeps the link', async () => {
      const s = ctx.storage;
      await s.mkdir(ctx.path('d'));
      const a = ctx.path('a');
      await s.write(a, text('one'));
      await s.link(a, ctx.path('d', 'b'));
      await s.rename(a, ctx.path('a2'));
      await s.rename(ctx.path('d'), ctx.path('e'));
      const moved = ctx.path('e', 'b');
      const names = [ctx.path('a2'), moved];
      await expectSame(names, text('one'));
      await s.append(moved, text('two'));
      await expectSame(names, text('onetwo'));
    });

    it('rename onto another name of the same file does nothing: both names stay', async () => {
      const s = ctx.storage;
      const a = ctx.path('a');
      const b = ctx.path('b');
      await s.write(a, text('same'));
      await s.link(a, b);
      await s.rename(a, b);
      await expectSame([a, b], text('same'));
    });

    it('a rename replacing a name frees that name only; the file lives on under its others', async () => {
      const s = ctx.storage;
      const [a, b, other] = [ctx.path('a'), ctx.path('b'), ctx.path('other')];
      await s.write(a, text('linked'));
      await s.link(a, b);
      await s.write(other, text('other'));
      await s.rename(other, a);
      await expectSame([a], text('other'));
      await expectSame([b], text('linked'));
      // And a linked name moved onto a file replaces it, keeping its own link.
      await s.link(b, ctx.path('c'));
      await s.rename(ctx.path('c'), a);
      await expectSame([a, b], text('linked'));
    });

    it('refusals come in the contract order and change nothing', async () => {
      const s = ctx.storage;
      const f = ctx.path('f');
      await s.write(f, text('f'));
      await s.mkdir(ctx.path('d'));
      await s.link(f, ctx.path('g'));
      await expectRefused(() => s.link(ctx.path('missing'), ctx.path('n')), 'not-found', 'link of nothing');
      await expectRefused(
        () => s.link(ctx.path('missing'), ctx.path('nope', 'n')),
        'not-found',
        'link of nothing into nothing',
      );
      await expectRefused(
        () => s.link(ctx.path('f', 'below'), ctx.path('n')),
        'not-found',
        'link of a path below a file',
      );
      await expectRefused(
        () => s.link(f, ctx.path('nope', 'n')),
        'not-found',
        'link into a missing directory',
      );
      await expectRefused(() => s.link(f, ctx.path('f', 'n')), 'not-a-directory', 'link below a file');
      await expectRefused(
        () => s.link(ctx.path('d'), ctx.path('f', 'n')),
        'not-a-directory',
        'link of a directory below a file',
      );
      await expectRefused(() => s.link(f, ctx.path('d')), 'already-exists', 'link onto a directory');
      await expectRefused(() => s.link(f, f), 'already-exists', 'link onto itself');
      await expectRefused(() => s.link(f, ctx.path('g')), 'already-exists', 'link onto its own other name');
      await s.write(ctx.path('h'), text('h'));
      await expectRefused(() => s.link(f, ctx.path('h')), 'already-exists', 'link onto another file');
      await expectRefused(() => s.link(f, '/'), 'already-exists', 'link onto the root');
      await expectRefused(
        () => s.link(ctx.path('d'), ctx.path('e')),
        'is-a-directory',
        'link of a directory',
      );
      await expectRefused(() => s.link('/', ctx.path('e')), 'is-a-directory', 'link of the root');
      await expectSame([f, ctx.path('g')], text('f'));
    });

    it('writeExtents with the identity stat gave for one name writes through another', async () => {
      const s = ctx.storage;
      const a = ctx.path('a');
      const b = ctx.path('b');
      await s.write(a, text('abc'));
      await s.link(a, b);
      const { id, created } = await s.stat(a);
      await s.writeExtents(b, [[3, text('d')]], { ifFile: { id, created } });
      await expectSame([a, b], text('abcd'));
      // The name b stays that file when a goes; a new file at a is another one (where files have
      // ids: by creation time alone, one made within the same millisecond goes undetected).
      await s.delete(a);
      await s.write(a, text('new'));
      await s.writeExtents(b, [[4, text('e')]], { ifFile: { id, created } });
      await expectSame([b], text('abcde'));
      if (id === undefined) return;
      await expectError(() => s.writeExtents(a, [[0, text('x')]], { ifFile: { id, created } }), 'not-found');
      expect(str(await s.read(a)), `content of ${a}`).toBe('new');
    });

    it('concurrent appends through two names all land', async () => {
      const s = ctx.storage;
      const a = ctx.path('a');
      const b = ctx.path('b');
      await s.write(a, new Uint8Array(0));
      await s.link(a, b);
      const calls: Promise<number>[] = [];
      for (let i = 0; i < 40; i++)
        calls.push(s.append(i % 2 === 0 ? a : b, text(`<${String(i).padStart(2, '0')}>`)));
      const offsets = await Promise.all(calls);
      expect(new Set(offsets).size, 'distinct append offsets').toBe(40);
      const content = str(await s.read(b));
      expect(content.length, `size of ${b}`).toBe(40 * 4);
      for (const [i, at] of offsets.entries()) {
        const piece = `<${String(i).padStart(2, '0')}>`;
        expect(content.slice(at, at + 4), `append ${i} at ${at}`).toBe(piece);
      }
      await expectSame([a, b], text(content));
    });

    if (ctx.declared.capabilities?.symlinks) {
      it('link of a symbolic link links the link itself, never its target', async () => {
        const s = ctx.storage;
        await s.write(ctx.path('f'), text('target'));
        await s.symlink(ctx.path('l'), 'f');
        await s.link(ctx.path('l'), ctx.path('m'));
        for (const name of ['l', 'm']) {
          const meta = await s.stat(ctx.path(name));
          expect(meta.kind, `kind of ${name}`).toBe('symlink');
          expect(meta.linkCount, `linkCount of ${name}`).toBe(2);
          expect(await s.readlink(ctx.path(name)), `target of ${name}`).toBe('f');
        }
        expect((await s.stat(ctx.path('f'))).linkCount, 'linkCount of the link target').toBe(1);
        await s.delete(ctx.path('l'));
        expect(await s.readlink(ctx.path('m')), 'target of m after l went').toBe('f');
        expect((await s.stat(ctx.path('m'))).linkCount, 'linkCount of m after l went').toBe(1);
      });
    }

    if (ctx.options.reopen && ctx.declared.capabilities?.persistent) {
      it('names and their count outlive the storage object', async () => {
        const a = ctx.path('a');
        const b = ctx.path('b');
        await ctx.storage.write(a, text('durable'));
        await ctx.storage.link(a, b);
        const s = await ctx.restart();
        await expectSame([a, b], text('durable'));
        await s.append(b, text('!'));
        await expectSame([a, b], text('durable!'));
      });
    }
  });
}
