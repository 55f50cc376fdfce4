import {
  DEFAULT_MAX_NAME_LENGTH,
  DEFAULT_MAX_PATH_LENGTH,
  OPERATIONS,
  STORAGE_OPERATIONS,
  type StorageOperation,
  type VfsStorage,
} from '@eryx/vfs-core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectError, SAMPLE_ARGUMENTS, str, text, treeBelow } from '../util.js';

type Any = (...args: unknown[]) => Promise<unknown>;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The operations that may create an entry, with the index of the path they create. */
const CREATING = STORAGE_OPERATIONS.flatMap((op) => {
  const index = OPERATIONS[op].creates;
  return index === undefined ? [] : [[op, index] as const];
});

/** Creates `path` with `op` (for `rename`, from a file made first at `source`). */
async function createWith(s: VfsStorage, op: StorageOperation, path: string, source: string): Promise<void> {
  switch (op) {
    case 'write':
      return s.write(path, text('w'));
    case 'writeAt':
      return s.writeAt(path, 0, text('w'));
    case 'writeExtents':
      return s.writeExtents(path, [[0, text('w')]]);
    case 'append':
      return void (await s.append(path, text('w')));
    case 'create':
      return s.create(path);
    case 'mkdir':
      return s.mkdir(path);
    case 'rename':
      return s.rename(source, path);
    case 'symlink':
      return s.symlink(path, 'target');
    case 'link':
      return s.link(source, path);
    default:
      throw new Error(`no creating call for ${op}`);
  }
}

/**
 * Names and paths an operation creates are bounded: 255 UTF-8 bytes per name and 4,096 per path
 * unless the store declares other limits (`name-too-long`), in every creating operation.
 */
export function nameLimitsSuite(ctx: SuiteContext): void {
  describe('name and path limits', () => {
    const maxName = ctx.declared.limits?.maxNameLength ?? DEFAULT_MAX_NAME_LENGTH;
    // `symlink` creates only in a store that stores links (elsewhere it is `unsupported`).
    const creating = CREATING.filter(
      ([op]) =>
        (op !== 'symlink' || ctx.declared.capabilities?.symlinks) &&
        (op !== 'link' || ctx.declared.capabilities?.hardLinks),
    );
    const maxPath = ctx.declared.limits?.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
    // `/t-0123456789/rename/` plus the name must fit the path limit for the name tests.
    const names: [string, string, string][] = [
      ['ASCII', 'n'.repeat(maxName), 'n'.repeat(maxName + 1)],
      [
        '4-byte UTF-8',
        `${'\u{1F600}'.repeat(Math.floor(maxName / 4))}${'n'.repeat(maxName % 4)}`,
        '\u{1F600}'.repeat(Math.floor(maxName / 4) + 1),
      ],
    ];
    if (utf8('/t-0123456789/rename/') + maxName <= maxPath) {
      for (const [what, longest, tooLong] of names) {
        it(`a ${maxName}-byte ${what} name works in every creating operation; one byte more is name-too-long`, async () => {
          const s = ctx.storage;
          expect(utf8(longest)).toBe(maxName);
          expect(utf8(tooLong)).toBeGreaterThan(maxName);
          for (const [op] of creating) {
            await s.mkdir(ctx.path(op));
            await s.write(ctx.path(op, 'source'), text('s'));
            const before = await treeBelow(s, ctx.dir);
            await expectError(
              () => createWith(s, op, ctx.path(op, tooLong), ctx.path(op, 'source')),
              'name-too-long',
              `${op} of a ${utf8(tooLong)}-byte name`,
            );
            expect(await treeBelow(s, ctx.dir), `the store after a refused ${op}`).toEqual(before);
            await createWith(s, op, ctx.path(op, longest), ctx.path(op, 'source'));
            expect(await s.exists(ctx.path(op, longest)), `${op} created the ${maxName}-byte name`).toBe(
              true,
            );
            expect((await s.list(ctx.path(op))).map((e) => e.name)).toContain(longest);
          }
        });
      }
    }

    it('a path at the path limit can be created; a longer one is name-too-long in every creating operation', async () => {
      const s = ctx.storage;
      // Per store: a store's path limit may depend on where it lives (a host directory's root).
      const maxPath = (s.limits ?? s.sync?.limits)?.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH;
      const segment = Math.min(200, maxName - 2);
      let dir = ctx.dir;
      while (utf8(dir) + 1 + segment + 2 <= maxPath) {
        dir = `${dir}/${'d'.repeat(segment)}`;
        await s.mkdir(dir);
      }
      const rest = maxPath - utf8(dir) - 1;
      await s.write(`${dir}/s`, text('s'));
      await s.write(`${dir}/${'f'.repeat(rest)}`, text('edge'));
      expect(str(await s.read(`${dir}/${'f'.repeat(rest)}`))).toBe('edge');
      const before = await treeBelow(s, ctx.dir);
      for (const [op] of creating) {
        await expectError(
          () => createWith(s, op, `${dir}/${'g'.repeat(rest + 1)}`, `${dir}/s`),
          'name-too-long',
          `${op} of a ${maxPath + 1}-byte path`,
        );
      }
      expect(await treeBelow(s, ctx.dir), 'the store after the refused calls').toEqual(before);
    });

    it('a path of 50,000 segments is an ordinary miss or name-too-long, never io', async () => {
      const s = ctx.storage;
      const deep = `${ctx.dir}/${'d/'.repeat(50_000)}f`;
      for (const [op, call, lookup] of [
        ['stat', () => s.stat(deep), true],
        ['read', () => s.read(deep), true],
        ['list', () => s.list(deep), true],
        ['delete', () => s.delete(deep), true],
        ['write', () => s.write(deep, text('x')), false],
        ['mkdir', () => s.mkdir(deep), false],
      ] as const) {
        let caught: unknown;
        try {
          await call();
        } catch (error) {
          caught = error;
        }
        const allowed = lookup ? ['not-found', 'name-too-long'] : ['name-too-long'];
        expect(allowed, `${op}: ${String(caught)}`).toContain((caught as { code?: string })?.code);
      }
      expect(await s.list(ctx.dir)).toEqual([]);
    });
  });
}

/** A lone high or low surrogate, at the start, middle or end of a name. */
const ILL_FORMED: [string, string][] = [
  ['a lone high surrogate', 'x\uD800'],
  ['a lone low surrogate', '\uDC00x'],
  ['a reversed pair', 'x\uDE00\uD83Dy'],
];

/** Ill-formed UTF-16 (lone surrogates) is `invalid-path` in every path argument of every operation. */
export function illFormedSuite(ctx: SuiteContext): void {
  describe('ill-formed strings', () => {
    for (const [what, name] of ILL_FORMED) {
      it(`a path with ${what} is invalid-path in every operation`, async () => {
        const s = ctx.storage as unknown as Record<string, Any>;
        const good = ctx.path('keep');
        await ctx.storage.write(good, text('intact'));
        const bad = ctx.path(name);
        for (const op of STORAGE_OPERATIONS) {
          const kinds = OPERATIONS[op].args;
          for (let i = 0; i < kinds.length; i++) {
            if (kinds[i] !== 'path') continue;
            const args = kinds.map((k, j) => (j === i ? bad : k === 'path' ? good : SAMPLE_ARGUMENTS[k]));
            await expectError(() => s[op]!(...args), 'invalid-path', `${op} with ${what} in argument ${i}`);
          }
        }
        expect(str(await ctx.storage.read(good))).toBe('intact');
        expect((await ctx.storage.list(ctx.dir)).map((e) => e.name)).toEqual(['keep']);
      });
    }

    it('two names differing only in a lone surrogate never collide: both are refused', async () => {
      const a = ctx.path('n\uD800');
      const b = ctx.path('n\uD801');
      await expectError(() => ctx.storage.write(a, text('first')), 'invalid-path');
      await expectError(() => ctx.storage.write(b, text('second')), 'invalid-path');
      await expectError(() => ctx.storage.mkdir(a), 'invalid-path');
      expect(await ctx.storage.list(ctx.dir)).toEqual([]);
    });

    it('a well-formed surrogate pair is an ordinary name', async () => {
      const p = ctx.path('n\u{1F600}');
      await ctx.storage.write(p, text('smile'));
      expect(str(await ctx.storage.read(p))).toBe('smile');
      expect((await ctx.storage.list(ctx.dir)).map((e) => e.name)).toEqual(['n\u{1F600}']);
    });
  });
}
