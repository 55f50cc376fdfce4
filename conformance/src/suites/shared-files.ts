import { isVfsError, toAsync, type VfsStorage, type WriteExtentsOptions } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { sleep, str, text } from '../util.js';

/**
 * Writes one extent through `storage` and stores it (a caching layer such as the sync bridge may
 * hold it back until a flush): what a WASI host does for a guest's `write` and `fsync`. Returns the
 * error code of the first failure, or `ok`.
 */
async function writeAndStore(
  storage: VfsStorage,
  path: string,
  offset: number,
  data: Uint8Array,
  options: WriteExtentsOptions,
): Promise<string> {
  try {
    await storage.writeExtents(path, [[offset, data]], options);
    storage.sync?.flush?.(path);
    return 'ok';
  } catch (error) {
    if (!isVfsError(error)) throw error;
    return error.code;
  }
}

/**
 * Two storage objects on one store (the second opened with `reopen`, as another process would):
 * what each writes through a file's identity (`writeExtents`' `ifFile`, as the WASI host writes
 * through a descriptor) the other sees, and a file one deletes or replaces is never brought back
 * nor overwritten by the other's writes, which fail with `not-found`. Issue #18, class 4.
 */
export function sharedFilesSuite(ctx: SuiteContext): void {
  describe('shared files (two storage objects on one store)', () => {
    async function withSecond(fn: (other: VfsStorage) => Promise<void>): Promise<void> {
      const opened = await ctx.options.reopen!(ctx.storage);
      const other = ctx.form === 'sync' && opened.sync ? toAsync(opened.sync) : opened;
      try {
        await fn(other);
      } finally {
        await opened.close();
      }
    }

    it("each object sees the other's writes through a file's identity, and the same identity", async () => {
      await withSecond(async (other) => {
        const p = ctx.path('seen');
        await ctx.storage.write(p, text('hello'));
        const mine = await ctx.storage.stat(p);
        const theirs = await other.stat(p);
        expect(theirs.id, `stat(${p}).id through the second object`).toBe(mine.id);
        expect(theirs.created, `stat(${p}).created through the second object`).toBe(mine.created);
        expect(
          await writeAndStore(other, p, 5, text(' world'), { ifFile: theirs }),
          'write through the second object',
        ).toBe('ok');
        ctx.storage.sync?.flush?.(p);
        expect(str(await ctx.storage.read(p)), `content of ${p} through the first object`).toBe(
          'hello world',
        );
        expect(
          await writeAndStore(ctx.storage, p, 0, text('H'), { ifFile: mine }),
          'write through the first object',
        ).toBe('ok');
        other.sync?.flush?.(p);
        expect(str(await other.read(p)), `content of ${p} through the second object`).toBe('Hello world');
      });
    });

    it('a file one object deletes is never brought back by the other: its writes fail with not-found', async () => {
      await withSecond(async (other) => {
        const p = ctx.path('unlinked');
        await ctx.storage.write(p, text('data'));
        const meta = await other.stat(p);
        // The other object has written (and may hold state of) the file before it goes.
        expect(await writeAndStore(other, p, 0, text('D'), { ifFile: meta }), 'write before the delete').toBe(
          'ok',
        );
        await ctx.storage.delete(p);
        expect(await writeAndStore(other, p, 10, text('!'), { ifFile: meta }), 'write after the delete').toBe(
          'not-found',
        );
        expect(
          await writeAndStore(other, p, 0, text('again'), { ifFile: meta }),
          'second write after the delete',
        ).toBe('not-found');
        other.sync?.flush?.();
        for (const [who, s] of [
          ['the first object', ctx.storage],
          ['the second object', other],
        ] as const) {
          expect(await s.exists(p), `exists(${p}) through ${who}`).toBe(false);
        }
      });
    });

    it("a file one object replaces: the other's writes fail with not-found, the new file is intact", async () => {
      await withSecond(async (other) => {
        const p = ctx.path('replaced');
        await ctx.storage.write(p, text('old'));
        const meta = await other.stat(p);
        expect(
          await writeAndStore(other, p, 0, text('OLD'), { ifFile: meta }),
          'write before the rename',
        ).toBe('ok');
        // Past the creation time's millisecond: stores without an id tell files apart by it.
        await sleep(5);
        await ctx.storage.write(ctx.path('next'), text('new content'));
        await ctx.storage.rename(ctx.path('next'), p);
        expect(
          await writeAndStore(other, p, 0, text('stale'), { ifFile: meta }),
          'write after the rename',
        ).toBe('not-found');
        other.sync?.flush?.();
        expect(str(await ctx.storage.read(p)), `content of ${p} through the first object`).toBe(
          'new content',
        );
        expect(str(await other.read(p)), `content of ${p} through the second object`).toBe('new content');
      });
    });
  });
}
