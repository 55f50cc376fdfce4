import { createHash } from 'node:crypto';
import { isVfsError, type StorageLimits, type VfsErrorCode, type VfsStorage } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, inParallel, pattern, str, text } from '../util.js';

const MiB = 1024 * 1024;
/** Largest headroom the suite fills with real bytes; beyond it only the cheap refusals run. */
const MAX_FILL = 64 * MiB;
/** Largest number of files the suite creates to reach `maxFiles`. */
const MAX_FILL_FILES = 5000;

const declaredLimits = (s: VfsStorage): StorageLimits | undefined => s.limits ?? s.sync?.limits;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The whole store's usage, walked with `list`: `bytes` as `maxBytes` counts them (the UTF-8 bytes of
 * every entry's name, files, directories and links, plus every file's size and every link's, its
 * target's UTF-8 bytes), and the number of files, links counted as files (as `maxFiles` counts).
 */
async function usage(s: VfsStorage): Promise<{ bytes: number; files: number }> {
  const total = { bytes: 0, files: 0 };
  const pending = ['/'];
  // A file with several names (hard links) counts its size and itself once.
  const linked = new Set<string>();
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const e of await s.list(dir)) {
      total.bytes += utf8(e.name);
      const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (e.kind === 'directory') pending.push(path);
      else {
        if (s.capabilities.hardLinks) {
          const meta = await s.stat(path);
          if ((meta.linkCount ?? 1) > 1) {
            if (linked.has(String(meta.id))) continue;
            linked.add(String(meta.id));
          }
        }
        // A file's size, or a link's: its target's UTF-8 bytes.
        total.bytes += e.size;
        total.files += 1;
      }
    }
  }
  return total;
}

/** Every path of the store with its kind, size and a digest of its content. */
async function snapshot(s: VfsStorage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const pending = ['/'];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const e of await s.list(dir)) {
      const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (e.kind === 'directory') {
        out[path] = 'dir';
        pending.push(path);
      } else if (e.kind === 'symlink') out[path] = `link:${e.size}:${await s.readlink(path)}`;
      else {
        const digest = createHash('sha1')
          .update(await s.read(path))
          .digest('hex');
        out[path] = `file:${e.size}:${digest}`;
      }
    }
  }
  return out;
}

/** Expects `run` to fail with `code` and the whole store to be unchanged. */
async function expectRefused(s: VfsStorage, run: () => Promise<unknown>, code: VfsErrorCode) {
  const before = await snapshot(s);
  await expectError(run, code);
  expect(await snapshot(s), `every path of the store (kind, size, digest) after a refused call`).toEqual(
    before,
  );
}

/** A file {@link fillPlan} makes: its name and size. */
interface Fill {
  name: string;
  size: number;
}

/**
 * Files that together use exactly `bytes` bytes of `maxBytes` (their names included), none larger
 * than `perFile`: `f0`, `f1`, … and, where fewer bytes are left than the next such name takes, a
 * last empty file whose name is exactly that long. `undefined` past {@link MAX_FILL_FILES} files.
 */
function fillPlan(bytes: number, perFile: number): Fill[] | undefined {
  const plan: Fill[] = [];
  for (let i = 0, left = bytes; left > 0; i++) {
    if (plan.length === MAX_FILL_FILES) return undefined;
    const name = utf8(`f${i}`) <= left ? `f${i}` : 'g'.repeat(left);
    const size = Math.min(perFile, left - utf8(name));
    plan.push({ name, size });
    left -= utf8(name) + size;
  }
  return plan;
}

/** Makes the files of a {@link fillPlan} in the directory `dir`. */
async function fill(s: VfsStorage, dir: string, plan: readonly Fill[]): Promise<void> {
  for (const { name, size } of plan) {
    await s.write(`${dir}/${name}`, new Uint8Array(0));
    await s.setSize(`${dir}/${name}`, size);
  }
}

/**
 * Fills the store (with files in `dir`, which it makes) until exactly `room` bytes are left of
 * `maxBytes`; `false`, having done nothing, when that would take too much (see `MAX_FILL`) or more
 * files than `maxFiles` allows.
 */
async function fillLeaving(s: VfsStorage, dir: string, maxBytes: number, room: number): Promise<boolean> {
  const limits = declaredLimits(s);
  const before = maxBytes - (await usage(s)).bytes;
  const left = before - utf8(dir.slice(dir.lastIndexOf('/') + 1)) - room;
  if (before > MAX_FILL || left < 0) return false;
  const plan = fillPlan(left, Math.min(limits?.maxFileSize ?? left, left));
  const freeFiles = (limits?.maxFiles ?? Number.POSITIVE_INFINITY) - (await usage(s)).files;
  if (plan === undefined || plan.length + 2 > freeFiles) return false;
  await s.mkdir(dir);
  await fill(s, dir, plan);
  expect((await usage(s)).bytes, 'bytes stored, names included').toBe(maxBytes - room);
  return true;
}

/**
 * Creates directories below `base` (names of at most 100 bytes) so that `base/.../<leaf>` is exactly
 * `length` UTF-8 bytes long, with a last segment of at least 4 bytes.
 */
async function deepPath(s: VfsStorage, base: string, length: number, leaf = 'f'): Promise<string> {
  let dir = base;
  for (;;) {
    const rest = length - utf8(dir) - 1;
    if (rest <= 100) return `${dir}/${leaf.repeat(rest)}`;
    dir = `${dir}/${'d'.repeat(Math.min(100, rest - 5))}`;
    await s.mkdir(dir);
  }
}

/**
 * Declared limits ({@link VfsStorage.limits}): for each one the store declares, every way of
 * exceeding it is refused (`quota-exceeded`, `name-too-long` for paths) with the store unchanged,
 * and what stays within it works. Only the declared limits' tests are registered. The tests measure
 * the store's current usage first, so the test directory and anything else stored count.
 */
export function limitsSuite(ctx: SuiteContext): void {
  // Registered per declared limit (known before registration): nothing undeclared is run or skipped.
  const declared = ctx.declared.limits;
  if (!declared || Object.values(declared).every((v) => v === undefined)) return;
  describe('limits', () => {
    if (declared.maxFileSize !== undefined)
      it('maxFileSize: growing a file past it is refused, within it works', async () => {
        const max = declaredLimits(ctx.storage)?.maxFileSize;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const p = ctx.path('file');
        await s.write(p, text('abc'));
        await expectRefused(s, () => s.setSize(p, max + 1), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(p, max, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(ctx.path('new'), max, text('x')), 'quota-exceeded');
        if (max < 16 * MiB) {
          await expectRefused(s, () => s.write(p, new Uint8Array(max + 1)), 'quota-exceeded');
          await expectRefused(s, () => s.write(ctx.path('new'), new Uint8Array(max + 1)), 'quota-exceeded');
          await expectRefused(s, () => s.append(ctx.path('new'), new Uint8Array(max + 1)), 'quota-exceeded');
        }
        const room = declaredLimits(s)?.maxBytes;
        if (max > MAX_FILL || (room !== undefined && room - (await usage(s)).bytes < max)) return;
        // At the limit: growth is refused, everything else works.
        await s.setSize(p, max);
        await expectRefused(s, () => s.append(p, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.setSize(p, max + 1), 'quota-exceeded');
        await s.writeAt(p, max - 1, text('y'));
        await s.append(p, new Uint8Array(0));
        await s.setSize(p, max - 1);
        expect(await s.append(p, text('z')), `offset returned by append to ${p}`).toBe(max - 1);
        expect((await s.stat(p)).size, `size of ${p}`).toBe(max);
      });

    if (declared.maxBytes !== undefined)
      it('maxBytes: growing the total past it is refused, within it works', async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const p = ctx.path('file');
        await s.write(p, text('abc'));
        const room = max - (await usage(s)).bytes;
        await expectRefused(s, () => s.setSize(p, 3 + room + 1), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(p, 3 + room, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(ctx.path('new'), room, text('x')), 'quota-exceeded');
        // Its content alone would fit: the new file's name takes the last bytes.
        if (room >= utf8('new')) {
          await expectRefused(
            s,
            () => s.writeAt(ctx.path('new'), room - utf8('new'), text('x')),
            'quota-exceeded',
          );
        }
        if (room > MAX_FILL) return;
        // Fill the store to exactly the limit, in files no larger than maxFileSize, in a directory
        // whose name counts too; the first file gets at least a byte (see the end of the test).
        const left = room - utf8('fill');
        const perFile = Math.min(limits?.maxFileSize ?? left, left);
        if (left < utf8('f0') + 1 || perFile === 0) return;
        const plan = fillPlan(left, perFile);
        const freeFiles = (limits?.maxFiles ?? Number.POSITIVE_INFINITY) - (await usage(s)).files;
        if (plan === undefined || plan.length + 2 > freeFiles) return;
        await s.mkdir(ctx.path('fill'));
        await fill(s, ctx.path('fill'), plan);
        expect((await usage(s)).bytes, 'bytes stored in the whole store, names included').toBe(max);
        await expectRefused(s, () => s.write(ctx.path('new'), text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.append(p, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.append(ctx.path('new'), text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(p, 3, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.setSize(p, 4), 'quota-exceeded');
        await expectRefused(s, () => s.write(p, text('abcd')), 'quota-exceeded');
        // An empty file or a directory still takes its name's bytes.
        await expectRefused(s, () => s.write(ctx.path('empty'), new Uint8Array(0)), 'quota-exceeded');
        await expectRefused(s, () => s.mkdir(ctx.path('empty')), 'quota-exceeded');
        // What does not grow the total works; freed bytes can be used again.
        await s.writeAt(p, 0, text('XY'));
        await s.write(p, text('ab'));
        await s.append(p, text('c'));
        expect(str(await s.read(p)), `content of ${p}`).toBe('abc');
        const first = plan[0]!;
        await s.delete(ctx.path('fill', first.name));
        // What the deleted file freed (its name and size) holds a file of another name.
        await s.write(ctx.path('new'), new Uint8Array(utf8(first.name) + first.size - utf8('new')));
        expect((await usage(s)).bytes, 'bytes stored in the whole store, names included').toBe(max);
      });

    if (declared.maxBytes !== undefined)
      it('maxBytes: concurrent growth never passes the check together', async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const before = max - (await usage(s)).bytes;
        const size = Math.min(limits?.maxFileSize ?? before, Math.floor(before / 3) + 1);
        const attempts = Math.floor(before / size) + 3;
        if (before > MAX_FILL || size < 1 || attempts > 53) return;
        if ((limits?.maxFiles ?? Number.POSITIVE_INFINITY) - (await usage(s)).files < attempts) return;
        const names = Array.from({ length: attempts }, (_, i) => ctx.path(`c${i}`));
        for (const name of names) await s.write(name, new Uint8Array(0));
        // The empty files' names took bytes: what is left now tells how many fit.
        const room = max - (await usage(s)).bytes;
        const fits = Math.floor(room / size);
        const results = await Promise.allSettled(names.map((name) => s.setSize(name, size)));
        const refused = results.filter((r) => r.status === 'rejected');
        for (const r of refused) expect(isVfsError(r.reason, 'quota-exceeded'), String(r.reason)).toBe(true);
        expect(attempts - refused.length, `concurrent setSize calls that succeeded (room ${room})`).toBe(
          fits,
        );
        expect((await usage(s)).bytes, 'bytes stored in the whole store').toBeLessThanOrEqual(max);
      });

    if (declared.maxBytes !== undefined)
      it('maxBytes: names count, of files and directories, through renames and deletes', async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        // Long names (200 bytes, or less where the store allows less), short enough that a rename to
        // a name one byte longer is refused by the quota alone, the paths below a directory included.
        const maxName = Math.min(
          limits?.maxNameLength ?? 255,
          (limits?.maxPathLength ?? 4096) - utf8(ctx.dir) - 3,
        );
        const long = Math.min(200, maxName - 1) & ~1;
        if (long < 8) return;
        const half = long / 2;
        const a = ctx.path('a'.repeat(long));
        // Two bytes a character: names count UTF-8 bytes.
        const b = ctx.path('é'.repeat(half));
        const c = ctx.path('c'.repeat(long));
        const h = ctx.path('h'.repeat(half));
        // Leave exactly this much room: file `a`, directory `b` with the empty file `k`, and `h`.
        const room = long + long + 1 + half;
        const before = max - (await usage(s)).bytes;
        const left = before - utf8('fill') - room;
        if (before > MAX_FILL || left < 0) return;
        const plan = fillPlan(left, Math.min(limits?.maxFileSize ?? left, left));
        const freeFiles = (limits?.maxFiles ?? Number.POSITIVE_INFINITY) - (await usage(s)).files;
        if (plan === undefined || plan.length + 6 > freeFiles) return;
        await s.mkdir(ctx.path('fill'));
        await fill(s, ctx.path('fill'), plan);
        const expectUsage = async (free: number) =>
          expect((await usage(s)).bytes, 'bytes stored in the whole store, names included').toBe(max - free);
        /**
         * At the limit: not one more byte of name fits, as a file or as a directory. (The usage,
         * measured again, shows nothing was made: cheaper than comparing every file's content.)
         */
        const expectFull = async () => {
          await expectUsage(0);
          await expectError(() => s.write(ctx.path('z'), new Uint8Array(0)), 'quota-exceeded');
          await expectError(() => s.mkdir(ctx.path('z')), 'quota-exceeded');
          await expectUsage(0);
        };
        await expectUsage(room);

        await s.write(a, new Uint8Array(0));
        await s.mkdir(b);
        await s.write(`${b}/k`, new Uint8Array(0));
        await expectUsage(half);
        // An empty file or directory of a long name no longer fits, whichever way it is made.
        await expectRefused(s, () => s.write(c, new Uint8Array(0)), 'quota-exceeded');
        await expectRefused(s, () => s.create(c), 'quota-exceeded');
        await expectRefused(s, () => s.append(c, new Uint8Array(0)), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(c, 0, new Uint8Array(0)), 'quota-exceeded');
        await expectRefused(s, () => s.writeExtents(c, [[0, text('x')]]), 'quota-exceeded');
        await expectRefused(s, () => s.mkdir(c), 'quota-exceeded');
        await s.mkdir(h);
        await expectFull();

        // A rename to a longer name is refused, to a name as long or shorter works.
        await expectRefused(s, () => s.rename(a, `${a}a`), 'quota-exceeded');
        await expectRefused(s, () => s.rename(b, `${b}b`), 'quota-exceeded');
        await s.rename(a, c);
        await s.rename(c, ctx.path('a'));
        await expectUsage(long - 1);
        // A directory's rename changes its own name only, not those of the entries below it.
        await s.rename(b, ctx.path('b'));
        await expectUsage(2 * (long - 1));
        await s.write(ctx.path('e'.repeat(long - 1)), new Uint8Array(0));
        await s.mkdir(ctx.path('d'.repeat(long - 1)));
        await expectFull();

        // Deleting frees the name's bytes, as does replacing a file by rename (the source's name).
        await s.delete(ctx.path('a'));
        await s.rmdir(h);
        await s.mkdir(ctx.path('y'.repeat(half + 1)));
        await expectFull();
        await s.rename(ctx.path('e'.repeat(long - 1)), ctx.path('b', 'k'));
        await expectUsage(long - 1);
        await s.write(ctx.path('x'.repeat(long - 1)), new Uint8Array(0));
        await expectFull();
      });

    if (declared.maxFiles !== undefined)
      it('maxFiles: creating a file past it is refused, directories and replacements work', async () => {
        const max = declaredLimits(ctx.storage)?.maxFiles;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const room = max - (await usage(s)).files;
        if (room < 3 || room > MAX_FILL_FILES) return;
        // The files' names (and the few bytes written) must fit a declared maxBytes.
        const bytes = declaredLimits(s)?.maxBytes;
        if (bytes !== undefined && bytes - (await usage(s)).bytes < room * utf8(`f${room}`) + 100) return;
        await s.mkdir(ctx.path('many'));
        const names = Array.from({ length: room }, (_, i) => ctx.path('many', `f${i}`));
        await inParallel(names, 16, (name) => s.write(name, new Uint8Array(0)));
        expect((await usage(s)).files, 'files in the whole store').toBe(max);
        const q = ctx.path('new');
        await expectRefused(s, () => s.write(q, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.writeAt(q, 0, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.append(q, text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.write(q, new Uint8Array(0)), 'quota-exceeded');
        await expectRefused(s, () => s.create(q), 'quota-exceeded');
        // Anything there is already-exists, whatever the limits.
        await expectError(() => s.create(names[0]!), 'already-exists');
        // Directories are not counted; existing files can be rewritten.
        await s.mkdir(ctx.path('dir'));
        await s.write(names[0]!, text('rewritten'));
        // Replacing by rename and deleting free a slot each.
        await s.rename(names[0]!, names[1]!);
        await s.write(q, text('x'));
        await expectRefused(s, () => s.write(ctx.path('other'), text('x')), 'quota-exceeded');
        await s.delete(names[2]!);
        await s.create(ctx.path('other'));
        expect((await usage(s)).files, 'files in the whole store').toBe(max);
        await s.delete(ctx.path('other'));
        await s.append(ctx.path('other'), text('x'));
        expect((await usage(s)).files, 'files in the whole store').toBe(max);
      });

    const links = ctx.declared.capabilities?.symlinks === true;
    if (links && declared.maxFiles !== undefined)
      it('maxFiles: a symbolic link counts as a file; deleting or replacing it frees the slot', async () => {
        const max = declaredLimits(ctx.storage)?.maxFiles;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const room = max - (await usage(s)).files;
        if (room < 2 || room > MAX_FILL_FILES) return;
        const bytes = declaredLimits(s)?.maxBytes;
        if (bytes !== undefined && bytes - (await usage(s)).bytes < room * utf8(`f${room}`) + 100) return;
        await s.mkdir(ctx.path('many'));
        const names = Array.from({ length: room - 1 }, (_, i) => ctx.path('many', `f${i}`));
        await inParallel(names, 16, (name) => s.write(name, new Uint8Array(0)));
        await s.symlink(ctx.path('l0'), 't');
        expect((await usage(s)).files, 'files in the whole store, the link included').toBe(max);
        await expectRefused(s, () => s.symlink(ctx.path('l1'), 't'), 'quota-exceeded');
        await expectRefused(s, () => s.write(ctx.path('new'), text('x')), 'quota-exceeded');
        await expectRefused(s, () => s.create(ctx.path('new')), 'quota-exceeded');
        // Directories still work; a link onto a file replaces it: one slot freed.
        await s.mkdir(ctx.path('dir'));
        await s.delete(ctx.path('l0'));
        await s.symlink(ctx.path('l1'), 't');
        await s.rename(ctx.path('l1'), names[0]!);
        await s.symlink(ctx.path('l2'), 't');
        await expectRefused(s, () => s.symlink(ctx.path('l3'), 't'), 'quota-exceeded');
        expect((await usage(s)).files, 'files in the whole store').toBe(max);
        expect(await s.readlink(names[0]!), 'the link that replaced a file').toBe('t');
      });

    if (links && declared.maxBytes !== undefined)
      it("maxBytes: a symbolic link counts its name's and its target's UTF-8 bytes", async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        // 40 UTF-8 bytes in 30 UTF-16 units: the target counts bytes.
        const target = 'tä/'.repeat(10);
        const link = ctx.path('link');
        // Leave exactly the room of the link `link` to `target`.
        const room = utf8('link') + utf8(target);
        if (!(await fillLeaving(s, ctx.path('fill'), max, room))) return;
        // One byte more, in the target or in the name, is refused.
        await expectRefused(s, () => s.symlink(link, `${target}x`), 'quota-exceeded');
        await expectRefused(s, () => s.symlink(`${link}x`, target), 'quota-exceeded');
        await s.symlink(link, target);
        expect((await s.stat(link)).size, `size of ${link}`).toBe(utf8(target));
        expect((await usage(s)).bytes, 'bytes stored, the link included').toBe(max);
        await expectRefused(s, () => s.symlink(ctx.path('z'), 'z'), 'quota-exceeded');
        // A rename counts the new name against the old one.
        await expectRefused(s, () => s.rename(link, `${link}x`), 'quota-exceeded');
        await s.rename(link, ctx.path('knil'));
        expect(await s.readlink(ctx.path('knil'))).toBe(target);
        // Deleting the link frees its name and its target: a file of that size fits again.
        await s.delete(ctx.path('knil'));
        await s.write(ctx.path('f'), new Uint8Array(room - utf8('f')));
        expect((await usage(s)).bytes, 'bytes stored after the link made way for a file').toBe(max);
      });

    const hardLinks = ctx.declared.capabilities?.hardLinks === true;
    if (hardLinks && (declared.maxBytes !== undefined || declared.maxFiles !== undefined))
      it('a hard link counts its name only: no file, no size; the size goes with the last name', async () => {
        const s = ctx.storage;
        const limits = declaredLimits(s);
        const content = new Uint8Array(Math.min(100, limits?.maxFileSize ?? 100));
        const before = await usage(s);
        const room = (limits?.maxBytes ?? Number.POSITIVE_INFINITY) - before.bytes;
        const slots = (limits?.maxFiles ?? Number.POSITIVE_INFINITY) - before.files;
        if (room < content.length + 20 || slots < 1) return;
        const [a, b] = [ctx.path('a'), ctx.path('bb')];
        await s.write(a, content);
        await s.link(a, b);
        const grown = utf8('a') + utf8('bb') + content.length;
        expect(await usage(s), 'usage after a file and a second name').toEqual({
          bytes: before.bytes + grown,
          files: before.files + 1,
        });
        // A write through either name is checked against the one file's size.
        if (slots === 1) await expectRefused(s, () => s.write(ctx.path('c'), text('x')), 'quota-exceeded');
        await s.delete(a);
        expect(await usage(s), 'usage after the first name went').toEqual({
          bytes: before.bytes + grown - 1,
          files: before.files + 1,
        });
        await s.delete(b);
        expect(await usage(s), 'usage after the last name went').toEqual({
          bytes: before.bytes,
          files: before.files,
        });
      });

    if (hardLinks && declared.maxBytes !== undefined)
      it("maxBytes: a hard link fits exactly in its name's bytes; one byte more is refused", async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const source = ctx.path('s');
        await s.write(source, text('shared content'));
        const room = utf8('link');
        if (!(await fillLeaving(s, ctx.path('fill'), max, room))) return;
        await expectRefused(s, () => s.link(source, ctx.path('linkx')), 'quota-exceeded');
        // The contract's errors still win over the quota.
        await expectError(() => s.link(ctx.path('missing'), ctx.path('linkx')), 'not-found');
        await expectError(() => s.link(source, ctx.path('nope', 'linkx')), 'not-found');
        await s.link(source, ctx.path('link'));
        expect((await usage(s)).bytes, 'bytes stored, the link included').toBe(max);
        expect((await s.stat(ctx.path('link'))).linkCount, 'linkCount of the new name').toBe(2);
        // A rename onto another name of the same file frees nothing and costs nothing.
        await s.rename(source, ctx.path('link'));
        expect((await usage(s)).bytes, 'bytes stored after a rename onto the same file').toBe(max);
      });

    if (links && declared.maxFileSize !== undefined && declared.maxFileSize < 4096)
      it("maxFileSize does not bound a symbolic link's target", async () => {
        const s = ctx.storage;
        const target = `/${'t'.repeat(4095)}`;
        const room = declaredLimits(s)?.maxBytes;
        if (room !== undefined && room - (await usage(s)).bytes < utf8(target) + 10) return;
        await s.symlink(ctx.path('long'), target);
        expect(await s.readlink(ctx.path('long')), 'a 4,096-byte target').toBe(target);
      });

    if (declared.maxPathLength !== undefined)
      it('maxPathLength: creating a longer path is refused in every way', async () => {
        const max = declaredLimits(ctx.storage)?.maxPathLength;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        if (max < utf8(ctx.dir) + 8) return;
        await s.write(ctx.path('short'), text('x'));
        const atLimit = await deepPath(s, ctx.dir, max);
        expect(utf8(atLimit), `UTF-8 length of ${atLimit}`).toBe(max);
        const tooLong = `${atLimit}g`;
        // As many characters as the limit allows, one byte more: the limit counts UTF-8 bytes.
        const tooLongUnicode = `${atLimit.slice(0, -1)}é`;
        expect(utf8(tooLongUnicode), `UTF-8 length of ${tooLongUnicode}`).toBe(max + 1);
        for (const path of [tooLong, tooLongUnicode]) {
          await expectRefused(s, () => s.write(path, text('x')), 'name-too-long');
          await expectRefused(s, () => s.writeAt(path, 0, text('x')), 'name-too-long');
          await expectRefused(s, () => s.append(path, text('x')), 'name-too-long');
          await expectRefused(s, () => s.create(path), 'name-too-long');
          await expectRefused(s, () => s.mkdir(path), 'name-too-long');
          await expectRefused(s, () => s.rename(ctx.path('short'), path), 'name-too-long');
        }
        // At the limit everything works.
        await s.write(atLimit, text('x'));
        await s.rename(atLimit, `${atLimit.slice(0, -1)}h`);
        await s.delete(`${atLimit.slice(0, -1)}h`);
        await s.create(atLimit);
        await s.delete(atLimit);
        await s.mkdir(atLimit);
        await s.rmdir(atLimit);
        await s.rename(ctx.path('short'), atLimit);
        expect(str(await s.read(atLimit)), `content of ${atLimit}`).toBe('x');
        // A directory move that would give an entry too long a path is refused too.
        const parent = atLimit.slice(0, atLimit.lastIndexOf('/'));
        const leafLength = utf8(atLimit) - utf8(parent) - 1;
        if (leafLength >= 4) {
          const sub = `${parent}/s`;
          await s.mkdir(sub);
          await s.write(`${sub}/${'c'.repeat(leafLength - 2)}`, text('deep'));
          await expectRefused(s, () => s.rename(sub, `${parent}/s2`), 'name-too-long');
          await s.rename(sub, `${parent}/t`);
          expect(
            str(await s.read(`${parent}/t/${'c'.repeat(leafLength - 2)}`)),
            `content of ${parent}/t/${'c'.repeat(leafLength - 2)}`,
          ).toBe('deep');
        }
      });

    if ((declared.maxFileSize ?? declared.maxBytes) !== undefined)
      it('a write that fails a limit leaves other data intact', async () => {
        const limits = declaredLimits(ctx.storage);
        const max = limits?.maxFileSize ?? limits?.maxBytes;
        if (max === undefined)
          expect.fail('the store declared this limit when the suite was registered, but not now');
        const s = ctx.storage;
        const p = ctx.path('keep');
        const data = pattern(1000, 3);
        if (max < data.length) return;
        await s.write(p, data);
        await expectError(() => s.setSize(p, Number.MAX_SAFE_INTEGER), 'quota-exceeded');
        expectBytes(await s.read(p), data, `content of ${p}`);
      });
  });
}
