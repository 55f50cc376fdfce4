import { type Metadata, msAtOrBefore, nsToMs, timeNs, type VfsStorage } from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectError, text } from '../util.js';

/** A time with every nanosecond digit set: 2024-11-30T20:53:20.123456789Z. */
const N = 1_733_000_000_123_456_789n;

/** The exact times `stat` gives, without the ones it leaves out. */
async function exact(s: VfsStorage, path: string): Promise<Pick<Metadata, 'modifiedNs' | 'accessedNs'>> {
  const { modifiedNs, accessedNs } = await s.stat(path);
  return { modifiedNs, accessedNs };
}

/**
 * Times set in nanoseconds (`setTimes` with a `bigint`), driven by `capabilities.nanosecondTimes`.
 * A store that declares it gives them back exactly (`modifiedNs`, `accessedNs`, with `modified` /
 * `accessed` their nearest double of milliseconds) until the time moves again; every store keeps
 * what a double of milliseconds can, and never ignores a time set 100 ns earlier than the one it
 * shows.
 */
export function timesSuite(ctx: SuiteContext): void {
  describe('times in nanoseconds', () => {
    const nanos = ctx.declared.capabilities?.nanosecondTimes === true;

    it('a bigint time reads back as the nearest double of milliseconds, and exactly where declared', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      await s.setTimes(p, { modified: N, accessed: N + 1n });
      const meta = await s.stat(p);
      // A store without nanosecondTimes gets the latest double of milliseconds at or before it.
      const ms = nanos ? nsToMs : msAtOrBefore;
      expect(meta.modified, 'modified').toBe(ms(N));
      expect(meta.accessed, 'accessed').toBe(ms(N + 1n));
      if (nanos) {
        expect(await exact(s, p)).toEqual({ modifiedNs: N, accessedNs: N + 1n });
        expect(timeNs(meta, 'modified')).toBe(N);
      } else {
        expect(await exact(s, p), 'a store without nanosecondTimes gives no exact times').toEqual({});
      }
    });

    it('setting a time 100 ns earlier than the one stat shows is never ignored', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      await s.setTimes(p, { modified: N });
      const shown = timeNs(await s.stat(p), 'modified');
      await s.setTimes(p, { modified: shown - 100n });
      const after = timeNs(await s.stat(p), 'modified');
      expect(after < shown, `${after} after setting ${shown - 100n}, was ${shown}`).toBe(true);
      if (nanos) expect(after).toBe(N - 100n);
    });

    it("setTimes sets one time without touching the other one's exact value", async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      await s.setTimes(p, { modified: N, accessed: N + 7n });
      await s.setTimes(p, { accessed: N - 5n });
      const meta = await s.stat(p);
      const ms = nanos ? nsToMs : msAtOrBefore;
      expect(meta.modified).toBe(ms(N));
      expect(meta.accessed).toBe(ms(N - 5n));
      if (nanos) expect(await exact(s, p)).toEqual({ modifiedNs: N, accessedNs: N - 5n });
    });

    it('a later write, append or setSize moves the time and drops the exact one', async () => {
      const s = ctx.storage;
      for (const [what, change] of [
        ['write', (p: string) => s.write(p, text('y'))],
        ['writeAt', (p: string) => s.writeAt(p, 1, text('y'))],
        ['append', (p: string) => s.append(p, text('y'))],
        ['setSize', (p: string) => s.setSize(p, 0)],
      ] as const) {
        const p = ctx.path(what);
        await s.write(p, text('x'));
        await s.setTimes(p, { modified: N, accessed: N });
        await change(p);
        const meta = await s.stat(p);
        expect(meta.modified, `modified after ${what}`).toBeGreaterThan(nsToMs(N) + 1000);
        expect(meta.modifiedNs, `modifiedNs after ${what}`).toBeUndefined();
      }
    });

    it('a number time replaces a bigint one and drops the exact value', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      await s.setTimes(p, { modified: N, accessed: N });
      await s.setTimes(p, { modified: 1_300_000_000_000.5, accessed: 1_300_000_000_000 });
      const meta = await s.stat(p);
      expect(meta.modified).toBe(1_300_000_000_000.5);
      expect(meta.accessed).toBe(1_300_000_000_000);
      expect(await exact(s, p)).toEqual({});
    });

    it('directories and renames keep exact times; list agrees with stat', async () => {
      const s = ctx.storage;
      const d = ctx.path('d');
      await s.mkdir(d);
      await s.write(`${d}/f`, text('x'));
      await s.setTimes(`${d}/f`, { modified: N + 3n });
      await s.setTimes(d, { modified: N + 5n });
      await s.rename(d, ctx.path('e'));
      const file = await s.stat(ctx.path('e/f'));
      const dir = await s.stat(ctx.path('e'));
      const ms = nanos ? nsToMs : msAtOrBefore;
      expect(file.modified).toBe(ms(N + 3n));
      expect(dir.modified).toBe(ms(N + 5n));
      if (nanos) {
        expect(file.modifiedNs).toBe(N + 3n);
        expect(dir.modifiedNs).toBe(N + 5n);
      }
      await s.rename(ctx.path('e/f'), ctx.path('g'));
      expect(timeNs(await s.stat(ctx.path('g')), 'modified')).toBe(timeNs(file, 'modified'));
    });

    it('times before 1970 and at the ends of the 64-bit range', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      for (const t of [-1n, -123_456_789_987n, 2n ** 63n - 1n, -(2n ** 63n), 0n, 1n]) {
        await s.setTimes(p, { modified: t });
        const meta = await s.stat(p);
        expect(meta.modified, `modified set to ${t} ns`).toBe((nanos ? nsToMs : msAtOrBefore)(t));
        if (nanos) expect(meta.modifiedNs, `modifiedNs set to ${t} ns`).toBe(t);
      }
    });

    it('a bigint outside the signed 64-bit range is invalid-argument and changes nothing', async () => {
      const s = ctx.storage;
      const p = ctx.path('f');
      await s.write(p, text('x'));
      await s.setTimes(p, { modified: N });
      const before = await s.stat(p);
      for (const t of [2n ** 63n, -(2n ** 63n) - 1n, 2n ** 200n]) {
        await expectError(() => s.setTimes(p, { modified: t }), 'invalid-argument', `setTimes to ${t} ns`);
        await expectError(() => s.setTimes(p, { accessed: t }), 'invalid-argument', `setTimes to ${t} ns`);
      }
      expect(await s.stat(p)).toEqual(before);
    });

    if (nanos && ctx.options.reopen && ctx.declared.capabilities?.persistent) {
      it('exact times survive reopening the store', async () => {
        const s = ctx.storage;
        const p = ctx.path('f');
        await s.write(p, text('x'));
        await s.setTimes(p, { modified: N, accessed: N - 1n });
        const again = await ctx.restart();
        expect(await exact(again, p)).toEqual({ modifiedNs: N, accessedNs: N - 1n });
      });
    }
  });
}
