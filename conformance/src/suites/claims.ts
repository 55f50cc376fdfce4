import { toAsync, type VfsStorage } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectBytes, pattern, str, text } from '../util.js';

/**
 * `persistent`: what was written survives closing the store and opening it again (`ctx.restart()`,
 * through `options.reopen`). Registered only for a store that claims `persistent` and has `reopen`;
 * a store whose data lives in its object's memory fails it, whatever `reopen` returns.
 */
export function persistenceSuite(ctx: SuiteContext): void {
  if (!ctx.declared.capabilities?.persistent || !ctx.options.reopen) return;
  describe('persistence', () => {
    it('data, tree and times survive closing the store and reopening it', () => expectSurvivesRestart(ctx));
  });
}

/**
 * The check of the `persistence` sub-suite: writes a small tree, restarts the store and reads it
 * back, naming the path and field of any difference.
 */
export async function expectSurvivesRestart(ctx: SuiteContext): Promise<void> {
  const s = ctx.storage;
  const big = ctx.path('d', 'big');
  const log = ctx.path('log');
  const data = pattern(70_000, 11);
  await s.mkdir(ctx.path('d'));
  await s.mkdir(ctx.path('d', 'empty'));
  await s.write(big, data);
  await s.writeAt(big, 100_000, text('tail'));
  await s.append(log, text('one\n'));
  await s.append(log, text('two\n'));
  await s.setTimes(log, { modified: 1_300_000_000_000 });
  const before = await s.stat(big);
  const again = await ctx.restart();
  expect(again, 'the store reopened by restart()').not.toBe(s);
  expect(await again.exists(ctx.dir), `exists(${ctx.dir}) after reopening`).toBe(true);
  expect((await again.stat(ctx.path('d', 'empty'))).kind, `kind of ${ctx.path('d', 'empty')}`).toBe(
    'directory',
  );
  const expected = new Uint8Array(100_004);
  expected.set(data);
  expected.set(text('tail'), 100_000);
  expectBytes(await again.read(big), expected, `${big} after reopening`);
  const meta = await again.stat(big);
  expect(meta.size, `size of ${big} after reopening`).toBe(100_004);
  expect(meta.modified, `modified of ${big} after reopening`).toBeCloseTo(before.modified, -1);
  expect(meta.created, `created of ${big} after reopening`).toBeCloseTo(before.created, -1);
  expect(str(await again.read(log)), `content of ${log} after reopening`).toBe('one\ntwo\n');
  expect((await again.stat(log)).modified, `modified of ${log} (set by setTimes)`).toBeCloseTo(
    1_300_000_000_000,
    -1,
  );
  expect(await again.append(log, text('three\n')), `offset of an append to ${log} after reopening`).toBe(8);
}

/**
 * `atomicRename` / `atomicDirectoryRename`: while a file (a directory with a tree) is renamed back
 * and forth, observers listing its parent (through the store under test and, with `reopen`, a
 * second storage object) always see it under exactly one of its names, whole. Registered only for
 * the claims the store makes.
 */
export function atomicitySuite(ctx: SuiteContext): void {
  const claims = ctx.declared.capabilities;
  if (!claims?.atomicRename && !claims?.atomicDirectoryRename) return;
  describe('atomicity', () => {
    if (claims.atomicRename) {
      it('observers see a renamed file under exactly one name, with its size', async () => {
        await ctx.storage.write(ctx.path('a'), pattern(3000, 2));
        await renameWhileObserved(ctx, ['a', 'b'], ['a:3000', 'b:3000']);
        expectBytes(await ctx.storage.read(ctx.path('a')), pattern(3000, 2), ctx.path('a'));
      });
    }
    if (claims.atomicDirectoryRename) {
      it('observers see a renamed directory under exactly one name, its tree whole after', async () => {
        await ctx.storage.mkdir(ctx.path('src'));
        await ctx.storage.mkdir(ctx.path('src', 'sub'));
        for (const [i, name] of ['x', 'y', 'z'].entries()) {
          await ctx.storage.write(ctx.path('src', 'sub', name), pattern(1000 + i, i + 1));
        }
        await renameWhileObserved(ctx, ['src', 'dst'], ['src:0', 'dst:0']);
        for (const [i, name] of ['x', 'y', 'z'].entries()) {
          const p = ctx.path('src', 'sub', name);
          expectBytes(await ctx.storage.read(p), pattern(1000 + i, i + 1), p);
        }
      });
    }
  });
}

const RENAMES = 20;

/** Renames `names[0]` to `names[1]` and back `RENAMES` times while listing the parent concurrently. */
async function renameWhileObserved(
  ctx: SuiteContext,
  names: [string, string],
  allowed: string[],
): Promise<void> {
  const opened = ctx.options.reopen ? await ctx.options.reopen(ctx.storage) : undefined;
  const other: VfsStorage | undefined =
    opened && ctx.form === 'sync' && opened.sync ? toAsync(opened.sync) : opened;
  let done = false;
  const observe = async (s: VfsStorage, who: string) => {
    let seen = 0;
    while (!done || seen === 0) {
      const entries = (await s.list(ctx.dir)).map((e) => `${e.name}:${e.size}`);
      expect(entries.length, `entries of ${ctx.dir} listed by ${who}: ${entries.join(', ')}`).toBe(1);
      expect(allowed, `entry of ${ctx.dir} listed by ${who} (name:size)`).toContain(entries[0]);
      seen++;
    }
  };
  try {
    const observers = [observe(ctx.storage, 'the store under test')];
    if (other) observers.push(observe(other, 'a second storage object'));
    const renames = (async () => {
      try {
        for (let i = 0; i < RENAMES; i++) {
          const [from, to] = i % 2 === 0 ? names : [names[1], names[0]];
          await ctx.storage.rename(ctx.path(from), ctx.path(to));
        }
      } finally {
        done = true;
      }
    })();
    // Settle all before the second object closes; then report the first failure.
    const results = await Promise.allSettled([renames, ...observers]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } finally {
    done = true;
    await opened?.close();
  }
}
