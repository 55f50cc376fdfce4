import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectError, str, syncTwinWith, text } from '../util.js';

/**
 * `flush` of a sync twin that has one (caching layers, SQLite): registered in the sync form only,
 * and only for such stores. Whatever a flush does underneath, it never changes what is stored.
 */
export function flushSuite(ctx: SuiteContext): void {
  if (ctx.form !== 'sync' || !ctx.declared.flush) return;
  describe('flush', () => {
    const sync = () => syncTwinWith(ctx, 'flush');

    it('keeps every byte and entry, in each form of the call', () => {
      const s = sync();
      const file = ctx.path('a');
      s.write(file, text('hello'));
      s.writeAt(file, 5, text(' world'));
      s.append(ctx.path('log'), text('1'));
      s.mkdir(ctx.path('d'));
      s.flush(file);
      s.append(ctx.path('log'), text('2'));
      s.flush();
      s.writeAt(file, 0, text('H'));
      s.flush(file, { durable: true });
      s.flush(undefined, { durable: true });
      expect(str(s.read(file)), `content of ${file}`).toBe('Hello world');
      expect(str(s.read(ctx.path('log'))), `content of ${ctx.path('log')}`).toBe('12');
      expect(
        s
          .list(ctx.dir)
          .map((e) => e.name)
          .sort(),
        `names listed in ${ctx.dir}`,
      ).toEqual(['a', 'd', 'log']);
    });

    it('of a path that does not exist has nothing to do', () => {
      const s = sync();
      s.flush(ctx.path('missing'));
      s.flush(ctx.path('missing'), { durable: true });
      expect(s.exists(ctx.path('missing')), `exists(${ctx.path('missing')})`).toBe(false);
    });

    it('rejects a bad path with invalid-path', async () => {
      const s = sync();
      await expectError(() => s.flush('relative/path'), 'invalid-path');
      await expectError(() => s.flush('/../escape', { durable: true }), 'invalid-path');
    });
  });
}
