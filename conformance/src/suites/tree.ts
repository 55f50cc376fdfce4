import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, inParallel, pattern, sleep, str, text } from '../util.js';

const byName = <T extends { name: string }>(entries: readonly T[]) =>
  [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** stat, exists and setTimes. */
export function metadataSuite(ctx: SuiteContext): void {
  describe('metadata', () => {
    it('stats files and directories', async () => {
      const before = Date.now() - 1000;
      const p = ctx.path('f');
      await ctx.storage.write(p, pattern(1234));
      const file = await ctx.storage.stat(p);
      expect(file.kind, `kind of ${p}`).toBe('file');
      expect(file.size, `size of ${p}`).toBe(1234);
      for (const field of ['created', 'modified', 'accessed'] as const) {
        expect(typeof file[field], `type of ${field} of ${p}`).toBe('number');
        expect(file[field], `${field} of ${p}`).toBeGreaterThan(before);
        expect(file[field], `${field} of ${p}`).toBeLessThan(Date.now() + 1000);
      }
      const dir = await ctx.storage.stat(ctx.dir);
      expect(dir.kind, `kind of ${ctx.dir}`).toBe('directory');
      expect(dir.size, `size of ${ctx.dir} (a directory)`).toBe(0);
      expect((await ctx.storage.stat('/')).kind, `kind of /`).toBe('directory');
    });

    it('moves modified on every kind of write, keeps created', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('a'));
      const first = await ctx.storage.stat(p);
      const writes = [
        () => ctx.storage.write(p, text('b')),
        () => ctx.storage.writeAt(p, 1, text('c')),
        () => ctx.storage.append(p, text('d')),
        // Appending nothing marks the file modified too: the WASI host opens with O_TRUNC through it.
        () => ctx.storage.append(p, new Uint8Array(0)),
        () => ctx.storage.setSize(p, 1),
      ];
      const names = ['write', 'writeAt', 'append', 'append of nothing', 'setSize'];
      let previous = first.modified;
      for (const [i, write] of writes.entries()) {
        await sleep(15);
        await write();
        const now = await ctx.storage.stat(p);
        expect(now.modified, `modified of ${p} after ${names[i]}`).toBeGreaterThan(previous);
        expect(now.created, `created of ${p} after ${names[i]}`).toBe(first.created);
        previous = now.modified;
      }
    });

    it('setTimes sets accessed and modified independently', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('a'));
      const before = await ctx.storage.stat(p);
      await ctx.storage.setTimes(p, { modified: 1_000_000_000_000 });
      let now = await ctx.storage.stat(p);
      expect(now.modified, `modified of ${p} after setTimes({ modified })`).toBeCloseTo(
        1_000_000_000_000,
        -1,
      );
      expect(now.accessed, `accessed of ${p} after setTimes({ modified })`).toBeCloseTo(before.accessed, -1);
      await ctx.storage.setTimes(p, { accessed: 1_500_000_000_123 });
      now = await ctx.storage.stat(p);
      expect(now.accessed, `accessed of ${p} after setTimes({ accessed })`).toBeCloseTo(
        1_500_000_000_123,
        -1,
      );
      expect(now.modified, `modified of ${p} after setTimes({ accessed })`).toBeCloseTo(
        1_000_000_000_000,
        -1,
      );
      await ctx.storage.setTimes(ctx.dir, { modified: 1_200_000_000_000 });
      expect((await ctx.storage.stat(ctx.dir)).modified, `modified of ${ctx.dir}`).toBeCloseTo(
        1_200_000_000_000,
        -1,
      );
      await expectError(() => ctx.storage.setTimes(ctx.path('missing'), { modified: 1 }), 'not-found');
    });

    it('exists tells files, directories and missing paths apart', async () => {
      await ctx.storage.write(ctx.path('f'), text('x'));
      expect(await ctx.storage.exists(ctx.path('f')), `exists(${ctx.path('f')})`).toBe(true);
      expect(await ctx.storage.exists(ctx.dir), `exists(${ctx.dir})`).toBe(true);
      expect(await ctx.storage.exists('/'), `exists(/)`).toBe(true);
      expect(await ctx.storage.exists(ctx.path('missing')), `exists(${ctx.path('missing')})`).toBe(false);
      expect(
        await ctx.storage.exists(ctx.path('f', 'below-a-file')),
        `exists(${ctx.path('f', 'below-a-file')})`,
      ).toBe(false);
    });

    it('stat of a missing path is not-found', async () => {
      await expectError(() => ctx.storage.stat(ctx.path('missing')), 'not-found');
    });

    it('capabilities are all filled in', () => {
      for (const key of [
        'nativeAppend',
        'exclusiveCreate',
        'atomicRename',
        'atomicDirectoryRename',
        'persistent',
        'multiProcess',
        'nativeIfFile',
        'symlinks',
      ]) {
        expect(
          typeof (ctx.capabilities as unknown as Record<string, unknown>)[key],
          `capabilities.${key}`,
        ).toBe('boolean');
      }
    });
  });
}

const AWKWARD = [
  'with space',
  '100%',
  '%2F%00',
  'back\\slash',
  'emoji 😀🚀',
  'ümlaut-ß-日本語',
  'a'.repeat(255),
  '€'.repeat(85),
  'dots.in.name',
  '.hidden',
  '...',
  '-dash',
  '_under_score_',
  'quote\'"',
  'star*?',
  'tab\there',
  '[brackets]{}',
  'semi;colon:',
  'UPPER',
  'upper',
  '+plus&amp=eq',
  '#hash',
];

/** list: empty, kinds and sizes, many entries, awkward names, no leaking from siblings. */
export function listSuite(ctx: SuiteContext): void {
  describe('list', () => {
    it('lists an empty directory as []', async () => {
      expect(await ctx.storage.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([]);
    });

    it('lists files and directories with kind and size', async () => {
      await ctx.storage.write(ctx.path('a'), pattern(10));
      await ctx.storage.write(ctx.path('b'), new Uint8Array(0));
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('d', 'inner'), pattern(5));
      expect(byName(await ctx.storage.list(ctx.dir)), `entries of ${ctx.dir}`).toEqual([
        { name: 'a', kind: 'file', size: 10 },
        { name: 'b', kind: 'file', size: 0 },
        { name: 'd', kind: 'directory', size: 0 },
      ]);
    });

    it('lists 1,500 entries', async () => {
      const names = Array.from({ length: 1500 }, (_, i) => `entry-${String(i).padStart(4, '0')}`);
      await inParallel(names, 32, (name) => ctx.storage.write(ctx.path(name), text(name)));
      const listed = await ctx.storage.list(ctx.dir);
      expect(listed.length, `number of entries of ${ctx.dir}`).toBe(1500);
      expect(new Set(listed.map((e) => e.name)), `names listed in ${ctx.dir}`).toEqual(new Set(names));
      const odd = listed.filter((e) => e.kind !== 'file' || e.size !== 10);
      expect(odd, `entries of ${ctx.dir} that are not 10-byte files`).toEqual([]);
    });

    it('keeps unicode and awkward names intact', async () => {
      for (const name of AWKWARD) await ctx.storage.write(ctx.path(name), text(name));
      await ctx.storage.mkdir(ctx.path('dir with space & 😀'));
      const listed = (await ctx.storage.list(ctx.dir)).map((e) => e.name).sort();
      expect(listed, `names listed in ${ctx.dir}`).toEqual([...AWKWARD, 'dir with space & 😀'].sort());
      for (const name of AWKWARD)
        expect(str(await ctx.storage.read(ctx.path(name))), `content of ${ctx.path(name)}`).toBe(name);
      expect(
        await ctx.storage.list(ctx.path('dir with space & 😀')),
        `entries of ${ctx.path('dir with space & 😀')}`,
      ).toEqual([]);
    });

    it('never shows entries of siblings or of name prefixes', async () => {
      for (const d of ['a', 'ab', 'a-b', 'a.b', 'a0', 'b']) await ctx.storage.mkdir(ctx.path(d));
      await ctx.storage.write(ctx.path('a', 'x'), text('1'));
      await ctx.storage.write(ctx.path('ab', 'y'), text('2'));
      await ctx.storage.write(ctx.path('a-b', 'z'), text('3'));
      await ctx.storage.write(ctx.path('a0', 'w'), text('4'));
      await ctx.storage.mkdir(ctx.path('a', 'sub'));
      await ctx.storage.write(ctx.path('a', 'sub', 'deep'), text('5'));
      expect(
        (await ctx.storage.list(ctx.path('a'))).map((e) => e.name).sort(),
        `names listed in ${ctx.path('a')}`,
      ).toEqual(['sub', 'x']);
      expect(
        (await ctx.storage.list(ctx.path('ab'))).map((e) => e.name),
        `names listed in ${ctx.path('ab')}`,
      ).toEqual(['y']);
      expect(
        (await ctx.storage.list(ctx.path('a', 'sub'))).map((e) => e.name),
        `names listed in ${ctx.path('a', 'sub')}`,
      ).toEqual(['deep']);
      expect(
        (await ctx.storage.list(ctx.dir)).map((e) => e.name).sort(),
        `names listed in ${ctx.dir}`,
      ).toEqual(['a', 'a-b', 'a.b', 'a0', 'ab', 'b'].sort());
    });

    it('lists deep trees level by level', async () => {
      let dir = ctx.dir;
      for (let depth = 0; depth < 24; depth++) {
        dir = `${dir}/level${depth}`;
        await ctx.storage.mkdir(dir);
      }
      await ctx.storage.write(`${dir}/leaf`, text('deep'));
      expect(str(await ctx.storage.read(`${dir}/leaf`)), `content of ${dir}/leaf`).toBe('deep');
      expect(
        (await ctx.storage.list(dir)).map((e) => e.name),
        `names listed in ${dir}`,
      ).toEqual(['leaf']);
      expect(
        (await ctx.storage.list(ctx.path('level0'))).map((e) => e.name),
        `names listed in ${ctx.path('level0')}`,
      ).toEqual(['level1']);
    });

    it('shows the test directory when listing the root', async () => {
      const names = (await ctx.storage.list('/')).map((e) => e.name);
      expect(names, 'names listed in /').toContain(ctx.dir.slice(1));
    });

    it('rejects files and missing paths', async () => {
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.list(ctx.path('f')), 'not-a-directory');
      await expectError(() => ctx.storage.list(ctx.path('missing')), 'not-found');
    });
  });
}

/** mkdir, rmdir, delete with every error code. */
export function directorySuite(ctx: SuiteContext): void {
  describe('directories', () => {
    it('mkdir creates, rmdir removes', async () => {
      const d = ctx.path('d');
      await ctx.storage.mkdir(d);
      expect((await ctx.storage.stat(d)).kind, `kind of ${d}`).toBe('directory');
      await ctx.storage.rmdir(d);
      expect(await ctx.storage.exists(d), `exists(${d})`).toBe(false);
    });

    it('mkdir refuses what exists', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.mkdir(ctx.path('d')), 'already-exists');
      await expectError(() => ctx.storage.mkdir(ctx.path('f')), 'already-exists');
      await expectError(() => ctx.storage.mkdir('/'), 'already-exists');
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('x');
    });

    it('mkdir needs an existing directory as parent', async () => {
      await expectError(() => ctx.storage.mkdir(ctx.path('no', 'parent')), 'not-found');
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.mkdir(ctx.path('f', 'sub')), 'not-a-directory');
    });

    it('rmdir refuses non-empty directories, files, missing paths and the root', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('d', 'f'), text('x'));
      await expectError(() => ctx.storage.rmdir(ctx.path('d')), 'directory-not-empty');
      await expectError(() => ctx.storage.rmdir(ctx.path('d', 'f')), 'not-a-directory');
      await expectError(() => ctx.storage.rmdir(ctx.path('missing')), 'not-found');
      await expectError(() => ctx.storage.rmdir('/'), 'busy');
      expect(str(await ctx.storage.read(ctx.path('d', 'f'))), `content of ${ctx.path('d', 'f')}`).toBe('x');
      await ctx.storage.mkdir(ctx.path('e'));
      await ctx.storage.mkdir(ctx.path('e', 'sub'));
      await expectError(() => ctx.storage.rmdir(ctx.path('e')), 'directory-not-empty');
    });

    it('delete removes files only', async () => {
      await ctx.storage.write(ctx.path('f'), text('x'));
      await ctx.storage.delete(ctx.path('f'));
      expect(await ctx.storage.exists(ctx.path('f')), `exists(${ctx.path('f')})`).toBe(false);
      await expectError(() => ctx.storage.read(ctx.path('f')), 'not-found');
      await expectError(() => ctx.storage.delete(ctx.path('f')), 'not-found');
      await expectError(() => ctx.storage.delete(ctx.dir), 'is-a-directory');
      await expectError(() => ctx.storage.delete('/'), 'is-a-directory');
    });

    it('reuses a name for another kind after removal', async () => {
      const p = ctx.path('x');
      await ctx.storage.write(p, pattern(100_000));
      await ctx.storage.delete(p);
      await ctx.storage.mkdir(p);
      expect(await ctx.storage.list(p), `entries of ${p}`).toEqual([]);
      await ctx.storage.rmdir(p);
      await ctx.storage.write(p, text('again'));
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('again');
    });

    it('a file recreated after delete starts empty', async () => {
      const p = ctx.path('x');
      await ctx.storage.write(p, pattern(100_000, 3));
      await ctx.storage.delete(p);
      await ctx.storage.writeAt(p, 70_000, text('z'));
      const expected = new Uint8Array(70_001);
      expected[70_000] = 0x7a;
      expectBytes(await ctx.storage.read(p), expected, `content of ${p}`);
    });
  });
}

/** rename of files and trees, with every refusal. */
export function renameSuite(ctx: SuiteContext): void {
  describe('rename', () => {
    it('moves a file', async () => {
      await ctx.storage.write(ctx.path('a'), pattern(70_000, 1));
      await ctx.storage.rename(ctx.path('a'), ctx.path('b'));
      expect(await ctx.storage.exists(ctx.path('a')), `exists(${ctx.path('a')})`).toBe(false);
      expectBytes(await ctx.storage.read(ctx.path('b')), pattern(70_000, 1), `content of ${ctx.path('b')}`);
      expect(await ctx.storage.list(ctx.dir), `entries of ${ctx.dir}`).toEqual([
        { name: 'b', kind: 'file', size: 70_000 },
      ]);
    });

    it('moves a file into another directory and back', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('a'), text('x'));
      await ctx.storage.rename(ctx.path('a'), ctx.path('d', 'a'));
      expect(str(await ctx.storage.read(ctx.path('d', 'a'))), `content of ${ctx.path('d', 'a')}`).toBe('x');
      await ctx.storage.rename(ctx.path('d', 'a'), ctx.path('a2'));
      expect(str(await ctx.storage.read(ctx.path('a2'))), `content of ${ctx.path('a2')}`).toBe('x');
      expect(await ctx.storage.list(ctx.path('d')), `entries of ${ctx.path('d')}`).toEqual([]);
    });

    it('replaces an existing file', async () => {
      await ctx.storage.write(ctx.path('a'), text('source'));
      await ctx.storage.write(ctx.path('b'), pattern(100_000));
      await ctx.storage.rename(ctx.path('a'), ctx.path('b'));
      expect(str(await ctx.storage.read(ctx.path('b'))), `content of ${ctx.path('b')}`).toBe('source');
      expect(byName(await ctx.storage.list(ctx.dir)), `entries of ${ctx.dir}`).toEqual([
        { name: 'b', kind: 'file', size: 6 },
      ]);
    });

    it('moves a directory with a deep tree', async () => {
      const files = ['x', 'sub/y', 'sub/deeper/z', 'sub/deeper/deepest/w', 'other/v'];
      for (const d of ['src', 'src/sub', 'src/sub/deeper', 'src/sub/deeper/deepest', 'src/other']) {
        await ctx.storage.mkdir(ctx.path(...d.split('/')));
      }
      for (const [i, f] of files.entries())
        await ctx.storage.write(ctx.path('src', ...f.split('/')), pattern(1000 + i, i));
      await ctx.storage.write(ctx.path('srcfile'), text('sibling with a prefix name'));
      await ctx.storage.rename(ctx.path('src'), ctx.path('dst'));
      expect(await ctx.storage.exists(ctx.path('src')), `exists(${ctx.path('src')})`).toBe(false);
      expect(
        await ctx.storage.exists(ctx.path('src', 'sub', 'y')),
        `exists(${ctx.path('src', 'sub', 'y')})`,
      ).toBe(false);
      for (const [i, f] of files.entries()) {
        expectBytes(await ctx.storage.read(ctx.path('dst', ...f.split('/'))), pattern(1000 + i, i), f);
      }
      expect(
        (await ctx.storage.list(ctx.path('dst', 'sub'))).map((e) => e.name).sort(),
        `names listed in ${ctx.path('dst', 'sub')}`,
      ).toEqual(['deeper', 'y']);
      expect(str(await ctx.storage.read(ctx.path('srcfile'))), `content of ${ctx.path('srcfile')}`).toBe(
        'sibling with a prefix name',
      );
      expect(
        (await ctx.storage.list(ctx.dir)).map((e) => e.name).sort(),
        `names listed in ${ctx.dir}`,
      ).toEqual(['dst', 'srcfile']);
      await ctx.storage.mkdir(ctx.path('src'));
      expect(await ctx.storage.list(ctx.path('src')), `entries of ${ctx.path('src')}`).toEqual([]);
    });

    it('moves a directory into a sibling directory', async () => {
      await ctx.storage.mkdir(ctx.path('a'));
      await ctx.storage.mkdir(ctx.path('b'));
      await ctx.storage.write(ctx.path('a', 'f'), text('f'));
      await ctx.storage.rename(ctx.path('a'), ctx.path('b', 'a'));
      expect(
        str(await ctx.storage.read(ctx.path('b', 'a', 'f'))),
        `content of ${ctx.path('b', 'a', 'f')}`,
      ).toBe('f');
    });

    it('never merges directories', async () => {
      await ctx.storage.mkdir(ctx.path('a'));
      await ctx.storage.mkdir(ctx.path('b'));
      await ctx.storage.write(ctx.path('a', 'x'), text('a'));
      await ctx.storage.write(ctx.path('b', 'y'), text('b'));
      await expectError(() => ctx.storage.rename(ctx.path('a'), ctx.path('b')), 'already-exists');
      expect(
        (await ctx.storage.list(ctx.path('a'))).map((e) => e.name),
        `names listed in ${ctx.path('a')}`,
      ).toEqual(['x']);
      expect(
        (await ctx.storage.list(ctx.path('b'))).map((e) => e.name),
        `names listed in ${ctx.path('b')}`,
      ).toEqual(['y']);
      await ctx.storage.mkdir(ctx.path('empty'));
      await expectError(() => ctx.storage.rename(ctx.path('a'), ctx.path('empty')), 'already-exists');
    });

    it('refuses a file onto a directory and a directory onto a file', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.rename(ctx.path('f'), ctx.path('d')), 'is-a-directory');
      await expectError(() => ctx.storage.rename(ctx.path('d'), ctx.path('f')), 'not-a-directory');
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('x');
      expect((await ctx.storage.stat(ctx.path('d'))).kind, `kind of ${ctx.path('d')}`).toBe('directory');
    });

    it('refuses a move into its own subtree', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.mkdir(ctx.path('d', 'sub'));
      await expectError(() => ctx.storage.rename(ctx.path('d'), ctx.path('d', 'sub', 'd')), 'invalid-path');
      await expectError(() => ctx.storage.rename(ctx.path('d'), ctx.path('d', 'x')), 'invalid-path');
      expect(await ctx.storage.exists(ctx.path('d', 'sub')), `exists(${ctx.path('d', 'sub')})`).toBe(true);
    });

    it('a file moved below itself has a file for a parent: not-a-directory, not invalid-path', async () => {
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.rename(ctx.path('f'), ctx.path('f', 'g')), 'not-a-directory');
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('x');
    });

    it('refuses the root', async () => {
      await expectError(() => ctx.storage.rename('/', ctx.path('root')), 'busy');
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.rename(ctx.path('f'), '/'), 'busy');
    });

    it('reports missing sources and bad target parents', async () => {
      await expectError(() => ctx.storage.rename(ctx.path('missing'), ctx.path('x')), 'not-found');
      await ctx.storage.write(ctx.path('f'), text('x'));
      await expectError(() => ctx.storage.rename(ctx.path('f'), ctx.path('no', 'x')), 'not-found');
      await ctx.storage.write(ctx.path('g'), text('y'));
      await expectError(() => ctx.storage.rename(ctx.path('f'), ctx.path('g', 'x')), 'not-a-directory');
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('x');
    });

    it('renaming onto itself changes nothing', async () => {
      await ctx.storage.write(ctx.path('f'), text('same'));
      await ctx.storage.rename(ctx.path('f'), ctx.path('f'));
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('same');
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.rename(ctx.path('d'), ctx.path('d'));
      expect((await ctx.storage.stat(ctx.path('d'))).kind, `kind of ${ctx.path('d')}`).toBe('directory');
    });

    it('keeps content, size and times of a moved file', async () => {
      await ctx.storage.write(ctx.path('f'), pattern(3000));
      await ctx.storage.setTimes(ctx.path('f'), { modified: 1_100_000_000_000 });
      await ctx.storage.rename(ctx.path('f'), ctx.path('g'));
      const meta = await ctx.storage.stat(ctx.path('g'));
      expect(meta.size, `size of ${ctx.path('g')} after rename`).toBe(3000);
      expect(meta.modified, `modified of ${ctx.path('g')} after rename`).toBeCloseTo(1_100_000_000_000, -1);
      await ctx.storage.write(ctx.path('f'), text('new'));
      expect(str(await ctx.storage.read(ctx.path('f'))), `content of ${ctx.path('f')}`).toBe('new');
      expectBytes(await ctx.storage.read(ctx.path('g')), pattern(3000), `content of ${ctx.path('g')}`);
    });
  });
}
