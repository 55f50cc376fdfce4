import { runInNewContext } from 'node:vm';
import {
  type ArgumentKind,
  isVfsError,
  OPERATIONS,
  STORAGE_OPERATIONS,
  type StorageOperation,
  toAsync,
  VfsError,
  type VfsStorage,
} from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import { chaos } from '../chaos.js';
import type { SuiteContext } from '../context.js';
import { expectBytes, expectError, pattern, SAMPLE_ARGUMENTS, str, text } from '../util.js';

type Any = (...args: unknown[]) => Promise<unknown>;

/**
 * Kinds that also occur inside an argument of another kind: an `extents` argument holds offsets and
 * data. The bad value goes into its second extent, after a valid one, so a check made only after
 * writing the first would show.
 */
const NESTED: Partial<Record<ArgumentKind, { in: ArgumentKind; wrap(bad: unknown): unknown }>> = {
  offset: {
    in: 'extents',
    wrap: (bad) => [
      [0, text('x')],
      [bad, text('x')],
    ],
  },
  data: {
    in: 'extents',
    wrap: (bad) => [
      [0, text('x')],
      [1, bad],
    ],
  },
};

/**
 * One call per argument of kind `kind` of every operation (from the contract's table), and per
 * argument holding values of that kind: that value is `bad`, every path is `path` and the rest are
 * valid.
 */
function callsWithBad(kind: ArgumentKind, bad: unknown, path: string): [StorageOperation, unknown[]][] {
  const calls: [StorageOperation, unknown[]][] = [];
  const nested = NESTED[kind];
  for (const op of STORAGE_OPERATIONS) {
    const kinds = OPERATIONS[op].args;
    kinds.forEach((k, i) => {
      // `bad` itself may be `undefined`: whether this argument takes it is asked apart.
      if (k !== kind && k !== nested?.in) return;
      const value = k === kind ? bad : nested!.wrap(bad);
      calls.push([
        op,
        kinds.map((other, j) => (j === i ? value : other === 'path' ? path : SAMPLE_ARGUMENTS[other])),
      ]);
    });
  }
  return calls;
}

/** A `Uint8Array` whose buffer was transferred away: it reads as empty, but is no data at all. */
function detachedBytes(): Uint8Array {
  const bytes = text('abc');
  structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] });
  return bytes;
}

/** Bad paths, offsets, sizes and data: typed errors, stored data intact. */
export function badInputSuite(ctx: SuiteContext): void {
  describe('bad input', () => {
    const badPaths: [string, unknown][] = [
      ['relative', 'relative/path'],
      ['empty', ''],
      ['escaping the root', '/../etc/passwd'],
      ['escaping deeper', '/a/../../x'],
      ['NUL', '/a\0b'],
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['an object', { path: '/x' }],
    ];
    for (const [what, bad] of badPaths) {
      it(`rejects a path that is ${what} in every operation`, async () => {
        const s = ctx.storage as unknown as Record<string, Any>;
        const good = ctx.path('keep');
        await ctx.storage.write(good, text('intact'));
        const calls = callsWithBad('path', bad, good);
        for (const [op, args] of calls) {
          const error = await expectError(() => s[op]!(...args), 'invalid-path');
          expect(error.message.length).toBeGreaterThan(10);
        }
        expect(str(await ctx.storage.read(good))).toBe('intact');
      });
    }

    it('normalizes ., .. and repeated or trailing slashes', async () => {
      await ctx.storage.mkdir(ctx.path('d'));
      await ctx.storage.write(`${ctx.dir}/./d//f/`, text('x'));
      expect(str(await ctx.storage.read(ctx.path('d', 'f')))).toBe('x');
      expect(str(await ctx.storage.read(`${ctx.dir}/d/../d/./f`))).toBe('x');
      expect((await ctx.storage.list(`${ctx.dir}//d/`)).map((e) => e.name)).toEqual(['f']);
    });

    const badNumbers: [string, unknown][] = [
      ['negative', -1],
      ['fractional', 1.5],
      ['NaN', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
      ['unsafe', 2 ** 53],
      ['a string', '3'],
      ['a bigint', 3n],
    ];
    for (const [what, bad] of badNumbers) {
      it(`rejects an offset, length or size that is ${what}`, async () => {
        const s = ctx.storage as unknown as Record<string, Any>;
        const p = ctx.path('f');
        await ctx.storage.write(p, text('intact'));
        const calls = [
          ...callsWithBad('offset', bad, p),
          ...callsWithBad('length', bad, p),
          ...callsWithBad('size', bad, p),
        ];
        for (const [op, args] of calls) await expectError(() => s[op]!(...args), 'invalid-offset');
        expect(str(await ctx.storage.read(p))).toBe('intact');
      });
    }

    it('rejects a write whose end is past the largest safe integer', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('intact'));
      await expectError(
        () => ctx.storage.writeAt(p, Number.MAX_SAFE_INTEGER - 2, text('xyzw')),
        'invalid-offset',
      );
      expect(str(await ctx.storage.read(p))).toBe('intact');
    });

    for (const [what, bad] of [
      ['a string', 'text'],
      ['an array', [1, 2, 3]],
      ['null', null],
      ['an ArrayBuffer', new ArrayBuffer(4)],
      ['a Uint8Array look-alike', { length: 3, 0: 1, 1: 2, 2: 3 }],
      [
        'an object with a buffer and a byteLength',
        { buffer: new ArrayBuffer(3), byteOffset: 0, byteLength: 3, length: 3 },
      ],
      ['an object tagged Uint8Array', { [Symbol.toStringTag]: 'Uint8Array', length: 0 }],
      ['another typed array', new Uint16Array(2)],
      ['a DataView', new DataView(new ArrayBuffer(3))],
      ['a detached Uint8Array', detachedBytes()],
    ] as [string, unknown][]) {
      it(`rejects data that is ${what}`, async () => {
        const s = ctx.storage as unknown as Record<string, Any>;
        const p = ctx.path('f');
        await ctx.storage.write(p, text('intact'));
        const calls = [...callsWithBad('data', bad, p), ...callsWithBad('data', bad, ctx.path('new'))];
        for (const [op, args] of calls) await expectError(() => s[op]!(...args), 'invalid-argument');
        expect(str(await ctx.storage.read(p))).toBe('intact');
        expect(await ctx.storage.exists(ctx.path('new'))).toBe(false);
      });
    }

    it('accepts a Uint8Array from another realm (a worker, a vm context) as data', async () => {
      const p = ctx.path('f');
      const foreign = () => runInNewContext('new Uint8Array([104, 105])') as Uint8Array;
      expect(foreign() instanceof Uint8Array).toBe(false);
      await ctx.storage.write(p, foreign());
      await ctx.storage.writeAt(p, 2, foreign());
      await ctx.storage.append(p, foreign());
      expect(str(await ctx.storage.read(p))).toBe('hihihi');
    });

    it('rejects times that are not finite numbers', async () => {
      const s = ctx.storage as unknown as Record<string, Any>;
      await ctx.storage.write(ctx.path('f'), text('x'));
      for (const bad of [{ modified: Number.NaN }, { accessed: '1' }, null]) {
        for (const [op, args] of callsWithBad('times', bad, ctx.path('f'))) {
          await expectError(() => s[op]!(...args), 'invalid-argument');
        }
      }
    });

    const badTargets: [string, unknown][] = [
      ['empty', ''],
      ['holding NUL', 'a\0b'],
      ['of 4,097 bytes', 'a'.repeat(4097)],
      ['of 4,098 UTF-8 bytes in 2,049 units', 'é'.repeat(2049)],
      ['with a lone surrogate', 'x\uDC00'],
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['bytes', text('x')],
    ];
    for (const [what, bad] of badTargets) {
      it(`rejects a link target that is ${what} (invalid-argument, whether or not the store has links)`, async () => {
        const s = ctx.storage as unknown as Record<string, Any>;
        const calls = callsWithBad('linkTarget', bad, ctx.path('new'));
        expect(calls.length, 'calls taking a link target').toBeGreaterThan(0);
        for (const [op, args] of calls) await expectError(() => s[op]!(...args), 'invalid-argument');
        expect(await ctx.storage.exists(ctx.path('new'))).toBe(false);
      });
    }

    it('errors are VfsErrors with code, path and message', async () => {
      const error = await expectError(() => ctx.storage.read(ctx.path('missing')), 'not-found');
      expect(isVfsError(error)).toBe(true);
      expect(error.name).toBe('VfsError');
      expect(error.path).toContain('missing');
      expect(error.message).toContain('missing');
    });
  });
}

/** Parallel appends, writes and creations through one storage object. */
export function concurrencySuite(ctx: SuiteContext): void {
  describe('concurrency', () => {
    it('50 concurrent appends of distinct records are all present, none interleaved', async () => {
      const p = ctx.path('log');
      const records = Array.from({ length: 50 }, (_, i) =>
        text(`<record ${String(i).padStart(2, '0')} ${'x'.repeat(i * 7)}>\n`),
      );
      const offsets = await Promise.all(records.map((r) => ctx.storage.append(p, r)));
      const content = await ctx.storage.read(p);
      expect(content.length, `length of ${p} after 50 appends`).toBe(
        records.reduce((n, r) => n + r.length, 0),
      );
      records.forEach((record, i) => {
        expectBytes(
          content.subarray(offsets[i]!, offsets[i]! + record.length),
          record,
          `record ${i} of ${p}, at the offset its append returned (${offsets[i]})`,
        );
      });
      expect(new Set(offsets).size, `distinct offsets returned by the appends to ${p}`).toBe(50);
    });

    it('concurrent writeAt of disjoint ranges all land', async () => {
      const p = ctx.path('f');
      const pieces = Array.from({ length: 24 }, (_, i) => pattern(4096, i + 1));
      await Promise.all(pieces.map((piece, i) => ctx.storage.writeAt(p, i * 4096, piece)));
      const content = await ctx.storage.read(p);
      for (const [i, piece] of pieces.entries()) {
        expectBytes(content.subarray(i * 4096, (i + 1) * 4096), piece, `piece ${i} of ${p}`);
      }
    });

    it('concurrent creations in one directory are all listed', async () => {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => ctx.storage.write(ctx.path(`f${i}`), text(`${i}`))),
      );
      expect((await ctx.storage.list(ctx.dir)).length, `number of entries of ${ctx.dir}`).toBe(100);
    });

    it('concurrent creates of one path: exactly one succeeds, and races with appends lose nothing', async () => {
      for (let round = 0; round < 5; round++) {
        const p = ctx.path(`lock${round}`);
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => ctx.storage.create(p)));
        expect(results.filter((r) => r.status === 'fulfilled').length, `creates of ${p} that succeeded`).toBe(
          1,
        );
        for (const r of results) {
          if (r.status === 'rejected')
            expect(isVfsError(r.reason, 'already-exists'), String(r.reason)).toBe(true);
        }
      }
      // A create racing appends to the same new path never wipes what an append wrote.
      const p = ctx.path('raced');
      const outcomes = await Promise.allSettled([
        ctx.storage.append(p, text('a')),
        ctx.storage.create(p),
        ctx.storage.append(p, text('b')),
        ctx.storage.create(p),
      ]);
      expect(outcomes[0]!.status, `first append to ${p}`).toBe('fulfilled');
      expect(outcomes[2]!.status, `second append to ${p}`).toBe('fulfilled');
      expect(
        str(await ctx.storage.read(p))
          .split('')
          .sort()
          .join(''),
        `bytes of ${p} (sorted) after appends raced creates`,
      ).toBe('ab');
    });

    it('concurrent mkdir of one path: exactly one succeeds', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => ctx.storage.mkdir(ctx.path('d'))),
      );
      expect(
        results.filter((r) => r.status === 'fulfilled').length,
        `mkdirs of ${ctx.path('d')} that succeeded`,
      ).toBe(1);
      for (const r of results) {
        if (r.status === 'rejected')
          expect(isVfsError(r.reason, 'already-exists'), String(r.reason)).toBe(true);
      }
    });
  });
}

/**
 * Two storage objects on one store (`options.reopen`), standing in for two processes: each sees
 * what the other did, writes through both at once are all kept when `multiProcess` says so, `create`
 * is exclusive across them when `exclusiveCreate` says so, and appends through both interleave
 * without loss when `nativeAppend` says so.
 */
export function sharedSuite(ctx: SuiteContext): void {
  describe('shared store', () => {
    async function withSecond(fn: (other: VfsStorage) => Promise<void>): Promise<void> {
      const opened = await ctx.options.reopen!(ctx.storage);
      const other = ctx.form === 'sync' && opened.sync ? toAsync(opened.sync) : opened;
      try {
        await fn(other);
      } finally {
        await opened.close();
      }
    }

    it('each object sees what the other created, wrote and deleted', async () => {
      await withSecond(async (other) => {
        const p = ctx.path('seen');
        await ctx.storage.create(p);
        expect(await other.exists(p), `exists(${p}) through the second object`).toBe(true);
        await expectError(() => other.create(p), 'already-exists');
        await other.write(p, text('from the other'));
        expect(str(await ctx.storage.read(p)), `content of ${p} written through the second object`).toBe(
          'from the other',
        );
        await other.delete(p);
        expect(await ctx.storage.exists(p), `exists(${p}) after the second object deleted it`).toBe(false);
        await ctx.storage.create(p);
      });
    });

    if (ctx.declared.capabilities?.multiProcess) {
      it('writes through both objects at once are all kept when multiProcess', async () => {
        await withSecond(async (other) => {
          const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}`);
          await Promise.all(
            names.map((name, i) => (i % 2 === 0 ? ctx.storage : other).write(ctx.path(name), text(name))),
          );
          for (const [who, s] of [
            ['the store under test', ctx.storage],
            ['the second object', other],
          ] as const) {
            const listed = (await s.list(ctx.dir)).map((e) => `${e.name}:${e.size}`).sort();
            expect(listed, `entries of ${ctx.dir} (name:size) listed by ${who}`).toEqual(
              names.map((name) => `${name}:3`),
            );
          }
        });
      });
    }

    it('creates of one path through both objects: exactly one succeeds when exclusiveCreate', async () => {
      await withSecond(async (other) => {
        for (let round = 0; round < 10; round++) {
          const p = ctx.path(`lock${round}`);
          const first = round % 2 === 0 ? ctx.storage : other;
          const second = first === other ? ctx.storage : other;
          const results = await Promise.allSettled(
            Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? first : second).create(p)),
          );
          const won = results.filter((r) => r.status === 'fulfilled').length;
          for (const r of results) {
            if (r.status === 'rejected')
              expect(isVfsError(r.reason, 'already-exists'), String(r.reason)).toBe(true);
          }
          if (ctx.capabilities.exclusiveCreate)
            expect(won, `creates of ${p} that succeeded (round ${round})`).toBe(1);
          else expect(won, `creates of ${p} that succeeded (round ${round})`).toBeGreaterThanOrEqual(1);
          expect((await ctx.storage.stat(p)).size, `size of ${p}`).toBe(0);
        }
      });
    });

    it('appends through both objects are all present when nativeAppend', async () => {
      await withSecond(async (other) => {
        const p = ctx.path('log');
        const records = Array.from({ length: 40 }, (_, i) => text(`<${String(i).padStart(2, '0')}>`));
        const offsets = await Promise.all(
          records.map((r, i) => (i % 2 === 0 ? ctx.storage : other).append(p, r)),
        );
        const content = str(await ctx.storage.read(p));
        if (ctx.capabilities.nativeAppend) {
          expect(content.length, `length of ${p} after 40 appends`).toBe(40 * 4);
          expect(new Set(offsets).size, `distinct offsets returned by the appends to ${p}`).toBe(40);
          records.forEach((r, i) => {
            expect(
              content.slice(offsets[i]!, offsets[i]! + 4),
              `record ${i} of ${p} at offset ${offsets[i]}`,
            ).toBe(str(r));
          });
        } else {
          // Without the promise only the shape holds: whole records, none torn.
          expect(content, `content of ${p}: whole records`).toMatch(/^(<\d\d>)+$/);
        }
      });
    });
  });
}

/** Errors injected by the chaos wrapper surface as typed errors and leave the store usable. */
export function chaosSuite(ctx: SuiteContext): void {
  describe('chaos', () => {
    it('a failing operation surfaces as an io error and the store stays usable', async () => {
      const p = ctx.path('f');
      await ctx.storage.write(p, text('before'));
      const flaky = chaos(ctx.storage, { failAfter: { writeAt: 1, rename: 0 } });
      await flaky.writeAt(p, 0, text('B'));
      await expectError(() => flaky.writeAt(p, 0, text('X')), 'io');
      await expectError(() => flaky.rename(p, ctx.path('g')), 'io');
      expect(str(await ctx.storage.read(p)), `content of ${p}`).toBe('Before');
      expect(await ctx.storage.exists(ctx.path('g')), `exists(${ctx.path('g')}) after a failed rename`).toBe(
        false,
      );
      expect(flaky.calls.writeAt, 'writeAt calls the chaos wrapper counted').toBe(2);
    });

    it('custom errors pass through unchanged', async () => {
      const flaky = chaos(ctx.storage, {
        failAfter: { read: 0 },
        error: () => new VfsError('busy', 'locked'),
      });
      await expectError(() => flaky.read(ctx.path('x')), 'busy');
    });
  });
}

/** What the backend really stored, read through the probe. */
export function probeSuite(ctx: SuiteContext): void {
  describe('probe', () => {
    it('stores exactly the bytes written, and nothing after delete', async () => {
      const probe = ctx.options.probe!;
      const p = ctx.path('f');
      const data = pattern(150_000, 5);
      await ctx.storage.write(p, data);
      const g = ctx.path('g');
      expectBytes((await probe.readRaw(ctx.storage, p))!, data, `raw bytes of ${p} after write`);
      await ctx.storage.write(p, text('short'));
      expect(str((await probe.readRaw(ctx.storage, p))!), `raw bytes of ${p} after a shorter write`).toBe(
        'short',
      );
      await ctx.storage.writeAt(p, 70_000, text('far'));
      expect((await probe.readRaw(ctx.storage, p))!.length, `raw length of ${p} after writeAt`).toBe(70_003);
      await ctx.storage.rename(p, g);
      expect(await probe.readRaw(ctx.storage, p), `raw bytes of ${p} after renaming it away`).toBeUndefined();
      expect((await probe.readRaw(ctx.storage, g))!.length, `raw length of ${g} after rename`).toBe(70_003);
      await ctx.storage.delete(g);
      expect(await probe.readRaw(ctx.storage, g), `raw bytes of ${g} after delete`).toBeUndefined();
    });
  });
}
