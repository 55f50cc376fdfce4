import { createSyncStorage, isVfsError, type VfsSyncStorage } from '@eryx/vfs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { ReferenceModel } from '../model.js';

/** One random operation; paths are relative to the run's base directory ('' is the base itself). */
export type ModelOp =
  | { op: 'write' | 'append'; path: string; data: number[] }
  | { op: 'writeAt'; path: string; offset: number; data: number[] }
  | { op: 'readAt'; path: string; offset: number; length: number }
  | { op: 'setSize'; path: string; size: number }
  | { op: 'read' | 'stat' | 'list' | 'exists' | 'mkdir' | 'create' | 'rmdir' | 'delete'; path: string }
  | { op: 'rename'; path: string; to: string }
  | { op: 'symlink'; path: string; target: string }
  | { op: 'readlink'; path: string }
  | { op: 'link'; path: string; to: string };

const NAMES = ['a', 'b', 'c'];
const relPath = fc
  .array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 })
  .map((segments) => `/${segments.join('/')}`);
const anyPath = fc.oneof({ weight: 9, arbitrary: relPath }, { weight: 1, arbitrary: fc.constant('') });
const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 24 });

/** The random operation generator (exported so other suites can reuse it). */
export const modelOp: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path: relPath, data: bytes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('append' as const), path: relPath, data: bytes }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('writeAt' as const),
      path: relPath,
      offset: fc.integer({ min: 0, max: 40 }),
      data: bytes,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('readAt' as const),
      path: anyPath,
      offset: fc.integer({ min: 0, max: 50 }),
      length: fc.integer({ min: 0, max: 50 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setSize' as const),
      path: relPath,
      size: fc.integer({ min: 0, max: 60 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: relPath }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('create' as const), path: anyPath }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), path: relPath, to: relPath }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom('read' as const, 'stat' as const, 'list' as const, 'exists' as const),
      path: anyPath,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('rmdir' as const, 'delete' as const), path: relPath }),
  },
);

/**
 * {@link modelOp} plus `symlink` and `readlink`, for a store that declares `symlinks`. Targets name
 * paths of the run and others, so links stand where later operations look (never followed).
 */
export const modelOpWithLinks: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 31, arbitrary: modelOp },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('symlink' as const),
      path: anyPath,
      target: fc.constantFrom('a', '../b', '/a/b', 'c/ü/😀', '.'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('readlink' as const), path: anyPath }) },
);

/** One more kind of operation, `link`, for a store that declares `hardLinks`. */
const linkOp: fc.Arbitrary<ModelOp> = fc.record({
  op: fc.constant('link' as const),
  path: anyPath,
  to: anyPath,
});

type Outcome = { ok: unknown } | { error: string };

/** Runs one operation on any storage (async or sync) and reduces the result to comparable data. */
async function apply(
  s: VfsSyncStorage | import('@eryx/vfs-core').VfsStorage,
  base: string,
  o: ModelOp,
  hardLinks = false,
): Promise<Outcome> {
  const p = base + o.path || '/';
  try {
    switch (o.op) {
      case 'write':
        return { ok: await s.write(p, Uint8Array.from(o.data)) };
      case 'append':
        return { ok: await s.append(p, Uint8Array.from(o.data)) };
      case 'writeAt':
        return { ok: await s.writeAt(p, o.offset, Uint8Array.from(o.data)) };
      case 'readAt':
        return { ok: Array.from(await s.readAt(p, o.offset, o.length)) };
      case 'setSize':
        return { ok: await s.setSize(p, o.size) };
      case 'read':
        return { ok: Array.from(await s.read(p)) };
      case 'stat': {
        const m = await s.stat(p);
        return {
          ok: hardLinks
            ? { kind: m.kind, size: m.size, linkCount: m.linkCount }
            : { kind: m.kind, size: m.size },
        };
      }
      case 'list':
        return {
          ok: (await s.list(p)).map((e) => `${e.name}:${e.kind}:${e.size}`).sort(),
        };
      case 'exists':
        return { ok: await s.exists(p) };
      case 'mkdir':
        return { ok: await s.mkdir(p) };
      case 'create':
        return { ok: await s.create(p) };
      case 'rmdir':
        return { ok: await s.rmdir(p) };
      case 'delete':
        return { ok: await s.delete(p) };
      case 'rename':
        return { ok: await s.rename(p, base + o.to || '/') };
      case 'symlink':
        return { ok: await s.symlink(p, o.target) };
      case 'readlink':
        return { ok: await s.readlink(p) };
      case 'link':
        return { ok: await s.link(p, base + o.to || '/') };
    }
  } catch (error) {
    if (isVfsError(error)) return { error: error.code };
    throw error;
  }
}

let runCounter = 0;

/**
 * Model-based property test: random operation sequences run against the backend (each run in a
 * fresh directory) and against the reference model; every result and every error code must match,
 * and at the end both trees must be identical. With `symlinks` declared, the sequences make and
 * read symbolic links too; with `hardLinks`, hard links (and `stat` compares `linkCount`); without,
 * the model stores none either.
 */
export function propertySuite(ctx: SuiteContext): void {
  const symlinks = ctx.declared.capabilities?.symlinks === true;
  const hardLinks = ctx.declared.capabilities?.hardLinks === true;
  const plain = symlinks ? modelOpWithLinks : modelOp;
  const anyOp = hardLinks
    ? fc.oneof({ weight: 9, arbitrary: plain }, { weight: 1, arbitrary: linkOp })
    : plain;
  const what = [symlinks && 'links', hardLinks && 'hard links'].filter(Boolean).join(' and ');
  describe('model-based property', () => {
    it(`random operation sequences behave exactly like the reference model${what ? `, ${what} included` : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(anyOp, { minLength: 1, maxLength: 30 }), async (ops) => {
          const base = `${ctx.dir}/run${runCounter++}`;
          await ctx.storage.mkdir(base);
          const model = createSyncStorage(new ReferenceModel({ symlinks, hardLinks }));
          for (const [i, o] of ops.entries()) {
            const expected = await apply(model, '', o, hardLinks);
            const actual = await apply(ctx.storage, base, o, hardLinks);
            expect(actual, `step ${i}: ${JSON.stringify(o)}`).toEqual(expected);
          }
          expect(
            await snapshotTree(ctx.storage, base),
            `tree below ${base} (path → 'dir', link target or hex content) after ${ops.length} steps, against the model`,
          ).toEqual(await snapshotTree(model, ''));
        }),
        { numRuns: ctx.options.propertyRuns ?? 100, endOnFailure: false },
      );
    });
  });
}

async function snapshotTree(
  s: VfsSyncStorage | import('@eryx/vfs-core').VfsStorage,
  base: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const e of await s.list(base + rel || '/')) {
      const child = `${rel}/${e.name}`;
      if (e.kind === 'directory') {
        out[child] = 'dir';
        await walk(child);
      } else if (e.kind === 'symlink') {
        out[child] = `link:${await s.readlink(base + child)}`;
      } else {
        out[child] = Buffer.from(await s.read(base + child)).toString('hex');
      }
    }
  };
  await walk('');
  return out;
}
